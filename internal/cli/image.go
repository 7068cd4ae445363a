package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/diskinstall"
	"github.com/cairnlinux/cairn/internal/image"
	"github.com/cairnlinux/cairn/internal/node"
	"github.com/cairnlinux/cairn/internal/store"
)

// SourceOptions say which system an image or an installation is made of:
// a manifest (built as needed) or a generation of a store.
type SourceOptions struct {
	File       string
	Generation int
	Store      StoreOptions
	CacheDir   string
}

// ImageOptions are the options of `cairn image`.
type ImageOptions struct {
	Source      SourceOptions
	Format      string
	Output      string
	Force       bool
	Compression string
	Size        string
	Tag         string
	// Firmware is the disk format's firmware: bios, uefi or both (the
	// default when empty).
	Firmware string
	// Persist and Kernel are the initramfs format's persistence device
	// (LABEL=… or UUID=…) and kernel image.
	Persist string
	Kernel  string
	// Explain says where the bytes of an initramfs image go, writing
	// nothing; Top is how many packages and files it lists.
	Explain bool
	Top     int
	JSON    bool
}

// imageFormats are the formats cairn image writes.
var imageFormats = []string{"initramfs", "disk", "tar", "oci"}

func addSourceFlags(cmd *cobra.Command, o *SourceOptions) {
	f := cmd.Flags()
	f.StringVarP(&o.File, "file", "f", "system.yaml", "the manifest (built as needed)")
	f.IntVar(&o.Generation, "generation", 0, "use generation `N` of the store instead of building the manifest")
	f.StringVar(&o.Store.Path, "store", "", "with --generation: the store (default $CAIRN_STORE, else "+DefaultStore+")")
	f.StringVar(&o.CacheDir, "cache-dir", "", "keep downloads in `DIR`")
}

