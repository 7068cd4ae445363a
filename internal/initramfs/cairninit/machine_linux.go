package cairninit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/disk"
	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/rootfs"
	"github.com/cairnlinux/cairn/internal/state"
)

// Where the real machine mounts things inside the initramfs.
const (
	storeMount   = "/cairn/store"
	sysroot      = "/sysroot"
	rescueShell  = "/bin/sh"
	modulesRoot  = "/lib/modules"
	storeInRun   = layout.RunStore // where the store is moved in the new root
	pollInterval = 100 * time.Millisecond
)

// machine is the real Machine: PID 1 in an initramfs.
type machine struct {
	mounted []string // Prepare's mounts, innermost last
	top     string

	// A RAM system's progress (PrepareRAM, MountPersist), so that a
	// second try after a failure does not redo what was done.
	ramMoved, ramMounted, ramPersisted bool
}

// NewMachine returns the Machine that acts on this system. Only PID 1 in
// an initramfs should use it.
func NewMachine() Machine { return &machine{} }

func (m *machine) MountKernelFS() error {
	var errs []error
	for _, k := range []struct{ src, dir, fstype, data string }{
		{"proc", "/proc", "proc", ""},
		{"sysfs", "/sys", "sysfs", ""},
		{"devtmpfs", "/dev", "devtmpfs", "mode=0755"},
	} {
		if err := os.MkdirAll(k.dir, 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		flags := uintptr(unix.MS_NOSUID)
		if k.fstype != "devtmpfs" {
			flags |= unix.MS_NODEV | unix.MS_NOEXEC
		}
		if err := unix.Mount(k.src, k.dir, k.fstype, flags, k.data); err != nil && !errors.Is(err, unix.EBUSY) {
			errs = append(errs, fmt.Errorf("mount %s on %s: %w", k.fstype, k.dir, err))
		}
	}
	ensureConsole()
	return errors.Join(errs...)
}

// ensureConsole opens /dev/console as standard input, output and error
// when the kernel could not give init a console (no /dev/console in the
// archive).
func ensureConsole() {
	if _, err := unix.FcntlInt(1, unix.F_GETFD, 0); err == nil {
		return
	}
	fd, err := unix.Open("/dev/console", unix.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return
	}
	for i := 0; i < 3; i++ {
		unix.Dup2(fd, i)
	}
	if fd > 2 {
		unix.Close(fd)
	}
}

func (m *machine) Cmdline() (string, error) {
	data, err := os.ReadFile("/proc/cmdline")
	return strings.TrimSpace(string(data)), err
}

func (m *machine) Uptime() (time.Duration, error) {
	data, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0, errors.New("/proc/uptime is empty")
	}
	s, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0, err
	}
	return time.Duration(s * float64(time.Second)), nil
}

func (m *machine) LoadModules(log *Log) error {
	release, err := kernelRelease()
	if err != nil {
		return err
	}
	if f, err := os.Open(layout.RAMModules); err == nil {
		l, err := ReadModuleList(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", layout.RAMModules, err)
		}
		return loadList(l, release, log)
	}
	dir := filepath.Join(modulesRoot, release)
	if _, err := os.Stat(dir); err != nil {
		entries, _ := os.ReadDir(modulesRoot)
		if len(entries) == 0 {
			return nil // an initramfs without modules
		}
		var have []string
		for _, e := range entries {
			have = append(have, e.Name())
		}
		return fmt.Errorf("the initramfs has modules for %s, the kernel is %s", strings.Join(have, ", "), release)
	}
	paths, err := ModuleOrder(dir)
	if err != nil {
		return err
	}
	return loadList(ModuleList{Kernel: release, Paths: paths}, release, log)
}

// loadList loads the modules of l, which must be for the running kernel.
func loadList(l ModuleList, release string, log *Log) error {
	if len(l.Paths) == 0 {
		return nil
	}
	if l.Kernel != release {
		return fmt.Errorf("the initramfs has modules for %s, the kernel is %s", l.Kernel, release)
	}
	paths := l.Paths
	loaded := 0
	for _, p := range paths {
		if err := finitModule(p); err != nil {
			log.Errorf("load module %s: %v", filepath.Base(p), err)
			continue
		}
		loaded++
	}
	log.Infof("loaded %d of %d modules", loaded, len(paths))
	return nil
}

