// Command imagebench is the driver of bench/image.sh: it makes the
// benchmark tree and writes images of it, one process per image so that
// /usr/bin/time measures one image alone. It is not part of cairn.
//
//	imagebench tree -dir DIR -mb 150 -apks 'GLOB'
//	imagebench tar -root DIR -o OUT [-compression gzip|zstd|none] [-epoch N]
//	imagebench oci -root DIR -o OUT [-epoch N]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cairnlinux/cairn/internal/image"
	"github.com/cairnlinux/cairn/internal/image/imagetest"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: imagebench tree|tar|oci [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "tree":
		err = tree(os.Args[2:])
	case "tar", "oci":
		err = write(os.Args[1], os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: want tree, tar or oci", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "imagebench:", err)
		os.Exit(1)
	}
}

func tree(args []string) error {
	fs := flag.NewFlagSet("tree", flag.ExitOnError)
	dir := fs.String("dir", "", "directory to create")
	mb := fs.Int64("mb", 150, "megabytes of generated files")
	apks := fs.String("apks", "", "glob of Alpine packages to extract first")
	fs.Parse(args)
	if *dir == "" {
		return fmt.Errorf("tree: -dir is required")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	matches, err := filepath.Glob(*apks)
	if err != nil {
		return err
	}
	for _, apk := range matches {
		if err := imagetest.ExtractAPK(apk, *dir); err != nil {
			return err
		}
	}
	st, err := imagetest.Generate(*dir, *mb<<20, time.Unix(1700000000, 0))
	if err != nil {
		return err
	}
	fmt.Printf("%d packages extracted, %d files (%d bytes) generated\n", len(matches), st.Files, st.Bytes)
	return nil
}

func write(format string, args []string) error {
	fs := flag.NewFlagSet(format, flag.ExitOnError)
	root := fs.String("root", "", "tree")
	out := fs.String("o", "", "output")
	comp := fs.String("compression", "gzip", "gzip, zstd or none")
	epoch := fs.Int64("epoch", 1700000000, "SOURCE_DATE_EPOCH")
	fs.Parse(args)
	c, err := image.ParseCompression(*comp)
	if err != nil {
		return err
	}
	var f image.Format = image.Tar{Compression: c}
	if format == "oci" {
		f = image.OCI{Compression: c}
	}
	res, err := f.Write(context.Background(), image.Source{Root: *root, Epoch: time.Unix(*epoch, 0), Arch: "x86_64"}, *out)
	if err != nil {
		return err
	}
	fmt.Printf("%d entries, tar %d bytes, output %d bytes\n", res.Entries, res.TarSize, res.Size)
	return nil
}