func newImageCommand(g *Globals) *cobra.Command {
	o := &ImageOptions{}
	cmd := &cobra.Command{
		Use:   "image -f system.yaml --format FORMAT -o OUT",
		Short: "Write a system as an image: initramfs, disk, tar or oci",
		Long: `Write the system a manifest describes (built as needed, from cairn.lock when
it matches) or generation N of a store (--generation N) as an image:

  initramfs  a RAM system: a directory with the kernel (vmlinuz), the whole
         system in one compressed cpio (initramfs.gz or .zst), the kernel
         command line and extlinux/GRUB snippets. Nothing is installed; the
         system's persistent directories live on the device --persist names
         (LABEL=… or UUID=…, ext4 or btrfs), the rest is fresh at each boot.
         --explain shows where the bytes go instead of writing the image
  tar    the root file system as a reproducible tarball (numeric owners,
         fixed times, xattrs kept)
  oci    an OCI image layout directory (or an oci-archive when OUT ends in
         .tar) with one layer, for podman, skopeo and registries
  disk   a raw GPT disk image: an EFI system partition with systemd-boot
         (UEFI) and syslinux (BIOS), and a btrfs partition holding a cairn
         store with the system as generation 1; ready to dd to a disk.
         --firmware bios leaves systemd-boot out (the build host needs
         none), --firmware uefi syslinux

The same manifest and lock give the same image (docs/images.md says exactly
what is byte-identical for disk). OUT must not exist unless --force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runImage(cmd.Context(), o, g) },
	}
	addSourceFlags(cmd, &o.Source)
	f := cmd.Flags()
	f.StringVar(&o.Format, "format", "", strings.Join(imageFormats, ", "))
	f.StringVarP(&o.Output, "output", "o", "", "where the image goes")
	f.BoolVar(&o.Force, "force", false, "replace OUT if it exists")
	f.StringVar(&o.Compression, "compression", "gzip", "initramfs, tar and oci: gzip, zstd or none")
	f.StringVar(&o.Persist, "persist", "", "initramfs: the device of the persistent directories (LABEL=data or UUID=…)")
	f.StringVar(&o.Kernel, "kernel", "", "initramfs: the kernel image (default: the system's own)")
	f.BoolVar(&o.Explain, "explain", false, "initramfs: show the largest packages and files of the image; write nothing")
	f.IntVar(&o.Top, "top", 10, "with --explain: how many packages and files to list")
	f.StringVar(&o.Size, "size", "", "disk: the image's size (1G, 800M); as small as the system allows when empty")
	addFirmwareFlag(cmd, &o.Firmware)
	f.StringVar(&o.Tag, "tag", "latest", "oci: the image's tag")
	f.BoolVar(&o.JSON, "json", false, "print the result as JSON")
	return cmd
}

func runImage(ctx context.Context, o *ImageOptions, g *Globals) error {
	if o.Explain {
		if o.Format != "initramfs" {
			return usagef("--explain is for --format initramfs: in RAM every byte counts")
		}
		return explainImage(ctx, o, g)
	}
	if o.Output == "" {
		return usagef("give the output: -o OUT")
	}
	comp, err := image.ParseCompression(o.Compression)
	if err != nil {
		return asUsage(err)
	}
	size, err := parseSize(o.Size)
	if err != nil {
		return usagef("--size %q: %v (write it like 800M or 2G)", o.Size, err)
	}
	var format image.Format
	if (o.Persist != "" || o.Kernel != "") && o.Format != "initramfs" {
		return usagef("--persist and --kernel are for --format initramfs")
	}
	if o.Firmware != "" && o.Format != "disk" {
		return usagef("--firmware is for --format disk")
	}
	firmware, err := parseFirmware(o.Firmware)
	if err != nil {
		return err
	}
	switch o.Format {
	case "initramfs":
		format = image.Initramfs{Compression: comp, Persist: o.Persist, Kernel: o.Kernel}
	case "tar":
		format = image.Tar{Compression: comp}
	case "oci":
		format = image.OCI{Compression: comp, Tag: o.Tag}
	case "disk":
		format = image.Disk{Size: size, Firmware: firmware, Log: logWriter(g, o.JSON)}
	case "":
		return usagef("give the image format: --format %s", strings.Join(imageFormats, ", "))
	default:
		return usagef("unknown image format %q: use %s", o.Format, strings.Join(imageFormats, ", "))
	}
	if _, err := os.Lstat(o.Output); err == nil {
		if !o.Force {
			return fmt.Errorf("%s exists: give another -o, or --force to replace it", o.Output)
		}
		if err := os.RemoveAll(o.Output); err != nil {
			return fmt.Errorf("--force: %w", err)
		}
	}
	src, meta, cleanup, err := systemSource(ctx, &o.Source, g, o.JSON)
	if err != nil {
		return err
	}
	defer cleanup()
	if d, ok := format.(image.Disk); ok {
		d.Meta = meta
		format = d
	}
	start := time.Now()
	res, err := format.Write(ctx, src, o.Output)
	var small *image.TooSmallError
	if errors.As(err, &small) {
		return usagef("%w: give --size %dM or more", err, (small.Need+(1<<20)-1)>>20)
	}
	if err != nil {
		return err
	}
	if o.JSON {
		return writeJSONFields(g.Stdout, res)
	}
	fmt.Fprintf(g.Stdout, "wrote %s image %s: %.1f MB, %d entries, in %.1f s\n", o.Format, strings.Join(res.Outputs, ", "),
		float64(res.Size)/1e6, res.Entries, time.Since(start).Seconds())
	if res.Digest != "" {
		fmt.Fprintf(g.Stdout, "digest %s\n", res.Digest)
	}
	return nil
}

// explainImage prints where the bytes of an initramfs image go.
func explainImage(ctx context.Context, o *ImageOptions, g *Globals) error {
	src, _, cleanup, err := systemSource(ctx, &o.Source, g, o.JSON)
	if err != nil {
		return err
	}
	defer cleanup()
	ex, err := image.Initramfs{Persist: o.Persist, Kernel: o.Kernel}.Explain(ctx, src, o.Top)
	if err != nil {
		return fmt.Errorf("explain: %w", err)
	}
	if o.JSON {
		return writeJSONFields(g.Stdout, ex)
	}
	return ex.WriteText(g.Stdout, o.Top)
}

// firmwareChoices are what --firmware takes.
var firmwareChoices = []string{"both", image.BIOS, image.UEFI}

func addFirmwareFlag(cmd *cobra.Command, firmware *string) {
	cmd.Flags().StringVar(firmware, "firmware", "", "disk: what it boots through: bios (syslinux), uefi (systemd-boot) or both (the default on x86; uefi on other machines)")
}

// parseFirmware turns --firmware into image.Disk's Firmware: nil for
// both (the default, which is UEFI alone on machines without a BIOS).
func parseFirmware(s string) ([]string, error) {
	switch s {
	case "", "both":
		return nil, nil
	case image.BIOS, image.UEFI:
		return []string{s}, nil
	}
	return nil, usagef("--firmware %q: use %s", s, strings.Join(firmwareChoices, ", "))
}

// logWriter is where building and imaging report their steps: standard
// error, so that --json output stays clean.
func logWriter(g *Globals, quiet bool) io.Writer {
	if quiet {
		return io.Discard
	}
	return g.Stderr
}

// systemSource finds or builds the system to image: generation N of a
// store, or the manifest built into a temporary directory (removed by
// cleanup).
func systemSource(ctx context.Context, o *SourceOptions, g *Globals, quiet bool) (image.Source, *store.Meta, func(), error) {
	none := func() {}
	req := node.SourceRequest{File: o.File, Generation: o.Generation}
	if o.Generation != 0 {
		no, err := o.Store.node(g)
		if err != nil {
			return image.Source{}, nil, none, err
		}
		req.Store = no
	} else {
		cache := o.CacheDir
		if cache == "" {
			cache = defaultCacheDir(g)
		}
		req.Build = buildOptions(g, cache, logWriter(g, quiet))
	}
	return node.Source(ctx, req)
}

// parseSize reads 800M, 2G, 1.5G or a number of bytes.
func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	mult := int64(1)
	switch strings.ToUpper(s[len(s)-1:]) {
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	case "T":
		mult = 1 << 40
	}
	num := s
	if mult > 1 {
		num = s[:len(s)-1]
	}
	var f float64
	if _, err := fmt.Sscanf(num, "%g", &f); err != nil || f <= 0 {
		return 0, errors.New("not a size")
	}
	return int64(f * float64(mult)), nil
}

// InstallOptions are the options of `cairn install`.
type InstallOptions struct {
	Source   SourceOptions
	Device   string
	Wipe     bool
	DryRun   bool
	Firmware string
	JSON     bool
}

func newInstallCommand(g *Globals) *cobra.Command {
	o := &InstallOptions{}
	cmd := &cobra.Command{
		Use:   "install --device /dev/X -f system.yaml [--wipe] [--dry-run]",
		Short: "Install the system onto a disk: partitions, file systems, the store with generation 1, the loaders",
		Long: `Write the disk layout of cairn image --format disk onto a block device: a GPT,
an EFI system partition with systemd-boot and syslinux (or one of them:
--firmware uefi or bios), a btrfs partition with a cairn store holding the
system as generation 1 (the default) and its persistent directories. A device that is mounted or in use is refused; one
that holds a partition table or a file system is refused unless --wipe.
--dry-run shows what would be done and changes nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Device == "" {
				return usagef("give the disk: --device /dev/X")
			}
			firmware, err := parseFirmware(o.Firmware)
			if err != nil {
				return err
			}
			src, meta, cleanup, err := systemSource(cmd.Context(), &o.Source, g, o.JSON)
			if err != nil {
				return err
			}
			defer cleanup()
			plan, err := diskinstall.Install(cmd.Context(), diskinstall.Options{
				Device: o.Device, Disk: image.Disk{Meta: meta, Firmware: firmware, Log: g.Stderr}, Source: src,
				Wipe: o.Wipe, DryRun: o.DryRun, Log: g.Stderr,
			})
			switch {
			case plan == nil:
			case o.JSON && err == nil:
				return writeJSONFields(g.Stdout, plan)
			case !o.JSON:
				fmt.Fprint(g.Stdout, plan.String())
			}
			return err
		},
	}
	addSourceFlags(cmd, &o.Source)
	f := cmd.Flags()
	f.StringVar(&o.Device, "device", "", "the whole disk to install onto")
	f.BoolVar(&o.Wipe, "wipe", false, "overwrite a device that holds a partition table or file system")
	f.BoolVar(&o.DryRun, "dry-run", false, "show what would be done; write nothing")
	addFirmwareFlag(cmd, &o.Firmware)
	f.BoolVar(&o.JSON, "json", false, "print the plan as JSON")
	return cmd
}