func finitModule(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	err = unix.FinitModule(int(f.Fd()), "", 0)
	if errors.Is(err, unix.EEXIST) {
		return nil // already loaded (or built in under this name)
	}
	return err
}

func (m *machine) FindRoot(root RootSpec, wait time.Duration, log *Log) ([]Device, error) {
	sc := Scanner{SysBlock: "/sys/class/block", Dev: "/dev"}
	start := time.Now()
	told := false
	for {
		found, seen, err := sc.Find(root)
		if err == nil && len(found) > 0 {
			if err := sameFS(root, found); err != nil {
				return nil, err
			}
			registerBtrfs(found, log)
			return found, nil
		}
		if time.Since(start) >= wait {
			if err == nil {
				err = fmt.Errorf("not found after %s; block devices: %s", wait, describe(seen))
			}
			return nil, err
		}
		if !told && time.Since(start) > time.Second {
			log.Infof("waiting up to %s for %s", wait, root)
			told = true
		}
		time.Sleep(pollInterval)
	}
}

func describe(seen []string) string {
	if len(seen) == 0 {
		return "none"
	}
	return strings.Join(seen, ", ")
}

// sameFS refuses a LABEL= naming two file systems.
func sameFS(root RootSpec, devs []Device) error {
	for _, d := range devs[1:] {
		if d.FS.UUID != devs[0].FS.UUID {
			return fmt.Errorf("%s names two file systems: %s (UUID=%s) and %s (UUID=%s); use root=UUID=",
				root, devs[0].Path, devs[0].FS.UUID, d.Path, d.FS.UUID)
		}
	}
	return nil
}

// btrfsScanDev is BTRFS_IOC_SCAN_DEV: _IOW(0x94, 4, struct
// btrfs_ioctl_vol_args), which tells btrfs about one device of a file
// system (a file system on several devices mounts only once the kernel
// knows them all).
const btrfsScanDev = 0x50009404

type volArgs struct {
	fd   int64
	name [4088]byte
}

func registerBtrfs(devs []Device, log *Log) {
	if devs[0].FS.Type != "btrfs" || len(devs) < 2 {
		return
	}
	ctl, err := os.OpenFile("/dev/btrfs-control", os.O_RDWR, 0)
	if err != nil {
		log.Errorf("btrfs on %d devices: %v", len(devs), err)
		return
	}
	defer ctl.Close()
	for _, d := range devs {
		var args volArgs
		copy(args.name[:len(args.name)-1], d.Path)
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, ctl.Fd(), btrfsScanDev, uintptr(unsafe.Pointer(&args))); errno != 0 {
			log.Errorf("register btrfs device %s: %v", d.Path, errno)
		}
	}
}

func (m *machine) MountStore(devs []Device, fstype, flags string) (string, error) {
	data := flags
	if fstype == "btrfs" {
		data = joinOpts("subvolid=5", flags)
	}
	if err := os.MkdirAll(storeMount, 0o755); err != nil {
		return "", err
	}
	if err := unix.Mount(devs[0].Path, storeMount, fstype, 0, data); err != nil {
		return "", err
	}
	m.top = storeMount
	return storeMount, nil
}

func (m *machine) GrowStore(dev, top string) (string, error) {
	res, err := disk.Grow(dev, top)
	if err != nil {
		return "", err
	}
	if !res.Changed() {
		return "", nil
	}
	return res.String(), nil
}

// kernelRelease is the running kernel's release (uname -r).
func kernelRelease() (string, error) {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return "", err
	}
	return unix.ByteSliceToString(uts.Release[:]), nil
}

func joinOpts(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "," + b
}

func (m *machine) mount(src, dst, fstype string, flags uintptr, data string) error {
	if err := unix.Mount(src, dst, fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s on %s: %w", src, dst, err)
	}
	m.mounted = append(m.mounted, dst)
	return nil
}

