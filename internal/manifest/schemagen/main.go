// Command schemagen writes the JSON Schema of cairn's System manifest to
// the file named by its argument; `go generate ./internal/manifest` runs
// it to refresh schema/system.schema.json.
package main

import (
	"fmt"
	"os"

	"github.com/cairnlinux/cairn/internal/manifest"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: schemagen FILE")
		os.Exit(2)
	}
	if err := os.WriteFile(os.Args[1], manifest.Schema(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}
