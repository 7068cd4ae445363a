package node

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cairnlinux/cairn/internal/boot"
	"github.com/cairnlinux/cairn/internal/gendiff"
	"github.com/cairnlinux/cairn/internal/health"
	"github.com/cairnlinux/cairn/internal/initramfs/cairninit"
	"github.com/cairnlinux/cairn/internal/kexec"
	"github.com/cairnlinux/cairn/internal/liveroot"
	"github.com/cairnlinux/cairn/internal/secrets"
	"github.com/cairnlinux/cairn/internal/state"
	"github.com/cairnlinux/cairn/internal/store"
)

// LiveRequest asks for a live switch (`cairn switch --now`).
type LiveRequest struct {
	// Generation is the one to run; 0 is the newest.
	Generation int
	// Kexec boots a generation with another kernel through kexec.
	Kexec bool
	// KexecReboot is the command that shuts the system down and starts
	// the loaded kernel (cairn boot kexec-reboot), run detached: the
	// caller's session ends with the shutdown.
	KexecReboot []string
	// KexecSystem loads and starts kernels; nil is the running Linux's
	// (internal/kexec).
	KexecSystem KexecSystem
	// OpenRCDir is OpenRC's state directory (/run/openrc).
	OpenRCDir string
}

// LiveReport is what a live switch did.
type LiveReport struct {
	From       int `json:"from"`
	Generation int `json:"generation"`
	// Restarted are the services restarted because their files or
	// definitions changed (and restarted again on a fall back).
	Restarted []string `json:"restarted"`
	// Runlevel is whether OpenRC re-entered its runlevel because
	// services were added to or removed from one.
	Runlevel bool `json:"runlevel"`
	// DeclaredFiles are the managed files put in place and the seeds
	// written (internal/state), by the switch and by a fall back.
	DeclaredFiles []state.Change  `json:"declaredFiles"`
	Secrets       *secrets.Report `json:"secrets,omitempty"`
	Checks        []health.Result `json:"checks"`
	Confirmed     bool            `json:"confirmed"`
	// FellBack is whether the previous generation is running again.
	FellBack bool        `json:"fellBack"`
	Message  string      `json:"message"`
	State    store.State `json:"state"`
	// Kexec is set when the generation runs another kernel and boots
	// with kexec: the switch ends with the system going down, and the
	// trial ends after the boot, as any trial's.
	Kexec *KexecReport `json:"kexec,omitempty"`
}

// KexecReport is what a switch --now --kexec loaded.
type KexecReport struct {
	// Kernel is the generation's kernel package and version.
	Kernel  string `json:"kernel"`
	Cmdline string `json:"cmdline"`
}

