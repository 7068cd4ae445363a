//go:build linux

package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/boot"
	"github.com/cairnlinux/cairn/internal/btrfs"
	"github.com/cairnlinux/cairn/internal/disk"
	"github.com/cairnlinux/cairn/internal/disk/btrfsnorm"
	"github.com/cairnlinux/cairn/internal/disk/fat"
	"github.com/cairnlinux/cairn/internal/initramfs/cairninit"
	"github.com/cairnlinux/cairn/internal/nosync"
	"github.com/cairnlinux/cairn/internal/store"
)

// writeImage writes the planned disk to a temporary file beside out and
// renames it into place.
func (d Disk) writeImage(ctx context.Context, plan *DiskPlan, src Source, out string) (Result, error) {
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return Result{}, fmt.Errorf("output %s: %w", out, err)
	}
	name := tmp.Name()
	done := false
	defer func() {
		if !done {
			os.Remove(name)
		}
	}()
	err = tmp.Truncate(plan.Size)
	if err == nil {
		err = tmp.Chmod(outputFileMode)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Result{}, fmt.Errorf("output %s: %w", out, err)
	}
	if err := d.WriteOnto(ctx, plan, src, name); err != nil {
		return Result{}, fmt.Errorf("disk image %s: %w", out, err)
	}
	if err := publish(name, out); err != nil {
		return Result{}, err
	}
	done = true
	if err := syncDir(filepath.Dir(out)); err != nil {
		return Result{}, err
	}
	d.logf("disk image %s: %s", out, sizeText(plan.Size))
	return Result{Outputs: []string{out}, Size: plan.Size, Entries: plan.TreeEntries}, nil
}

