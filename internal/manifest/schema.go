package manifest

import (
	"bytes"
	"encoding/json"
	"reflect"
)

//go:generate go run ./schemagen ../../schema/system.schema.json

// SchemaID is where the published schema lives in the repository.
const SchemaID = "https://raw.githubusercontent.com/cairnlinux/cairn/main/schema/system.schema.json"

// Schema returns the JSON Schema (draft 2020-12) of a System manifest,
// generated from the Go types: descriptions from the doc tags, required
// keys are those without omitempty, and no other keys are allowed. The
// output is deterministic and indented; schema/system.schema.json in the
// repository is this output.
func Schema() []byte {
	g := &schemaGen{defs: map[string]any{}}
	root := g.object(reflect.TypeOf(System{}))
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = SchemaID
	root["title"] = "cairn System manifest"
	root["description"] = "A whole Alpine Linux system, declared: apiVersion " + APIVersion + ", kind " + KindSystem + "."
	root["$defs"] = g.defs
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		panic("manifest: schema: " + err.Error())
	}
	return buf.Bytes()
}

// schemaGen turns Go types into schemas; each struct but the root becomes
// an entry of $defs.
type schemaGen struct {
	defs map[string]any
}

// schemaExtras are constraints the types cannot express, keyed by
// Type.Field. They mirror the checks of Validate.
var schemaExtras = map[string]map[string]any{
	"System.APIVersion":  {"const": APIVersion},
	"System.Kind":        {"const": KindSystem},
	"System.Hostname":    {"maxLength": 253},
	"Alpine.Version":     {"pattern": alpineVersion.String(), "examples": []string{"v3.19", "edge"}},
	"Alpine.Arch":        {"enum": arches},
	"Artifact.SHA256":    {"pattern": sha256Hex.String()},
	"Artifact.Mode":      {"type": []string{"string", "integer"}, "pattern": octalMode.String()},
	"InlineFile.Mode":    {"type": []string{"string", "integer"}, "pattern": octalMode.String()},
	"Artifact.Version":   {"type": []string{"string", "number"}},
	"Service.Supervisor": {"enum": supervisors},
	"Respawn.Delay":      {"minimum": 0},
	"Respawn.Max":        {"minimum": 0},
	"Respawn.Period":     {"minimum": 0},
	"User.UID":           {"minimum": 0, "maximum": maxID},
	"Group.GID":          {"minimum": 0, "maximum": maxID},
	"Mount.Dump":         {"minimum": 0, "maximum": 1},
	"Mount.Pass":         {"minimum": 0, "maximum": 2},

	"UserProfile.APIVersion":             {"enum": profileAPIVersions},
	"UserProfile.Kind":                   {"const": KindUserProfile},
	"ProfileMetadata.Version":            {"type": []string{"string", "number"}},
	"ProfileUser.UID":                    {"minimum": 1, "maximum": maxID},
	"ProfileFilesystem.Quota":            {"type": []string{"string", "integer"}, "pattern": sizeText.String()},
	"ProfileFilesystem.SnapshotInterval": {"examples": []string{"6h", "30m", "1d"}},
	"ProfileResources.CPUQuota":          {"type": []string{"string", "number"}, "examples": []string{"2.0", "0.5"}},
	"ProfileResources.MemoryLimit":       {"type": []string{"string", "integer"}, "pattern": sizeText.String()},
	"ProfileResources.PidsLimit":         {"minimum": 0},
	"ProfileNetwork.FirewallProfile":     {"enum": FirewallProfiles},
	"Container.Image":                    {"pattern": imageRef.String()},
	"ContainerHealth.Retries":            {"minimum": 0},
}

// runlevelSnippets let editors (the YAML language server) complete
// OpenRC's runlevels, which are entries of an inline map the schema cannot
// list as properties: one snippet per runlevel.
func runlevelSnippets() []any {
	var out []any
	for _, level := range OpenRCRunlevels {
		out = append(out, map[string]any{
			"label":       level,
			"description": "services started in OpenRC's " + level + " runlevel",
			"body":        map[string]any{level: []string{"$1"}},
		})
	}
	return out
}

// mayComeFromInclude are required keys that a manifest may leave to the
// manifests it includes: the schema, which sees one file, cannot require
// them; cairn validate checks them after merging.
var mayComeFromInclude = map[string]bool{"System.Alpine": true}

// object is the schema of a struct: its keys, which are required, and no
// others (or, with an inline map, any other key as an entry of it).
func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	required := []string{}
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	for _, f := range structFields(t) {
		sf := t.Field(f.index)
		fs := g.typeSchema(sf.Type)
		if f.doc != "" {
			fs["description"] = f.doc
		}
		for k, v := range schemaExtras[t.Name()+"."+sf.Name] {
			fs[k] = v
		}
		if f.inline {
			// Any key that is not a field is an entry of the inline map.
			entry := g.typeSchema(sf.Type.Elem())
			entry["title"] = inlineNoun(t, f)
			if f.doc != "" {
				entry["description"] = f.doc
			}
			s["additionalProperties"] = entry
			if t == reflect.TypeOf(Services{}) {
				s["defaultSnippets"] = runlevelSnippets()
			}
			continue
		}
		props[f.name] = fs
		if !f.omitEmpty && !mayComeFromInclude[t.Name()+"."+sf.Name] {
			required = append(required, f.name)
		}
	}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// typeSchema is the schema of a value of type t.
func (g *schemaGen) typeSchema(t reflect.Type) map[string]any {
	switch t.Kind() {
	case reflect.Pointer:
		return g.typeSchema(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Int, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.typeSchema(t.Elem())}
	case reflect.Map:
		values := g.typeSchema(t.Elem())
		if t.Elem().Kind() == reflect.String {
			// Map values are read as they are written: 1, true and 512M
			// are all strings to cairn.
			values = map[string]any{"type": []string{"string", "number", "boolean"}}
		}
		return map[string]any{"type": "object", "additionalProperties": values}
	case reflect.Struct:
		if _, ok := g.defs[t.Name()]; !ok {
			g.defs[t.Name()] = nil // reserve against recursion
			g.defs[t.Name()] = g.object(t)
		}
		return map[string]any{"$ref": "#/$defs/" + t.Name()}
	}
	panic("manifest: no schema for " + t.String())
}
