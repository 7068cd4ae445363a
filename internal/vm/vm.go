// Package vm runs a machine under qemu with its serial console on a pipe:
// the console's output is copied to a log as it arrives (a prompt without
// a newline too), kept line by line, and can be waited on for a regular
// expression (Expect), which also matches the line still being written.
// A machine may have a virtio-net NIC on qemu's user-mode network with
// host ports forwarded to the guest (Forward), so that a test or a person
// can reach its ssh server. It is what the boot tests use and what
// `cairn vm` is built on. Software emulation (TCG) is the default: it
// works everywhere, KVM only where the host allows it.
package vm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Disk is a drive of the machine.
type Disk struct {
	// Path of the image file.
	Path string
	// Format is the image format; raw when empty.
	Format string
	// Interface is how the drive attaches: virtio (the default), ide,
	// scsi (virtio-scsi), nvme.
	Interface string
	// Snapshot discards the machine's writes when it stops.
	Snapshot bool
	// ReadOnly attaches the drive read-only.
	ReadOnly bool
}

// Config describes a machine.
type Config struct {
	// QEMU is the emulator; qemu-system-x86_64 when empty.
	QEMU string
	// Accel is qemu's -accel: "tcg" (the default) or "kvm". Plain
	// "tcg" gets a translation cache of TCGCacheMiB.
	Accel string
	// MemoryMiB is the memory size; 512 when zero.
	MemoryMiB int
	// CPUs is the number of processors; 1 when zero.
	CPUs int
	// Kernel, Initrd and Append boot a kernel directly (-kernel,
	// -initrd, -append). Without Kernel the machine boots its first disk
	// through its firmware.
	Kernel, Initrd, Append string
	// Disks are attached in order.
	Disks []Disk
	// NoReboot makes a reboot (or a kernel panic with panic=N) stop the
	// machine instead of restarting it.
	NoReboot bool
	// Net attaches a virtio-net NIC (virtio-net-pci) on qemu's user-mode
	// network: the guest is 10.0.2.15/24 (qemu's DHCP server hands that
	// out), its gateway 10.0.2.2 (which reaches the host's network through
	// NAT), its DNS server 10.0.2.3. The guest needs the virtio_net driver
	// (a module of Debian's kernels and Alpine's virt kernel, with
	// failover and net_failover, on virtio_pci). Forwards imply Net.
	Net bool
	// Forwards are host ports forwarded to the guest's ports; a host port
	// of 0 is chosen by Start (VM.Forwards says which).
	Forwards []Forward
	// Args are more qemu arguments, appended as they are.
	Args []string
	// Log, when set, receives the console's output as it arrives,
	// unchanged (carriage returns and escape sequences included, a prompt
	// without a newline at once): what a terminal would show.
	Log io.Writer
}

// VM is a running machine.
type VM struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	args     []string
	forwards []Forward

	mu      sync.Mutex
	lines   []string // complete console lines
	partial string   // the line being written
	next    int      // lines before this are consumed by Expect,
	nextCol int      // and this much of line next
	changed chan struct{}
	done    chan struct{} // closed when qemu has exited
	exitErr error
	stderr  strings.Builder
	closed  bool
}

// TCGCacheMiB is the size of TCG's translation cache. qemu's default (1
// GiB) is flushed so seldom that a page of code shared by many processes
// (a library mapped at another address in each) gathers a list of
// translations hundreds of thousands long, and qemu walks the whole list
// on every store into the page. Nothing stores into code pages, except a
// kexec: the kernel's relocation copies the new kernel over them, and
// under the default it crawled, 8 s per 8 bytes on such pages (perf:
// qemu in tb_invalidate_phys_page_range's list walk), for over 6 minutes;
// with 64 MiB it takes about a second, and boots are no slower
// (docs/live-switch.md).
const TCGCacheMiB = 64

