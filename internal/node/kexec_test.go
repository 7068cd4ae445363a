package node_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/initramfs/kmod/kmodtest"
	"github.com/cairnlinux/cairn/internal/kexec"
	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/node"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
)

// fakeKexec records what a switch --now --kexec asks of the kernel.
type fakeKexec struct {
	availableErr, loadErr, detachErr error
	loaded                           []kexec.Image
	kernels                          []string // the loaded kernels' contents
	unloads                          int
	detached                         [][]string
}

func (f *fakeKexec) Available() error { return f.availableErr }
func (f *fakeKexec) Load(img kexec.Image) error {
	b, err := os.ReadFile(img.Kernel)
	if err != nil {
		return err
	}
	if _, err := os.Stat(img.Initrd); err != nil {
		return err
	}
	f.loaded = append(f.loaded, img)
	f.kernels = append(f.kernels, string(b))
	return f.loadErr
}
func (f *fakeKexec) Unload() error { f.unloads++; return nil }
func (f *fakeKexec) Detach(argv []string) error {
	f.detached = append(f.detached, argv)
	return f.detachErr
}

// kexecNode is a running node on generation 1 (the default) whose
// generation 2 runs another kernel than the host's: modules for a
// release no kernel has.
func kexecNode(t *testing.T) (node.StoreOptions, string) {
	t.Helper()
	o, bootDir := newNode(t, true)
	ss := open(t, o)
	tr := tree(2, false)
	tr["boot/vmlinuz-virt"] = "generation 2's kernel\n"
	// Modules of a release no kernel has: what the initramfs wants is
	// built in, and one module file stands for the rest.
	tr["lib/modules/0.0.0-other/modules.builtin"] = "kernel/drivers/block/virtio_blk.ko\nkernel/fs/btrfs/btrfs.ko\n"
	tr["lib/modules/0.0.0-other/kernel/drivers/misc/other.ko"] = string(kmodtest.FakeModule("name=other"))
	storetest.Build(t, ss.Store, tr, store.Meta{Created: epoch.Add(2), Kernel: "linux-virt 0.0.0-r0"})
	if _, err := ss.BootSync(); err != nil { // as a build does
		t.Fatal(err)
	}
	ss.Close()
	booted(t, o, 1)
	run := layout.InTree(o.System, layout.RunStore)
	if err := os.Symlink(o.Dir, run); err != nil {
		t.Fatal(err)
	}
	return o, bootDir
}

// TestLiveKexec: switch --now --kexec to a generation with another kernel
// makes it the trial, loads what the loader's first entry boots and
// starts the reboot command; anything failing before the reboot puts the
// state and the entries back as they were.
func TestLiveKexec(t *testing.T) {
	reboot := []string{"/usr/sbin/cairn", "boot", "kexec-reboot"}
	t.Run("refused without --kexec", func(t *testing.T) {
		o, _ := kexecNode(t)
		ss := open(t, o)
		defer ss.Close()
		f := &fakeKexec{}
		_, err := ss.Live(context.Background(), node.LiveRequest{Generation: 2, KexecSystem: f})
		if err == nil || !strings.Contains(err.Error(), "--kexec") {
			t.Errorf("switch --now to another kernel: %v, want a refusal that names --kexec", err)
		}
		if len(f.loaded)+len(f.detached) > 0 {
			t.Errorf("without --kexec something was loaded or started: %+v", f)
		}
	})
	t.Run("loaded and started", func(t *testing.T) {
		o, bootDir := kexecNode(t)
		ss := open(t, o)
		defer ss.Close()
		f := &fakeKexec{}
		rep, err := ss.Live(context.Background(), node.LiveRequest{Generation: 2, Kexec: true, KexecReboot: reboot, KexecSystem: f})
		if err != nil {
			t.Fatal(err)
		}
		if len(f.loaded) != 1 || f.kernels[0] != "generation 2's kernel\n" || !strings.HasPrefix(f.loaded[0].Kernel, bootDir) {
			t.Fatalf("loaded %+v (%q), want generation 2's kernel from the boot directory", f.loaded, f.kernels)
		}
		if conf := entries(t, bootDir); !strings.Contains(conf, "APPEND "+f.loaded[0].Cmdline+"\n") || !strings.Contains(f.loaded[0].Cmdline, "cairn.default=1") {
			t.Errorf("command line %q is not the first entry's:\n%s", f.loaded[0].Cmdline, conf)
		}
		if len(f.detached) != 1 || strings.Join(f.detached[0], " ") != strings.Join(reboot, " ") {
			t.Errorf("started %q, want %q", f.detached, reboot)
		}
		if rep.State.Trial != (store.Trial{Generation: 2, TriesLeft: 1}) || rep.State.Default != 1 || rep.Kexec == nil || rep.Kexec.Kernel != "linux-virt 0.0.0-r0" {
			t.Errorf("report %+v", rep)
		}
	})
	for _, tc := range []struct {
		name    string
		f       *fakeKexec
		unloads int
	}{
		{"no kexec", &fakeKexec{availableErr: kexec.ErrUnavailable}, 0},
		{"load refused", &fakeKexec{loadErr: errors.New("EPERM")}, 0},
		{"reboot not started", &fakeKexec{detachErr: errors.New("no such file")}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, bootDir := kexecNode(t)
			before, _, _ := layout.ReadState(o.Dir)
			conf := entries(t, bootDir)
			ss := open(t, o)
			defer ss.Close()
			_, err := ss.Live(context.Background(), node.LiveRequest{Generation: 2, Kexec: true, KexecReboot: reboot, KexecSystem: tc.f})
			if err == nil {
				t.Fatal("succeeded")
			}
			if tc.f.availableErr == nil && !strings.Contains(err.Error(), "the next boot is as it was") {
				t.Errorf("error %q does not say the next boot is as it was", err)
			}
			after, _, _ := layout.ReadState(o.Dir)
			if after.Default != before.Default || after.Trial != before.Trial {
				t.Errorf("state %+v after the failure, %+v before", after, before)
			}
			if got := entries(t, bootDir); got != conf {
				t.Errorf("boot entries changed:\n%s\nbefore:\n%s", got, conf)
			}
			if tc.f.unloads != tc.unloads {
				t.Errorf("%d unloads, want %d", tc.f.unloads, tc.unloads)
			}
		})
	}
}