// Live switches the running system to another generation without a
// reboot, as a trial: the generation becomes the root (liveroot.Swap),
// the services whose files or definitions changed restart, its secrets
// are activated and its health checks run. Passed, it is confirmed, as
// after a boot. Failed, the previous generation is swapped back in the
// same way and the trial is recorded as fallen back; the error is then a
// ChecksFailedError with the report. During the trial the state says the
// trial's boot is spent, so a crash or a reboot starts the previous
// default. A generation with another kernel is refused unless req.Kexec:
// then it boots through kexec, as a trial boot (liveKexec,
// docs/live-switch.md).
func (ss *Session) Live(ctx context.Context, req LiveRequest) (LiveReport, error) {
	st, err := ss.Store.State()
	if err != nil {
		return LiveReport{}, err
	}
	from := ss.Booted(st)
	if from == 0 || !ss.IsRunning() {
		return LiveReport{}, errors.New("switch --now: this system was not booted by cairn-init from this store; cairn switch N makes the next boot")
	}
	if from != st.Default {
		return LiveReport{}, fmt.Errorf("switch --now: the running generation %d is not the default (%d) and would not be what a failed trial falls back to; confirm it or reboot first", from, st.Default)
	}
	n := req.Generation
	if n == 0 {
		if n, err = ss.newest(); err != nil {
			return LiveReport{}, fmt.Errorf("switch --now: %w", err)
		}
	}
	rep := LiveReport{From: from, Generation: n, Restarted: []string{}, Checks: []health.Result{}}
	if n == from {
		rep.Message, rep.State = fmt.Sprintf("generation %d is running already: nothing to change", n), st
		return rep, nil
	}
	to, err := ss.Generation(n)
	if err != nil {
		return rep, fmt.Errorf("switch --now: %w", err)
	}
	cur, err := ss.Generation(from)
	if err != nil {
		return rep, fmt.Errorf("switch --now: %w", err)
	}
	if msg := cairninit.KernelMismatch(to.Path, liveroot.KernelRelease(), n); msg != "" {
		if req.Kexec {
			return ss.liveKexec(st, to, req, rep)
		}
		return rep, fmt.Errorf("switch --now: generation %d runs another kernel than the running %s: it needs a reboot (cairn switch %d, then reboot; or --kexec to start its kernel without the firmware)", n, liveroot.KernelRelease(), n)
	}
	diff, err := gendiff.Compare(cur.Path, to.Path)
	if err != nil {
		return rep, fmt.Errorf("switch --now: compare generations %d and %d: %w", from, n, err)
	}
	started := startedServices(req.openrc())
	rep.Restarted = RestartSet(diff, serviceOwners(cur.Path, to.Path), started)
	rep.Runlevel = len(diff.Services) > 0

	// The trial's boot is spent at once: a crash from here on boots the
	// default, which is what runs now.
	if _, err := ss.changeState(func(s store.State) (store.State, error) {
		s, err := s.Switch(n, 1)
		if err != nil {
			return s, err
		}
		s, _ = s.Boot()
		return s, nil
	}); err != nil {
		return rep, changeError(fmt.Sprintf("switch --now to generation %d", n), err)
	}
	if swapped, err := ss.activate(ctx, n, &rep); err != nil {
		back, berr := ss.fallBack(ctx, from, n, swapped, &rep)
		rep.State = back
		rep.Message = fmt.Sprintf("generation %d could not be made the running system: generation %d is running", n, from)
		return rep, errors.Join(fmt.Errorf("switch --now to generation %d: %w", n, err), berr)
	}
	conf, cerr := ss.Confirm(ctx, ConfirmRequest{Boot: true, OpenRCDir: req.openrc()})
	rep.Checks = conf.Checks
	var failed *ChecksFailedError
	if errors.As(cerr, &failed) {
		back, berr := ss.fallBack(ctx, from, n, true, &rep)
		rep.State = back
		rep.Message = fmt.Sprintf("generation %d failed its health checks: generation %d is running again", n, from)
		if berr != nil {
			return rep, berr
		}
		return rep, &ChecksFailedError{Message: rep.Message}
	}
	if cerr != nil {
		return rep, cerr
	}
	rep.Confirmed, rep.State = conf.Confirmed, conf.State
	rep.Message = fmt.Sprintf("generation %d is running and confirmed, without a reboot", n)
	return rep, nil
}

// KexecSystem is what a switch --now --kexec needs of the running system
// (internal/kexec's functions; a recording fake in tests).
type KexecSystem interface {
	Available() error
	Load(kexec.Image) error
	Unload() error
	// Detach starts argv in a session of its own and does not wait.
	Detach(argv []string) error
}

// linuxKexec is the running Linux's kexec.
type linuxKexec struct{}

func (linuxKexec) Available() error           { return kexec.Available() }
func (linuxKexec) Load(img kexec.Image) error { return kexec.Load(img) }
func (linuxKexec) Unload() error              { return kexec.Unload() }
func (linuxKexec) Detach(argv []string) error { return kexec.Detach(argv) }