// WriteOnto writes the planned disk onto path, an image file of at least
// plan.Size bytes or a whole block device, overwriting what is there
// (the caller has checked that nothing on it is wanted: package install
// does). It writes the partition table, makes the btrfs file system
// through a loop device over its partition (so the kernel need not know
// the new partitions), builds the store in it, writes the EFI system
// partition from what boot.Sync produced, and installs syslinux.
func (d Disk) WriteOnto(ctx context.Context, plan *DiskPlan, src Source, path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	size, err := disk.Size(f)
	if err != nil {
		return err
	}
	if size < plan.Size {
		return fmt.Errorf("%s has %d bytes, the plan needs %d", path, size, plan.Size)
	}
	if plan.BIOS {
		code, err := os.ReadFile(plan.Files.GPTMBR)
		if err != nil {
			return fmt.Errorf("BIOS boot code: %w", err)
		}
		plan.Table.BootCode = code
	}
	d.logf("partition table: GPT, ESP %s, store %s", sizeText(plan.length(plan.ESP())), sizeText(plan.length(plan.Store())))
	if err := plan.Table.Write(f, plan.Size); err != nil {
		return fmt.Errorf("partition table: %w", err)
	}
	if err := f.Sync(); err != nil {
		return err
	}

	espDir, err := os.MkdirTemp("", "cairn-esp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(espDir)
	if err := d.writeStore(ctx, plan, src, path, espDir); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if plan.UEFI {
		for _, p := range plan.efiPaths() {
			if err := copyPlain(plan.Files.SystemdBoot, filepath.Join(espDir, p)); err != nil {
				return fmt.Errorf("systemd-boot: %w", err)
			}
		}
	}
	esp := plan.ESP()
	d.logf("EFI system partition: FAT32 %q", ESPLabel)
	_, err = fat.Write(f, plan.offset(esp), fat.Options{
		Size: plan.length(esp), HiddenSectors: uint32(esp.First), Label: ESPLabel,
		VolumeID: plan.ESPVolumeID, Time: plan.Epoch,
	}, os.DirFS(espDir))
	var small *fat.TooSmallError
	if errors.As(err, &small) {
		return fmt.Errorf("EFI system partition: %w: give an ESP size of at least %s", err, sizeText(small.Need))
	}
	if err != nil {
		return fmt.Errorf("EFI system partition: %w", err)
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if plan.BIOS {
		if err := installSyslinux(ctx, plan, path); err != nil {
			return err
		}
	}
	return f.Sync()
}

// installSyslinux runs syslinux's installer on the ESP: its boot sector,
// ldlinux.sys and ldlinux.c32 in /extlinux, where boot.Sync wrote
// extlinux.conf. mtools, which it writes through, takes the files' time
// from SOURCE_DATE_EPOCH (in the zone TZ says): the plan's epoch, in UTC.
func installSyslinux(ctx context.Context, plan *DiskPlan, path string) error {
	cmd := nosync.Command(ctx, plan.Files.Syslinux, "--install", "--offset", strconv.FormatInt(plan.offset(plan.ESP()), 10), "--directory", "/extlinux", path)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+strconv.FormatInt(max(plan.Epoch.Unix(), 315532800), 10), "TZ=UTC", "MTOOLS_SKIP_CHECK=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("install syslinux into the EFI system partition of %s: %s: %v: %s", path, plan.Files.Syslinux, err, bytes.TrimSpace(out))
	}
	return nil
}

// writeStore makes the btrfs file system of partition 2 and the store in
// it, and has boot.Sync write the ESP's boot directory into espDir.
// Unmounted, the file system is normalized (btrfsnorm): its inner
// identifiers derived from the plan's seed, its times clamped to the
// epoch, its free space zeroed, so that the same generation and plan
// give the same bytes.
func (d Disk) writeStore(ctx context.Context, plan *DiskPlan, src Source, path, espDir string) (err error) {
	part := plan.Store()
	// Every time the kernel stamps from now on is the build's; its
	// coarse clock may lag behind this one by a tick.
	since := time.Now().Add(-time.Second)
	loop, err := disk.AttachLoop(path, plan.offset(part), plan.length(part))
	if err != nil {
		return err
	}
	defer func() {
		if derr := loop.Detach(); err == nil {
			err = derr
		}
	}()
	d.logf("store: btrfs %q (UUID %s) on %s", plan.Label, plan.UUID, loop.Dev)
	for attempt := 1; ; attempt++ {
		mkfs := exec.CommandContext(ctx, "mkfs.btrfs", "-f", "-q", "-L", plan.Label, "-U", plan.UUID, loop.Dev)
		// mkfs.btrfs refuses a UUID that blkid says a device has; blkid's
		// cache may still say so of this loop device from when it held an
		// earlier image of the same system: probe the devices afresh.
		mkfs.Env = append(os.Environ(), "BLKID_FILE=/dev/null")
		if out, err := mkfs.CombinedOutput(); err != nil {
			return fmt.Errorf("mkfs.btrfs on partition 2 (%s): %v: %s", loop.Dev, err, bytes.TrimSpace(out))
		}
		err := d.mountStore(ctx, plan, src, loop.Dev, espDir, attempt < storeAttempts)
		if !errors.Is(err, errDisturbed) {
			if err != nil {
				return err
			}
			break
		}
		d.logf("store: %v; writing it again", err)
		// mkfs.btrfs refuses a UUID that a device has, this one too.
		if err := wipeSuperblocks(loop.Dev, plan.length(part)); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	start := time.Now()
	rep, err := btrfsnorm.Normalize(f, plan.offset(part), plan.length(part), btrfsnorm.Options{Seed: plan.seed, Epoch: plan.Epoch, Since: since})
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	d.logf("store: normalized in %.2f s: %d tree blocks, %d inodes, %d subvolumes, %s of free space zeroed",
		time.Since(start).Seconds(), rep.TreeBlocks, rep.Inodes, rep.Subvolumes, sizeText(rep.Zeroed))
	return f.Sync()
}

// wipeSuperblocks zeroes the btrfs superblocks of the device dev of size
// bytes.
func wipeSuperblocks(dev string, size int64) error {
	f, err := os.OpenFile(dev, os.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	zero := make([]byte, 4096)
	for _, at := range []int64{64 << 10, 64 << 20, 256 << 30} {
		if at+int64(len(zero)) <= size {
			if _, err := f.WriteAt(zero, at); err != nil {
				f.Close()
				return fmt.Errorf("wipe %s: %w", dev, err)
			}
		}
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// storeAttempts is how many times writeStore writes the store when
// something outside disturbs it (errDisturbed); the last time, it keeps
// the result, saying that it may not be reproducible.
const storeAttempts = 3

// storeMountOptions (and MS_NOATIME) mount the new btrfs so that the
// kernel writes the store the same way each time (see settler): no
// access times (whether a read updates one depends on how the clock
// ticked since the last change), no discards in the background,
// allocation as for a rotating disk whatever the build host's disk is,
// one thread for each kind of background work, and transactions
// committed by the writer rather than by the clock. Without cache
// flushes, too (nobarrier): the settler's many commits would each make
// the loop device sync its backing file, and WriteOnto syncs the image
// once it is complete.
const storeMountOptions = "subvolid=5,nodiscard,nossd,nobarrier,thread_pool=1,commit=300"

// mountStore mounts the new btrfs on dev, fills it (fillStore; strict
// as for the settler) and unmounts it.
func (d Disk) mountStore(ctx context.Context, plan *DiskPlan, src Source, dev, espDir string, strict bool) (err error) {
	mnt, err := os.MkdirTemp("", "cairn-disk-")
	if err != nil {
		return err
	}
	defer os.Remove(mnt)
	if err := unix.Mount(dev, mnt, "btrfs", unix.MS_NOATIME, storeMountOptions); err != nil {
		if _, serr := os.Stat(filepath.Join("/sys/fs/btrfs", plan.UUID)); errors.Is(err, unix.EBUSY) && serr == nil {
			return fmt.Errorf("mount the new btrfs (%s): a btrfs with the same UUID %s is mounted on this machine (the system this image is made from?), and kernels before 6.7 mount only one of them: give the disk another seed or UUID", dev, plan.UUID)
		}
		return fmt.Errorf("mount the new btrfs (%s) on %s: %w", dev, mnt, err)
	}
	defer func() {
		if uerr := unix.Unmount(mnt, 0); uerr != nil {
			unix.Unmount(mnt, unix.MNT_DETACH)
			if err == nil {
				err = fmt.Errorf("unmount %s: %w", mnt, uerr)
			}
		}
		forgetBtrfs(dev)
	}()
	if err := d.fillStore(ctx, plan, src, mnt, espDir, strict); err != nil {
		return err
	}
	return btrfs.Sync(mnt)
}

// fillStore makes the store at mnt hold the generation as the default,
// with its persistent directories and boot configuration. Between
// steps, the settler commits, so that each begins with the kernel idle.
func (d Disk) fillStore(ctx context.Context, plan *DiskPlan, src Source, mnt, espDir string, strict bool) error {
	settle, err := newSettler(mnt, strict)
	if err != nil {
		return err
	}
	defer settle.Close()
	st, err := store.Init(mnt, store.InitOptions{Backend: store.BackendBtrfs})
	if err == nil {
		err = settle.commit()
	}
	if err != nil {
		return err
	}
	unlock, err := st.Lock(ctx, false)
	if err != nil {
		return err
	}
	defer unlock()
	stage, err := st.BeginStaging()
	if err != nil {
		return err
	}
	d.logf("store: copying the generation (%s in %d entries)", sizeText(plan.TreeBytes), plan.TreeEntries)
	err = settle.watch()
	if err == nil {
		err = copyTree(ctx, src.Root, stage.Dir(), plan.Epoch, settle)
	}
	if err == nil {
		err = settle.unwatch()
	}
	if errors.Is(err, errDisturbed) {
		return err // the file system is made again
	}
	if err != nil {
		return errors.Join(fmt.Errorf("copy the generation: %w", err), stage.Abort())
	}
	d.logf("store: copied in %d transactions", settle.commits)
	if settle.disturbed {
		d.logf("store: %v: this image may differ from another of the same generation", errDisturbed)
	}
	if settle.metadataGrew {
		d.logf("store: the generation's metadata outgrew the file system's first metadata chunk, and the kernel allocated more from a thread of its own: this image may differ from another of the same generation")
	}
	gen, err := stage.Seal(plan.Meta)
	if err != nil {
		return err
	}
	state, err := st.UpdateState(func(s store.State) (store.State, error) { return s.SwitchPermanent(gen.Number) })
	if err == nil {
		err = settle.commit()
	}
	if err != nil {
		return err
	}
	for _, p := range plan.Persist {
		if _, _, err := cairninit.EnsurePersist(mnt, gen.Path, p); err != nil {
			return fmt.Errorf("persistent directory %s: %w", p, err)
		}
		if err := settle.commit(); err != nil {
			return err
		}
	}
	if err := boot.SaveConfig(st, &plan.Boot); err != nil {
		return err
	}
	gens, err := st.Generations()
	if err != nil {
		return err
	}
	opts := plan.Boot.Options(nil)
	opts.BootDir = espDir
	d.logf("boot: kernel, initramfs and %s entries", strings.Join(append([]string{plan.Boot.Loader}, plan.Boot.ExtraLoaders...), " and "))
	if err := boot.Sync(opts, gens, state); err != nil {
		return fmt.Errorf("boot entries: %w", err)
	}
	return nil
}

// forgetBtrfs unregisters a btrfs device from the kernel
// (BTRFS_IOC_FORGET_DEV, `btrfs device scan --forget`), so that the
// loop device, detached, leaves no stale entry: the next image with the
// same file system UUID mounts cleanly.
func forgetBtrfs(dev string) {
	ctl, err := os.OpenFile("/dev/btrfs-control", os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer ctl.Close()
	var args struct {
		Fd   int64
		Name [4088]byte
	}
	copy(args.Name[:], dev)
	const iocForgetDev = 0x50009405 // _IOW(0x94, 5, btrfs_ioctl_vol_args)
	unix.Syscall(unix.SYS_IOCTL, ctl.Fd(), iocForgetDev, uintptr(unsafe.Pointer(&args)))
}

// copyPlain copies a file's content to dst, making its directories.
func copyPlain(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