// QEMUArgs returns qemu's arguments for the config.
func (c Config) QEMUArgs() ([]string, error) {
	accel := c.Accel
	if accel == "" || accel == "tcg" {
		accel = "tcg,tb-size=" + strconv.Itoa(TCGCacheMiB)
	}
	mem := c.MemoryMiB
	if mem == 0 {
		mem = 512
	}
	cpus := c.CPUs
	if cpus == 0 {
		cpus = 1
	}
	args := []string{
		"-nodefaults", "-no-user-config",
		"-accel", accel,
		"-m", strconv.Itoa(mem),
		"-smp", strconv.Itoa(cpus),
		"-display", "none",
		"-serial", "stdio",
		"-monitor", "none",
	}
	if c.NoReboot {
		args = append(args, "-no-reboot")
	}
	if c.Kernel != "" {
		args = append(args, "-kernel", c.Kernel)
		if c.Initrd != "" {
			args = append(args, "-initrd", c.Initrd)
		}
		if c.Append != "" {
			args = append(args, "-append", c.Append)
		}
	} else if c.Initrd != "" || c.Append != "" {
		return nil, errors.New("vm: an initrd or a command line needs a kernel")
	}
	for i, d := range c.Disks {
		if d.Path == "" {
			return nil, fmt.Errorf("vm: disk %d has no path", i)
		}
		if strings.Contains(d.Path, ",") {
			return nil, fmt.Errorf("vm: disk %s: qemu's option syntax cannot take a comma in a path", d.Path)
		}
		format := d.Format
		if format == "" {
			format = "raw"
		}
		drive := fmt.Sprintf("file=%s,format=%s,if=none,id=disk%d", d.Path, format, i)
		if d.Snapshot {
			drive += ",snapshot=on"
		}
		if d.ReadOnly {
			drive += ",readonly=on"
		}
		args = append(args, "-drive", drive)
		switch d.Interface {
		case "", "virtio":
			args = append(args, "-device", fmt.Sprintf("virtio-blk-pci,drive=disk%d", i))
		case "ide":
			args = append(args, "-device", fmt.Sprintf("ide-hd,drive=disk%d", i))
		case "scsi":
			args = append(args, "-device", fmt.Sprintf("virtio-scsi-pci,id=scsi%d", i),
				"-device", fmt.Sprintf("scsi-hd,drive=disk%d,bus=scsi%d.0", i, i))
		case "nvme":
			args = append(args, "-device", fmt.Sprintf("nvme,drive=disk%d,serial=cairn%d", i, i))
		default:
			return nil, fmt.Errorf("vm: disk %s: unknown interface %q (virtio, ide, scsi, nvme)", d.Path, d.Interface)
		}
	}
	net, err := c.netArgs()
	if err != nil {
		return nil, err
	}
	args = append(args, net...)
	return append(args, c.Args...), nil
}

// Start starts the machine. ctx bounds its whole life: when ctx ends,
// qemu is killed. The caller must Close it.
func Start(ctx context.Context, c Config) (*VM, error) {
	var err error
	if c.Forwards, err = choosePorts(c.Forwards); err != nil {
		return nil, err
	}
	args, err := c.QEMUArgs()
	if err != nil {
		return nil, err
	}
	qemu := c.QEMU
	if qemu == "" {
		qemu = "qemu-system-x86_64"
	}
	cmd := exec.CommandContext(ctx, qemu, args...)
	// Should the test binary die, qemu goes with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	v := &VM{cmd: cmd, args: args, forwards: c.Forwards, changed: make(chan struct{}), done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{mu: &v.mu, b: &v.stderr}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if v.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", qemu, err)
	}
	go v.read(out, c.Log)
	return v, nil
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// read collects the console until qemu closes it, then waits for qemu.
func (v *VM) read(out io.Reader, log io.Writer) {
	buf := make([]byte, 4096)
	for {
		n, err := out.Read(buf)
		if n > 0 {
			v.add(string(buf[:n]), log)
		}
		if err != nil {
			break
		}
	}
	err := v.cmd.Wait()
	v.mu.Lock()
	if v.partial != "" {
		v.lines = append(v.lines, v.partial)
		v.partial = ""
	}
	v.exitErr = err
	v.notifyLocked()
	v.mu.Unlock()
	close(v.done)
}

// add takes output as it came: to the log at once, then into lines. The
// log is written under the lock, so whatever Expect matched has been
// logged.
func (v *VM) add(s string, log io.Writer) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if log != nil {
		io.WriteString(log, s)
	}
	s = v.partial + s
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			break
		}
		v.lines = append(v.lines, strings.TrimRight(s[:i], "\r"))
		s = s[i+1:]
	}
	v.partial = s
	v.notifyLocked()
}

func (v *VM) notifyLocked() {
	close(v.changed)
	v.changed = make(chan struct{})
}

// ExitedError says the machine stopped before a line matched.
type ExitedError struct {
	Pattern string
	Err     error // qemu's exit status
	Tail    []string
}

func (e *ExitedError) Error() string {
	return fmt.Sprintf("the machine stopped (%v) before a line matched %q; its last lines:\n%s", e.Err, e.Pattern, strings.Join(e.Tail, "\n"))
}

// TimeoutError says no line matched in time.
type TimeoutError struct {
	Pattern string
	Timeout time.Duration
	Tail    []string
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("no line matched %q within %s; the last lines:\n%s", e.Pattern, e.Timeout, strings.Join(e.Tail, "\n"))
}

// tailLines is how many lines errors quote.
const tailLines = 40