// liveKexec boots generation to, which runs another kernel, with kexec:
// it becomes the trial (one boot, not spent yet) with the boot entries
// rewritten first, the next boot's kernel, initramfs and command line
// (the loader's first entry) are loaded, and req.KexecReboot is started
// to shut the system down and start them. From there it is a trial boot
// like any: cairn-init spends the try, cairn-confirm confirms or reboots
// into the default. When anything fails before the shutdown, the state
// before (the running generation the default, its next boot) is back.
func (ss *Session) liveKexec(before store.State, to store.Generation, req LiveRequest, rep LiveReport) (LiveReport, error) {
	n := to.Number
	if len(req.KexecReboot) == 0 {
		return rep, errors.New("switch --now --kexec: no command to shut the system down with")
	}
	kx := req.KexecSystem
	if kx == nil {
		kx = linuxKexec{}
	}
	if err := kx.Available(); err != nil {
		return rep, fmt.Errorf("switch --now --kexec: generation %d runs another kernel and %v: cairn switch %d, then reboot", n, err, n)
	}
	st, err := ss.changeState(func(s store.State) (store.State, error) { return s.Switch(n, 1) })
	if err != nil {
		return rep, changeError(fmt.Sprintf("switch --now --kexec to generation %d", n), err)
	}
	undo := func(cause error) error {
		if _, err := ss.changeState(func(store.State) (store.State, error) { return before, nil }); err != nil {
			return errors.Join(cause, changeError("put the next boot back as it was", err))
		}
		return fmt.Errorf("%w; the next boot is as it was", cause)
	}
	var loaded boot.Entry
	err = ss.nextBoot(st, func(e boot.Entry) error {
		loaded = e
		return kx.Load(kexec.Image{Kernel: e.Kernel, Initrd: e.Initrd, Cmdline: e.Options})
	})
	if err == nil && loaded.Generation != n {
		kx.Unload()
		err = fmt.Errorf("the next boot's entry boots generation %d", loaded.Generation)
	}
	if err != nil {
		return rep, undo(fmt.Errorf("switch --now --kexec to generation %d: %w", n, err))
	}
	if err := kx.Detach(req.KexecReboot); err != nil {
		kx.Unload()
		return rep, undo(fmt.Errorf("switch --now --kexec to generation %d: %w", n, err))
	}
	rep.State = st
	rep.Kexec = &KexecReport{Kernel: to.Meta.Kernel, Cmdline: loaded.Options}
	rep.Message = fmt.Sprintf("generation %d boots now with its kernel through kexec: the system is going down; after the boot its health checks confirm it, or generation %d boots again by itself", n, rep.From)
	return rep, nil
}

func (r LiveRequest) openrc() string {
	if r.OpenRCDir == "" {
		return "/run/openrc"
	}
	return r.OpenRCDir
}

// activate makes generation n the running system: the root swapped, the
// managed files, the secrets, the services. swapped says whether the
// root is n's (a failed swap changes nothing).
func (ss *Session) activate(ctx context.Context, n int, rep *LiveReport) (swapped bool, err error) {
	if err := liveroot.Swap(n, func(msg string) { ss.opts.warn("%s", msg) }); err != nil {
		return false, err
	}
	changes, err := ss.PutManagedFiles(n)
	rep.DeclaredFiles = append(rep.DeclaredFiles, changes...)
	if err != nil {
		return true, err
	}
	srep, err := ActivateSecrets(ctx, ActivateRequest{Root: "/"})
	rep.Secrets = srep
	if err != nil {
		return true, fmt.Errorf("secrets: %w", err)
	}
	return true, restartServices(ctx, rep.Restarted, rep.Runlevel)
}

// PutManagedFiles puts generation n's managed files in place in its
// persistent directories and writes its missing seeds, as cairn-init does
// at boot (state.Apply): a live switch calls it once the root is swapped
// (n is then the root), and a fall back calls it for the previous
// generation, which restores what the trial replaced.
func (ss *Session) PutManagedFiles(n int) ([]state.Change, error) {
	changes, err := state.Apply("/", time.Now())
	if err != nil {
		return changes, fmt.Errorf("declared files of generation %d: %w", n, err)
	}
	return changes, nil
}

