package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestQEMUArgs(t *testing.T) {
	args, err := Config{
		Kernel: "/k", Initrd: "/i", Append: "console=ttyS0 quiet",
		Disks:    []Disk{{Path: "/a.img"}, {Path: "/b.qcow2", Format: "qcow2", Interface: "nvme", Snapshot: true}, {Path: "/c.img", Interface: "scsi", ReadOnly: true}},
		NoReboot: true, MemoryMiB: 256, Args: []string{"-rtc", "base=utc"},
	}.QEMUArgs()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"-nodefaults", "-no-user-config", "-accel", "tcg,tb-size=64", "-m", "256", "-smp", "1",
		"-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot",
		"-kernel", "/k", "-initrd", "/i", "-append", "console=ttyS0 quiet",
		"-drive", "file=/a.img,format=raw,if=none,id=disk0", "-device", "virtio-blk-pci,drive=disk0",
		"-drive", "file=/b.qcow2,format=qcow2,if=none,id=disk1,snapshot=on", "-device", "nvme,drive=disk1,serial=cairn1",
		"-drive", "file=/c.img,format=raw,if=none,id=disk2,readonly=on", "-device", "virtio-scsi-pci,id=scsi2", "-device", "scsi-hd,drive=disk2,bus=scsi2.0",
		"-rtc", "base=utc",
	}
	if !reflect.DeepEqual(args, want) {
		t.Errorf("args:\n%q\nwant\n%q", args, want)
	}
	args, err = Config{Net: true}.QEMUArgs()
	if err != nil || !strings.Contains(strings.Join(args, " "), "-netdev user,id=net0 -device virtio-net-pci,netdev=net0") {
		t.Errorf("a NIC without forwards: %q %v", args, err)
	}
	args, err = Config{Forwards: []Forward{{HostPort: 2222, GuestPort: 22}, {Proto: "udp", HostAddr: "0.0.0.0", HostPort: 5353, GuestPort: 53}}}.QEMUArgs()
	if err != nil || !strings.Contains(strings.Join(args, " "), "-netdev user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=udp:0.0.0.0:5353-:53 -device virtio-net-pci,netdev=net0") {
		t.Errorf("forwards: %q %v", args, err)
	}
	if args, _ := (Config{}).QEMUArgs(); strings.Contains(strings.Join(args, " "), "net") {
		t.Errorf("a NIC nobody asked for: %q", args)
	}
	for _, bad := range []Config{
		{Initrd: "/i"},
		{Disks: []Disk{{}}},
		{Disks: []Disk{{Path: "/a,b"}}},
		{Disks: []Disk{{Path: "/a", Interface: "floppy"}}},
		{Forwards: []Forward{{GuestPort: 22}}}, // Start chooses the port; QEMUArgs cannot
		{Forwards: []Forward{{HostPort: 2222, GuestPort: 22}, {HostPort: 2222, GuestPort: 23}}},
		{Forwards: []Forward{{HostPort: 2222, GuestPort: 22, HostAddr: "::1"}}},
	} {
		if _, err := bad.QEMUArgs(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestParseForward(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Forward
		err  string
	}{
		{in: "2222:22", want: Forward{HostPort: 2222, GuestPort: 22}},
		{in: "tcp:2222:22", want: Forward{Proto: "tcp", HostPort: 2222, GuestPort: 22}},
		{in: "udp:5353:53", want: Forward{Proto: "udp", HostPort: 5353, GuestPort: 53}},
		{in: "0.0.0.0:8080:80", want: Forward{HostAddr: "0.0.0.0", HostPort: 8080, GuestPort: 80}},
		{in: "udp:127.0.0.2:0:53", want: Forward{Proto: "udp", HostAddr: "127.0.0.2", GuestPort: 53}},
		{in: "0:22", want: Forward{GuestPort: 22}},
		{in: "22", err: "HOSTPORT:GUESTPORT"},
		{in: "a:b:c:d", err: "HOSTPORT:GUESTPORT"},
		{in: "ssh:22", err: `host port "ssh" is not a number`},
		{in: "2222:ssh", err: `guest port "ssh" is not a number`},
		{in: "2222:0", err: "guest port 0"},
		{in: "70000:22", err: "host port 70000"},
		{in: "sctp:1:2", err: `host address "sctp"`},
		{in: "localhost:2222:22", err: "IPv4 address"},
		{in: "[::1]:2222:22", err: "HOSTPORT:GUESTPORT"},
	} {
		got, err := ParseForward(c.in)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want one saying %q", c.in, err, c.err)
			}
		case err != nil:
			t.Errorf("%q: %v", c.in, err)
		case got != c.want:
			t.Errorf("%q: %+v, want %+v", c.in, got, c.want)
		}
	}
	if s := (Forward{HostPort: 2222, GuestPort: 22}).String(); s != "tcp 127.0.0.1:2222 -> guest port 22" {
		t.Errorf("String: %q", s)
	}
}