func (m *machine) Prepare(top string, n int, init string, log *Log) (string, error) {
	gen := layout.GenerationDir(top, n)
	if fi, err := os.Stat(gen); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("%s: not a generation: %v", gen, err)
	}
	if err := os.MkdirAll(sysroot, 0o755); err != nil {
		return "", err
	}
	if err := m.mount(gen, sysroot, "", unix.MS_BIND, ""); err != nil {
		return "", err
	}
	// A bind mount takes its flags from the remount, not the first call.
	if err := unix.Mount("", sysroot, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		return "", fmt.Errorf("make %s read-only: %w", sysroot, err)
	}
	candidates := DefaultInits
	if init != "" {
		candidates = []string{init}
	}
	init, err := findInit(sysroot, candidates)
	if err != nil {
		return "", err
	}
	release, _ := kernelRelease() // "" when unknown: nothing to say
	if msg := KernelMismatch(sysroot, release, n); msg != "" {
		log.Errorf("%s", msg)
	}
	for _, t := range []struct{ dir, data string }{{"/run", "mode=0755"}, {"/tmp", "mode=1777"}} {
		dst := filepath.Join(sysroot, t.dir)
		if fi, err := os.Stat(dst); err != nil || !fi.IsDir() {
			log.Errorf("generation %d has no %s directory: no tmpfs there", n, t.dir)
			continue
		}
		if err := m.mount("tmpfs", dst, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, t.data); err != nil {
			return "", err
		}
	}
	m.persist(top, fmt.Sprintf("generation %d", n), log)
	applyDeclared(sysroot, log)
	if err := recordBoot(top, n); err != nil {
		log.Errorf("record the boot in /run: %v", err)
	}
	m.addConsoles(sysroot, log)
	return init, nil
}

// persist mounts the generation's persistent directories. A failure is
// reported and the directory left as the generation has it (read-only):
// the system comes up, and says what is missing.
func (m *machine) persist(top, what string, log *Log) {
	f, err := os.Open(layout.InTree(sysroot, layout.PersistList))
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		log.Errorf("%s: %v", what, err)
		return
	}
	paths, problems, err := layout.ParsePersist(f)
	f.Close()
	for _, p := range problems {
		log.Errorf("%s: %s", what, p)
	}
	if err != nil {
		log.Errorf("%s: %s: %v", what, layout.PersistList, err)
	}
	for _, p := range paths {
		dir, created, err := EnsurePersist(top, sysroot, p)
		if err != nil {
			log.Errorf("persistent %s: %v", p, err)
			continue
		}
		if created {
			log.Infof("persistent %s created, seeded from %s", p, what)
		}
		dst := filepath.Join(sysroot, p)
		if fi, err := os.Stat(dst); err != nil || !fi.IsDir() {
			// Under an earlier persistent directory it can be made.
			if err := os.MkdirAll(dst, 0o755); err != nil {
				log.Errorf("persistent %s: no directory to mount it on: %v", p, err)
				continue
			}
		}
		if err := m.mount(dir, dst, "", unix.MS_BIND, ""); err != nil {
			log.Errorf("persistent %s: %v", p, err)
		}
	}
}

// applyDeclared puts the generation's managed files in place in its
// persistent directories and writes its missing seeds (state.Apply),
// saying on the console what changed. A failure is reported; the boot
// goes on.
func applyDeclared(root string, log *Log) {
	changes, err := state.Apply(root, time.Now())
	for _, c := range changes {
		log.Infof("declared file: %s", c)
	}
	if err != nil {
		log.Errorf("declared files: %v", err)
	}
}

