package cairninit

import (
	"reflect"
	"strings"
	"testing"
)

func TestChooseMode(t *testing.T) {
	cases := []struct {
		name     string
		line     string
		ramImage bool
		want     Mode
		note     string // a substring of Note, "" for none
		problem  string // a substring of Problem, "" for none
	}{
		{name: "RAM image, no root=", line: "console=ttyS0", ramImage: true, want: RAMMode},
		{name: "RAM image, cairn.ram", line: "cairn.ram", ramImage: true, want: RAMMode},
		{name: "RAM image, cairn.ram=0 and no root=", line: "cairn.ram=0", ramImage: true, want: RAMMode},
		{name: "RAM image, root= boots the store", line: "root=LABEL=cairn", ramImage: true, want: StoreMode, note: "add cairn.ram"},
		{name: "RAM image, root= and cairn.ram", line: "root=LABEL=cairn cairn.ram", ramImage: true, want: RAMMode, note: "root=LABEL=cairn is not used"},
		{name: "RAM image, root= and cairn.ram=no", line: "root=LABEL=cairn cairn.ram=no", ramImage: true, want: StoreMode, note: "add cairn.ram"},
		{name: "store initramfs", line: "root=LABEL=cairn", want: StoreMode},
		{name: "store initramfs, no root=", line: "", want: StoreMode},
		{name: "store initramfs, cairn.ram", line: "root=LABEL=cairn cairn.ram", want: StoreMode, problem: "holds no system"},
		{name: "store initramfs, cairn.ram, no root=", line: "cairn.ram=1", want: StoreMode, problem: "holds no system"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ChooseMode(ParseCmdline(c.line), c.ramImage)
			if got.Mode != c.want {
				t.Errorf("mode %s, want %s", got.Mode, c.want)
			}
			if (c.note == "") != (got.Note == "") || !strings.Contains(got.Note, c.note) {
				t.Errorf("note %q, want one with %q", got.Note, c.note)
			}
			if (c.problem == "") != (got.Problem == "") || !strings.Contains(got.Problem, c.problem) {
				t.Errorf("problem %q, want one with %q", got.Problem, c.problem)
			}
		})
	}
}

func TestParseCmdlineRAM(t *testing.T) {
	cases := []struct {
		line    string
		ram     bool
		persist string
		problem string
	}{
		{line: "cairn.ram cairn.persist=LABEL=data", ram: true, persist: "LABEL=data"},
		{line: "cairn.persist=UUID=2DF710A3-B706-4CEE-8C09-217CBDBAE791", persist: "UUID=2DF710A3-B706-4CEE-8C09-217CBDBAE791"},
		{line: "cairn.persist=/dev/vdb cairn.ram=yes", ram: true, persist: "/dev/vdb"},
		{line: `cairn.persist="LABEL=my data"`, persist: "LABEL=my data"},
		{line: "cairn.persist=LABEL=a cairn.persist=LABEL=b", persist: "LABEL=b"},
		{line: "cairn.persist=PARTUUID=1234", problem: "cairn.persist=PARTUUID=1234: cairn-init understands cairn.persist=UUID=…, cairn.persist=LABEL=… and cairn.persist=/dev/… (ignored: nothing persists)"},
		{line: "cairn.persist=UUID=12", problem: "cairn.persist=UUID=12: a UUID has 32 hexadecimal digits (ignored: nothing persists)"},
		{line: "cairn.persist", problem: "cairn.persist=: no device"},
		{line: "cairn.persist=LABEL=ok cairn.persist=LABEL=", persist: "LABEL=ok", problem: "cairn.persist=LABEL=: empty label"},
	}
	for _, c := range cases {
		got := ParseCmdline(c.line)
		if got.RAM != c.ram || got.Persist != c.persist {
			t.Errorf("ParseCmdline(%q): ram %v persist %q, want %v %q", c.line, got.RAM, got.Persist, c.ram, c.persist)
		}
		problems := strings.Join(got.Problems, "\n")
		if (c.problem == "") != (problems == "") || !strings.Contains(problems, c.problem) {
			t.Errorf("ParseCmdline(%q): problems %q, want %q", c.line, problems, c.problem)
		}
	}
}