// TestStartChoosesPorts: host ports of 0 become free ports, distinct, on
// qemu's command line and in Forwards.
func TestStartChoosesPorts(t *testing.T) {
	v, err := Start(context.Background(), Config{
		QEMU:     fakeQEMU(t, `echo "$@"; exec cat`),
		Forwards: []Forward{{GuestPort: 22}, {GuestPort: 80}, {HostPort: 1, GuestPort: 443}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	fw := v.Forwards()
	if len(fw) != 3 || fw[0].HostPort == 0 || fw[1].HostPort == 0 || fw[0].HostPort == fw[1].HostPort || fw[2].HostPort != 1 {
		t.Fatalf("forwards %+v", fw)
	}
	want := fmt.Sprintf("hostfwd=tcp:127.0.0.1:%d-:22,hostfwd=tcp:127.0.0.1:%d-:80,hostfwd=tcp:127.0.0.1:1-:443", fw[0].HostPort, fw[1].HostPort)
	if err := v.ExpectString(want, 10*time.Second); err != nil {
		t.Error(err)
	}
}

// syncBuffer is a bytes.Buffer safe to read while the machine writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLogStreams: the log gets the console's output as it comes, a prompt
// without a newline included, by the time Expect has seen it.
func TestLogStreams(t *testing.T) {
	var log syncBuffer
	v, err := Start(context.Background(), Config{QEMU: fakeQEMU(t, `printf 'booting\r\nnode login: '; exec cat`), Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	if _, err := v.Expect(regexp.MustCompile(`login: $`), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := log.String(); got != "booting\r\nnode login: " {
		t.Errorf("log %q, want the output as it came", got)
	}
	v.Send("root\n")
	if err := v.ExpectString("root", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := log.String(); got != "booting\r\nnode login: root\n" {
		t.Errorf("log %q after typing", got)
	}
}

// fakeQEMU writes a shell script standing in for qemu.
func fakeQEMU(t *testing.T, script string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "qemu")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func start(t *testing.T, script string) *VM {
	t.Helper()
	v, err := Start(context.Background(), Config{QEMU: fakeQEMU(t, script)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func TestExpect(t *testing.T) {
	// Lines with carriage returns, a prompt without a newline, then the
	// machine waits for input (cat).
	v := start(t, `printf 'Linux version 6.1\r\nGENERATION 2 UP\r\nsecond 2\nlogin: '; exec cat`)
	m, err := v.Expect(regexp.MustCompile(`^GENERATION (\d+) UP$`), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m[1] != "2" {
		t.Errorf("submatch %q", m)
	}
	// Consumed: the same line does not match again, the next does.
	if _, err := v.Expect(regexp.MustCompile(`GENERATION|second`), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := v.ExpectString("login: ", 10*time.Second); err != nil {
		t.Fatalf("prompt: %v", err)
	}
	// Typing on the console: cat echoes it.
	if err := v.Send("root\n"); err != nil {
		t.Fatal(err)
	}
	if err := v.ExpectString("root", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := v.Lines(); len(got) != 4 || got[3] != "login: root" || got[0] != "Linux version 6.1" {
		t.Errorf("lines %q", got)
	}
	var te *TimeoutError
	if _, err := v.Expect(regexp.MustCompile(`never`), 100*time.Millisecond); !errors.As(err, &te) {
		t.Errorf("want a timeout, got %v", err)
	} else if !strings.Contains(err.Error(), "login: root") {
		t.Errorf("the timeout does not quote the console: %v", err)
	}
	pid := v.Pid()
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("qemu (pid %d) still there after Close: %v", pid, err)
	}
	if err := v.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestExpectExited(t *testing.T) {
	v := start(t, `echo "Kernel panic - not syncing: Attempted to kill init!"; echo oops >&2; exit 3`)
	_, err := v.Expect(regexp.MustCompile(`GENERATION`), 10*time.Second)
	var ee *ExitedError
	if !errors.As(err, &ee) {
		t.Fatalf("want an exit error, got %v", err)
	}
	if !strings.Contains(err.Error(), "Attempted to kill init") || !strings.Contains(err.Error(), "qemu: oops") {
		t.Errorf("exit error does not quote console and stderr: %v", err)
	}
	if err := v.Wait(10 * time.Second); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("Wait: %v", err)
	}
	// Lines already there still match after the exit.
	if err := v.ExpectString("Kernel panic", time.Second); err != nil {
		t.Errorf("after exit: %v", err)
	}
}

func TestWaitTimeout(t *testing.T) {
	v := start(t, `exec cat`)
	var te *TimeoutError
	if err := v.Wait(50 * time.Millisecond); !errors.As(err, &te) {
		t.Errorf("want a timeout, got %v", err)
	}
}

func TestStartErrors(t *testing.T) {
	if _, err := Start(context.Background(), Config{QEMU: filepath.Join(t.TempDir(), "none")}); err == nil {
		t.Error("started a missing qemu")
	}
	if _, err := Start(context.Background(), Config{Append: "x"}); err == nil {
		t.Error("started with a command line and no kernel")
	}
}

func TestContextKills(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	v, err := Start(ctx, Config{QEMU: fakeQEMU(t, `echo ready; exec cat`)})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.ExpectString("ready", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := v.Wait(10 * time.Second); err == nil {
		t.Error("qemu exited cleanly after its context ended")
	}
}