// fallBack swaps the previous generation back in (when the trial's was
// swapped in) and records the trial as fallen back (Confirm of the
// default, which is what a boot after a failed trial records).
func (ss *Session) fallBack(ctx context.Context, from, n int, swapped bool, rep *LiveReport) (store.State, error) {
	rep.FellBack = true
	var errs []error
	if swapped {
		if _, err := ss.activate(ctx, from, rep); err != nil {
			errs = append(errs, fmt.Errorf("back to generation %d: %w", from, err))
		}
	}
	st, err := ss.changeStateBoot(func(s store.State) (store.State, error) { return s.Confirm(from) }, true)
	if err != nil {
		errs = append(errs, changeError(fmt.Sprintf("record generation %d's trial as fallen back", n), err))
	}
	return st, errors.Join(errs...)
}

// startedServices are the services OpenRC has started (its started/
// directory).
func startedServices(openrc string) []string {
	entries, _ := os.ReadDir(filepath.Join(openrc, "started"))
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// RestartSet is which of the started services a switch across diff
// restarts: those whose init script or conf.d file changed, whose package
// (owners: service -> the package owning its init script, in either
// generation) changed, or with a changed file that belongs to that
// package or lies in /etc/<service>/ or /etc/<package>/. cairn-confirm,
// which runs once at boot, never restarts.
func RestartSet(diff *gendiff.Diff, owners map[string][]string, started []string) []string {
	pkgs := map[string]bool{}
	for _, p := range diff.Packages {
		pkgs[p.Name] = true
	}
	out := []string{}
	for _, s := range started {
		if s == "cairn-confirm" {
			continue
		}
		names := append([]string{s}, owners[s]...)
		restart := false
		for _, o := range owners[s] {
			restart = restart || pkgs[o]
		}
		for _, f := range diff.Files {
			p := strings.TrimPrefix(f.Path, "/")
			if p == "etc/init.d/"+s || p == "etc/conf.d/"+s || (f.Package != "" && slices.Contains(owners[s], f.Package)) {
				restart = true
			}
			for _, name := range names {
				if strings.HasPrefix(p, "etc/"+name+"/") {
					restart = true
				}
			}
		}
		if restart {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// serviceOwners maps each init script to the packages it belongs with,
// from the trees' apk databases: the package owning it and every package
// built from the same origin (chronyd's script is chrony-openrc's, its
// configuration chrony's).
func serviceOwners(trees ...string) map[string][]string {
	owner := map[string][]string{}    // service -> packages owning its script
	origin := map[string]string{}     // package -> origin
	byOrigin := map[string][]string{} // origin -> packages
	for _, t := range trees {
		f, err := os.Open(filepath.Join(t, "lib/apk/db/installed"))
		if err != nil {
			continue
		}
		pkg, dir := "", ""
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
		for sc.Scan() {
			l := sc.Text()
			switch {
			case strings.HasPrefix(l, "P:"):
				pkg, dir = l[2:], ""
			case strings.HasPrefix(l, "o:"):
				if _, ok := origin[pkg]; !ok {
					origin[pkg] = l[2:]
					byOrigin[l[2:]] = append(byOrigin[l[2:]], pkg)
				}
			case strings.HasPrefix(l, "F:"):
				dir = l[2:]
			case strings.HasPrefix(l, "R:") && dir == "etc/init.d":
				owner[l[2:]] = append(owner[l[2:]], pkg)
			}
		}
		f.Close()
	}
	out := map[string][]string{}
	for s, pkgs := range owner {
		var all []string
		for _, p := range pkgs {
			all = append(all, p)
			if o, ok := origin[p]; ok {
				all = append(all, byOrigin[o]...)
			}
		}
		slices.Sort(all)
		out[s] = slices.Compact(all)
	}
	return out
}

// restartServices restarts the services, then lets OpenRC start and stop
// what the runlevels now say when they changed.
func restartServices(ctx context.Context, names []string, runlevel bool) error {
	var errs []error
	for _, s := range names {
		if err := (secrets.OpenRC{}).Restart(ctx, s); err != nil {
			errs = append(errs, err)
		}
	}
	if runlevel {
		if out, err := exec.CommandContext(ctx, "openrc").CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("openrc: %v: %s", err, strings.TrimSpace(string(out))))
		}
	}
	return errors.Join(errs...)
}