// recordBoot leaves, in the new root's /run: cairn/booted (the number),
// current-system (a link to the generation in the store, which SwitchRoot
// moves to /run/cairn/store), cairn/meta.json (its metadata), and the
// directory the store is moved to.
func recordBoot(top string, n int) error {
	if err := os.MkdirAll(layout.InTree(sysroot, storeInRun), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(layout.InTree(sysroot, layout.BootedFile), layout.FormatBooted(n), 0o644); err != nil {
		return err
	}
	links := map[string]string{
		layout.InTree(sysroot, layout.CurrentSystem): layout.GenerationDir(storeInRun, n),
		layout.InTree(sysroot, layout.MetaLink):      layout.MetaFile(storeInRun, n),
	}
	for link, target := range links {
		os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			return err
		}
	}
	return nil
}

func (m *machine) Undo() error {
	var errs []error
	for i := len(m.mounted) - 1; i >= 0; i-- {
		if err := unix.Unmount(m.mounted[i], 0); err != nil {
			if err2 := unix.Unmount(m.mounted[i], unix.MNT_DETACH); err2 != nil {
				errs = append(errs, fmt.Errorf("unmount %s: %w", m.mounted[i], err))
			}
		}
	}
	m.mounted = nil
	return errors.Join(errs...)
}

func (m *machine) SwitchRoot(init string, args []string) error {
	// Checked again at the last moment: past freeInitramfs, there is
	// nothing to fall back on.
	if _, err := findInit(sysroot, []string{init}); err != nil {
		return err
	}
	moved := filepath.Join(sysroot, storeInRun)
	if fi, err := os.Stat(moved); err == nil && fi.IsDir() && m.top != "" {
		if err := unix.Mount(m.top, moved, "", unix.MS_MOVE, ""); err != nil {
			return fmt.Errorf("move the store to %s: %w", storeInRun, err)
		}
		m.top = ""
	}
	for _, dir := range []string{"/dev", "/proc", "/sys"} {
		dst := filepath.Join(sysroot, dir)
		if fi, err := os.Stat(dst); err == nil && fi.IsDir() {
			if err := unix.Mount(dir, dst, "", unix.MS_MOVE, ""); err != nil {
				return fmt.Errorf("move %s to the new root: %w", dir, err)
			}
		} else {
			unix.Unmount(dir, unix.MNT_DETACH)
		}
	}
	freeInitramfs()
	if err := unix.Chdir(sysroot); err != nil {
		return err
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move %s to /: %w", sysroot, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	return unix.Exec(init, append([]string{init}, args...), os.Environ())
}

// freeInitramfs removes the initramfs's files, which would otherwise
// hold their memory for as long as the system runs, as switch_root
// does: only on a RAM file system, never crossing into a mount.
func freeInitramfs() {
	var st unix.Statfs_t
	if unix.Statfs("/", &st) != nil || (st.Type != unix.RAMFS_MAGIC && st.Type != unix.TMPFS_MAGIC) || os.Getpid() != 1 {
		return
	}
	var root unix.Stat_t
	if unix.Lstat("/", &root) != nil {
		return
	}
	var remove func(dir string)
	remove = func(dir string) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			var s unix.Stat_t
			if unix.Lstat(p, &s) != nil || s.Dev != root.Dev {
				continue // a mount point: /sysroot, /dev, ...
			}
			if e.IsDir() {
				remove(p)
				unix.Rmdir(p)
				continue
			}
			unix.Unlink(p)
		}
	}
	remove("/")
}

func (m *machine) Shell() error {
	attr := &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if _, err := os.Stat(rescueShell); err != nil {
		// A RAM system's shell moved into its tmpfs with the rest.
		if _, serr := os.Stat(filepath.Join(sysroot, rescueShell)); !m.ramMoved || serr != nil {
			return ErrNoShell
		}
		attr.Chroot = sysroot
	}
	cmd := exec.Command(rescueShell)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "PS1=(cairn rescue) # ", "PATH=/bin:/sbin:/usr/bin:/usr/sbin")
	cmd.SysProcAttr = attr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return fmt.Errorf("%s: %w", rescueShell, err)
		}
	}
	return nil
}

func (m *machine) Halt() {
	for {
		unix.Pause()
	}
}

// syncTree writes the file system holding dir to disk.
func syncTree(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Syncfs(fd)
}

func syncDir(dir string) error { return rootfs.SyncDir(dir) }
