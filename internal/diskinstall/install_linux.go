package diskinstall

import (
	"context"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/disk"
	"github.com/cairnlinux/cairn/internal/image"
)

// Install installs o.Source onto o.Device, or with DryRun only plans it.
// It returns the plan whenever one could be made, also with the error
// that stops the installation (an *InUseError, a *HasDataError, an
// *image.TooSmallError): a dry run gives the error the installation would
// give.
func Install(ctx context.Context, o Options) (*Plan, error) {
	if o.Device == "" {
		return nil, errors.New("no device to install onto")
	}
	var st unix.Stat_t
	if err := unix.Stat(o.Device, &st); err != nil {
		return nil, fmt.Errorf("device %s: %w", o.Device, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return nil, fmt.Errorf("%s is not a block device (for an image file, make a disk image instead)", o.Device)
	}
	f, err := os.Open(o.Device)
	if err != nil {
		return nil, fmt.Errorf("device %s: %w", o.Device, err)
	}
	size, err := disk.Size(f)
	var ss int
	if err == nil {
		ss, err = disk.SectorSize(f)
	}
	var found []disk.Signature
	if err == nil {
		found, err = disk.Signatures(f, size)
	}
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("device %s: %w", o.Device, err)
	}

	d := o.Disk
	if d.Log == nil {
		d.Log = o.Log
	}
	if d.Seed == "" {
		if d.Seed, err = randomSeed(); err != nil {
			return nil, err
		}
	}
	dp, err := d.Plan(o.Source, image.Target{Path: o.Device, Size: size, SectorSize: ss})
	if err != nil {
		return nil, err
	}
	plan := &Plan{Device: o.Device, Disk: dp, Found: found, Wipe: o.Wipe && len(found) > 0, DryRun: o.DryRun}
	why, err := disk.InUse(o.Device)
	if err != nil {
		return plan, fmt.Errorf("device %s: %w", o.Device, err)
	}
	if len(why) > 0 {
		return plan, &InUseError{Device: o.Device, Reasons: why}
	}
	if len(found) > 0 && !o.Wipe {
		return plan, &HasDataError{Device: o.Device, Found: found}
	}
	if o.DryRun {
		return plan, nil
	}

	// Claim the device: while this descriptor is open, nothing can mount
	// it or open it exclusively.
	claim, err := os.OpenFile(o.Device, os.O_RDWR|unix.O_EXCL|unix.O_CLOEXEC, 0)
	if err != nil {
		return plan, fmt.Errorf("open %s exclusively: %w (is it in use?); nothing was written", o.Device, err)
	}
	defer claim.Close()
	if plan.Wipe {
		if err := wipe(claim, size, found); err != nil {
			return plan, err
		}
	}
	if err := d.WriteOnto(ctx, dp, o.Source, o.Device); err != nil {
		return plan, fmt.Errorf("install onto %s: %w; the device holds an incomplete system: install again", o.Device, err)
	}
	if err := disk.RereadPartitions(claim); err != nil {
		plan.Notes = append(plan.Notes, fmt.Sprintf("the kernel has not read the new partition table (%v): it will at the next boot", err))
	}
	return plan, nil
}

// wipe clears what Signatures found, as wipefs does: the first and the
// last MiB of the device (partition tables, their backups) and the first
// 68 KiB of each file system (its superblock; btrfs's at 64 KiB), with
// btrfs's superblock copies at 64 MiB and 256 GiB.
func wipe(f *os.File, size int64, found []disk.Signature) error {
	zero := make([]byte, 1<<20)
	zeroAt := func(off, n int64) error {
		if off < 0 || off >= size {
			return nil
		}
		n = min(n, size-off)
		if _, err := f.WriteAt(zero[:n], off); err != nil {
			return fmt.Errorf("wipe %s at %d: %w", f.Name(), off, err)
		}
		return nil
	}
	if err := zeroAt(0, 1<<20); err != nil {
		return err
	}
	if err := zeroAt(size-1<<20, 1<<20); err != nil {
		return err
	}
	for _, s := range found {
		if err := zeroAt(s.Offset, 68<<10); err != nil {
			return err
		}
		if s.Kind == "btrfs" {
			for _, mirror := range []int64{64 << 20, 256 << 30} {
				if err := zeroAt(s.Offset+mirror, 4096); err != nil {
					return err
				}
			}
		}
	}
	return f.Sync()
}