func TestModuleList(t *testing.T) {
	good := map[string]ModuleList{
		"":                  {},
		"# nothing\n\n":     {},
		"kernel 6.1.0-56\n": {Kernel: "6.1.0-56"},
		"kernel 6.6.58-virt\n/lib/modules/6.6.58-virt/kernel/fs/btrfs/btrfs.ko\n  /usr/lib/cairn/ram/modules.d/virtio_blk.ko  \n": {
			Kernel: "6.6.58-virt", Paths: []string{"/lib/modules/6.6.58-virt/kernel/fs/btrfs/btrfs.ko", "/usr/lib/cairn/ram/modules.d/virtio_blk.ko"},
		},
	}
	for in, want := range good {
		got, err := ReadModuleList(strings.NewReader(in))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ReadModuleList(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		back, err := ReadModuleList(strings.NewReader(string(FormatModuleList(want))))
		if err != nil || !reflect.DeepEqual(back, want) {
			t.Errorf("FormatModuleList(%+v) reads back as %+v, %v", want, back, err)
		}
	}
	for _, bad := range []string{
		"/lib/modules/x/a.ko\n",             // no kernel line
		"kernel a\nkernel b\n",              // two
		"kernel a\nlib/modules/a/x.ko\n",    // relative
		"kernel a\n/lib/modules/../x.ko\n",  // unclean
		"kernel a\n/lib/modules//a/x.ko\n",  // unclean
		"kernel a\n/lib/modules/a/x.ko/\n",  // unclean
		"kernel a\n/lib/modules/a/./x.ko\n", // unclean
	} {
		if l, err := ReadModuleList(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadModuleList(%q) accepted: %+v", bad, l)
		}
	}
}

func TestRunRAM(t *testing.T) {
	t.Run("persistence found", func(t *testing.T) {
		f := &fakeMachine{t: t, ram: true, cmdline: "console=ttyS0 cairn.persist=LABEL=data rootflags=size=60%"}
		sw, console, _ := runFake(t, f)
		if sw.init != "/sbin/init" || len(sw.args) != 1 {
			t.Errorf("switched to %+v", sw)
		}
		wantCalls(t, f, "mount kernel fs", "load modules", `prepare ram "size=60%"`, "find LABEL=data within 30s",
			"persist /dev/vdb ext4", `switch ram /sbin/init ["single"]`)
		for _, line := range []string{
			"cairn-init: persistence on /dev/vdb (ext4 LABEL=data)\n",
			"cairn-init: starting /sbin/init from RAM, 1.50 s after the kernel started\n",
		} {
			if !strings.Contains(console, line) {
				t.Errorf("console lacks %q:\n%s", line, console)
			}
		}
	})
	t.Run("no persistence declared", func(t *testing.T) {
		f := &fakeMachine{t: t, ram: true, cmdline: "init=/bin/sh quiet"}
		sw, console, _ := runFake(t, f)
		if sw.init != "/bin/sh" {
			t.Errorf("switched to %+v", sw)
		}
		wantCalls(t, f, "mount kernel fs", "load modules", `prepare ram ""`, `switch ram /bin/sh ["single"]`)
		// Not said when quiet: keeping nothing may be what the operator
		// wants.
		if console != "" {
			t.Errorf("quiet console:\n%s", console)
		}
		f = &fakeMachine{t: t, ram: true}
		if _, console, _ = runFake(t, f); !strings.Contains(console, "cairn-init: no cairn.persist= on the kernel command line: the persistent directories stay in RAM: what is written there is lost at shutdown\n") {
			t.Errorf("console:\n%s", console)
		}
	})
	t.Run("persistence device missing", func(t *testing.T) {
		f := &fakeMachine{t: t, ram: true, cmdline: "cairn.persist=LABEL=data cairn.rootwait=2", findFails: 1}
		sw, console, _ := runFake(t, f)
		if sw.init != "/sbin/init" {
			t.Errorf("switched to %+v", sw)
		}
		wantCalls(t, f, "mount kernel fs", "load modules", `prepare ram ""`, "find LABEL=data within 2s", `switch ram /sbin/init ["single"]`)
		if !strings.Contains(console, "cairn-init: persistence device LABEL=data: not found: the persistent directories stay in RAM") {
			t.Errorf("console:\n%s", console)
		}
	})
	t.Run("persistence device does not mount", func(t *testing.T) {
		f := &fakeMachine{t: t, ram: true, cmdline: "cairn.persist=LABEL=data", persistFails: 1}
		sw, console, _ := runFake(t, f)
		if sw.init != "/sbin/init" {
			t.Errorf("switched to %+v", sw)
		}
		if !strings.Contains(console, "cairn-init: persistence device LABEL=data on /dev/vdb: wrong fs type: the persistent directories stay in RAM") {
			t.Errorf("console:\n%s", console)
		}
	})
	t.Run("a bad cairn.persist= is reported once, nothing persists", func(t *testing.T) {
		f := &fakeMachine{t: t, ram: true, cmdline: "cairn.persist=sdb1"}
		_, console, _ := runFake(t, f)
		wantCalls(t, f, "mount kernel fs", "load modules", `prepare ram ""`, `switch ram /sbin/init ["single"]`)
		if !strings.Contains(console, "kernel command line: cairn.persist=sdb1: cairn-init understands") {
			t.Errorf("console:\n%s", console)
		}
	})
	t.Run("root= boots the store instead", func(t *testing.T) {
		top := fakeStore(t, []int{1}, `{"default": 1, "booted": 1}`)
		f := &fakeMachine{t: t, ram: true, top: top, cmdline: root + " cairn.persist=LABEL=data"}
		sw, console, _ := runFake(t, f)
		if sw.gen != 1 {
			t.Errorf("switched to %+v", sw)
		}
		wantCalls(t, f, "mount kernel fs", "load modules", "find LABEL=cairn within 30s", `mount /dev/vda btrfs ""`, "grow /dev/vda", "prepare 1", `switch 1 /sbin/init ["single"]`)
		if !strings.Contains(console, "cairn-init: root= given: booting the store's generations") {
			t.Errorf("console:\n%s", console)
		}
	})
	t.Run("cairn.ram wins over root=", func(t *testing.T) {
		f := &fakeMachine{t: t, ram: true, cmdline: root + " cairn.ram"}
		runFake(t, f)
		wantCalls(t, f, "mount kernel fs", "load modules", `prepare ram ""`, `switch ram /sbin/init ["single"]`)
	})
	t.Run("cairn.ram without a system in the initramfs", func(t *testing.T) {
		top := fakeStore(t, []int{1}, `{"default": 1, "booted": 1}`)
		f := &fakeMachine{t: t, top: top, cmdline: root + " cairn.ram"}
		sw, console, _ := runFake(t, f)
		if sw.gen != 1 {
			t.Errorf("switched to %+v", sw)
		}
		if !strings.Contains(console, "cairn-init: cairn.ram: this initramfs holds no system") {
			t.Errorf("console:\n%s", console)
		}
	})
	t.Run("cannot prepare, no shell", func(t *testing.T) {
		f := &fakeMachine{t: t, ram: true, cmdline: "", ramFails: 5}
		sw, console, err := runFake(t, f)
		if sw.init != "" || err == nil {
			t.Fatalf("switched to %+v, err %v", sw, err)
		}
		wantCalls(t, f, "mount kernel fs", "load modules", `prepare ram ""`, "shell", "halt")
		for _, line := range []string{
			"cairn-init: cannot start the system from RAM: no space left on device\n",
			"cairn-init: the initramfs has no shell (/bin/sh); halting\n",
		} {
			if !strings.Contains(console, line) {
				t.Errorf("console lacks %q:\n%s", line, console)
			}
		}
	})
	t.Run("cannot prepare, the shell, then it starts", func(t *testing.T) {
		f := &fakeMachine{t: t, ram: true, cmdline: "cairn.persist=LABEL=data", ramFails: 1, shells: []func() error{func() error { return nil }}}
		sw, _, _ := runFake(t, f)
		if sw.init != "/sbin/init" {
			t.Fatalf("switched to %+v", sw)
		}
		wantCalls(t, f, "mount kernel fs", "load modules", `prepare ram ""`, "shell", `prepare ram ""`,
			"find LABEL=data within 30s", "persist /dev/vdb ext4", `switch ram /sbin/init ["single"]`)
	})
	t.Run("cairn.break", func(t *testing.T) {
		f := &fakeMachine{t: t, ram: true, cmdline: "cairn.break cairn.persist=LABEL=data", shells: []func() error{func() error { return nil }}}
		sw, console, _ := runFake(t, f)
		if sw.init != "/sbin/init" {
			t.Fatalf("switched to %+v", sw)
		}
		wantCalls(t, f, "mount kernel fs", "load modules", `prepare ram ""`, "find LABEL=data within 30s", "persist /dev/vdb ext4",
			"shell", `switch ram /sbin/init ["single"]`)
		if !strings.Contains(console, "cairn.break: starting a shell; the system is at /sysroot") {
			t.Errorf("console:\n%s", console)
		}
	})
}