// Expect waits up to timeout for console output matching re, past what
// earlier Expects consumed, and returns its submatches (the whole match
// first). Lines are matched one at a time, without their line ends; the
// line still being written matches as far as it has come, so a prompt
// without a newline ("login: ") is found as soon as it shows. That also
// means a pattern the rest of the line could extend (`took (\d+)`) can
// match a line cut short: end such a pattern with what follows the value,
// or read values from Lines. A match consumes the output up to its end; a
// failed Expect consumes nothing.
func (v *VM) Expect(re *regexp.Regexp, timeout time.Duration) ([]string, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	v.mu.Lock()
	line, col := v.next, v.nextCol
	v.mu.Unlock()
	for {
		v.mu.Lock()
		for ; line < len(v.lines); line, col = line+1, 0 {
			if m, _ := matchFrom(re, v.lines[line], col); m != nil {
				v.next, v.nextCol = line+1, 0
				v.mu.Unlock()
				return m, nil
			}
		}
		if m, end := matchFrom(re, v.partial, col); m != nil {
			v.next, v.nextCol = line, end
			v.mu.Unlock()
			return m, nil
		}
		changed := v.changed
		exited := v.isDone()
		tail := v.tailLocked()
		exitErr := v.exitErr
		v.mu.Unlock()
		if exited {
			return nil, &ExitedError{Pattern: re.String(), Err: exitErr, Tail: tail}
		}
		select {
		case <-changed:
		case <-deadline.C:
			return nil, &TimeoutError{Pattern: re.String(), Timeout: timeout, Tail: tail}
		}
	}
}

// matchFrom matches re against s from byte col on, and returns the
// submatches and where the match ends in s.
func matchFrom(re *regexp.Regexp, s string, col int) ([]string, int) {
	if col > len(s) {
		return nil, 0
	}
	loc := re.FindStringSubmatchIndex(s[col:])
	if loc == nil {
		return nil, 0
	}
	m := make([]string, len(loc)/2)
	for i := range m {
		if loc[2*i] >= 0 {
			m[i] = s[col+loc[2*i] : col+loc[2*i+1]]
		}
	}
	return m, col + loc[1]
}

// ExpectString is Expect for a literal substring.
func (v *VM) ExpectString(s string, timeout time.Duration) error {
	_, err := v.Expect(regexp.MustCompile(regexp.QuoteMeta(s)), timeout)
	return err
}

func (v *VM) isDone() bool {
	select {
	case <-v.done:
		return true
	default:
		return false
	}
}

func (v *VM) tailLocked() []string {
	lines := v.lines[max(0, len(v.lines)-tailLines):]
	out := append([]string{}, lines...)
	if v.partial != "" {
		out = append(out, v.partial)
	}
	if s := strings.TrimSpace(v.stderr.String()); s != "" {
		out = append(out, "qemu: "+s)
	}
	return out
}

// Send writes to the serial console, as typing would.
func (v *VM) Send(s string) error {
	_, err := io.WriteString(v.stdin, s)
	return err
}

// Lines returns every complete console line so far.
func (v *VM) Lines() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string{}, v.lines...)
}

// Wait waits up to timeout for the machine to stop by itself (a
// poweroff, or with NoReboot a reboot or a panic) and returns qemu's exit
// error. On timeout the machine is left running.
func (v *VM) Wait(timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-v.done:
		v.mu.Lock()
		defer v.mu.Unlock()
		if v.exitErr != nil {
			return fmt.Errorf("qemu: %w: %s", v.exitErr, strings.TrimSpace(v.stderr.String()))
		}
		return nil
	case <-t.C:
		v.mu.Lock()
		defer v.mu.Unlock()
		return &TimeoutError{Pattern: "(the machine stopping)", Timeout: timeout, Tail: v.tailLocked()}
	}
}

// Close kills the machine if it still runs and waits for qemu to be gone.
// It is safe to call more than once.
func (v *VM) Close() error {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return nil
	}
	v.closed = true
	v.mu.Unlock()
	if !v.isDone() {
		if err := v.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return err
		}
	}
	<-v.done
	v.stdin.Close()
	return nil
}

// Done is closed when the machine has stopped (Wait then returns at once
// with qemu's exit error).
func (v *VM) Done() <-chan struct{} { return v.done }

// Forwards returns the machine's forwarded ports, with the host ports
// Start chose in place of 0.
func (v *VM) Forwards() []Forward { return append([]Forward{}, v.forwards...) }

// Pid returns qemu's process id.
func (v *VM) Pid() int { return v.cmd.Process.Pid }

// CommandLine returns qemu's arguments.
func (v *VM) CommandLine() []string { return append([]string{}, v.args...) }
