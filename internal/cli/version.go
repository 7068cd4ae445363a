package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"unicode"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X ...cli.Version=...".
var Version = "dev"

type versionInfo struct {
	Version   string `json:"version"`
	GoVersion string `json:"goVersion"`
	Revision  string `json:"revision,omitempty"`
	Platform  string `json:"platform"`
}

func newVersionCommand(g *Globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print cairn's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := versionInfo{Version: Version, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						info.Revision = s.Value
					}
				}
			}
			if asJSON {
				return writeJSON(g.Stdout, info)
			}
			fmt.Fprintf(g.Stdout, "cairn %s (%s, %s)\n", info.Version, info.GoVersion, info.Platform)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

// writeJSON prints v as every --json output is printed: indented by two
// spaces, "<" and ">" as they are (version operators), keys camelCase
// (the json tags of cairn's own types say so).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeJSONFields is writeJSON for values of types without json tags
// (image results, installation plans): their Go field names become
// camelCase keys (TarSize: tarSize, ESPStart: espStart), so every --json
// output has one style. Such types must hold no maps keyed by data.
func writeJSONFields(w io.Writer, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return err
	}
	return writeJSON(w, camelKeys(tree))
}

func camelKeys(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[lowerCamel(k)] = camelKeys(x)
		}
		return out
	case []any:
		for i, x := range t {
			t[i] = camelKeys(x)
		}
	}
	return v
}

// lowerCamel turns a Go field name into a camelCase key: the leading
// capitals go lower case, but for the last of several when a lower case
// letter follows (URL: url, TarSize: tarSize, ESPSize: espSize).
func lowerCamel(name string) string {
	r := []rune(name)
	n := 0
	for n < len(r) && unicode.IsUpper(r[n]) {
		n++
	}
	if n > 1 && n < len(r) && unicode.IsLower(r[n]) {
		n--
	}
	for i := range n {
		r[i] = unicode.ToLower(r[i])
	}
	return string(r)
}
