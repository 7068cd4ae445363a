package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// readDocument parses data as exactly one YAML document whose top level is
// a mapping and returns that mapping. Syntax problems come back as Errors
// with the best position the parser gives.
func readDocument(file string, data []byte) (*yaml.Node, Errors) {
	if e := checkText(file, data); e != nil {
		return nil, Errors{e}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := safeDecode(dec, &doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Errors{{File: file, Line: 1, Column: 1,
				Msg: "the manifest is empty: start it with apiVersion: " + APIVersion + " and kind: " + KindSystem}}
		}
		return nil, Errors{syntaxError(file, data, err)}
	}
	var extra yaml.Node
	switch err := safeDecode(dec, &extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, Errors{syntaxError(file, data, err)}
	default:
		return nil, Errors{{File: file, Line: extra.Line, Column: extra.Column,
			Msg: "a second YAML document (after ---): a manifest is one document; put other systems in files of their own and share a base with include:"}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, Errors{{File: file, Line: 1, Column: 1, Msg: "the manifest is empty"}}
		}
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, Errors{{File: file, Line: max(root.Line, 1), Column: root.Column,
			Msg: "the manifest is empty: start it with apiVersion: " + APIVersion + " and kind: " + KindSystem}}
	}
	if root.Kind != yaml.MappingNode {
		return nil, Errors{{File: file, Line: root.Line, Column: root.Column,
			Msg: "a manifest is a mapping of keys (apiVersion: " + APIVersion + ", kind: " + KindSystem + ", ...), not " + describe(root)}}
	}
	return root, nil
}

// safeDecode turns a panic of the YAML parser into an error, so that no
// input can crash cairn.
func safeDecode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: the YAML parser failed: %v", r)
		}
	}()
	return dec.Decode(n)
}

// checkText finds what YAML refuses in a stream (invalid UTF-8, control
// characters) before the parser does, because the parser does not say
// where.
func checkText(file string, data []byte) *Error {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return &Error{File: file, Line: line, Column: col, Msg: "not valid UTF-8: save the manifest as UTF-8 text"}
		case !yamlPrintable(r) && !(r == '\uFEFF' && i == 0):
			return &Error{File: file, Line: line, Column: col,
				Msg: fmt.Sprintf("control character %U is not allowed in YAML: write it as an escape in a double-quoted string", r)}
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return nil
}

// yamlPrintable is YAML 1.2's c-printable.
func yamlPrintable(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r >= 0x20 && r <= 0x7E:
		return true
	case r == 0x85 || (r >= 0xA0 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD):
		return r != 0xFEFF
	case r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

// describe names what a node is, for messages: "a list", "the string \"x\"".
func describe(n *yaml.Node) string {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing (null)"
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return n.Value
		case "!!str":
			return "the string " + strconv.Quote(n.Value)
		}
		return "the value " + strconv.Quote(n.Value) + " (tag " + n.ShortTag() + ")"
	}
	return "an unknown YAML node"
}
