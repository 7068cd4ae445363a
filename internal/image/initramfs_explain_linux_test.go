//go:build linux

package image

import (
	"context"
	"strings"
	"testing"
)

// installedText is lib/apk/db/installed of the explained tree: busybox
// owns bin/busybox and bin/sh, linux-virt its module.
const installedText = `P:busybox
V:1.36.1-r15
A:x86_64
I:1000000
T:Size optimized toolbox
F:bin
R:busybox
R:sh

P:linux-virt
V:6.6.58-r0
A:x86_64
I:30000000
T:Linux kernel
F:boot
R:vmlinuz-virt
F:lib/firmware
R:big.bin

P:alpine-baselayout-data
V:3.4.3-r2
A:x86_64
I:100
T:Alpine base dir structure
F:etc
R:hostname

`

func TestInitramfsExplain(t *testing.T) {
	b := ramTree(t)
	b.file("lib/apk/db/installed", []byte(installedText), 0o644)
	b.file("lib/firmware/big.bin", make([]byte, 3000), 0o644)
	b.file("etc/hostname", []byte("t\n"), 0o644)
	b.file("var/lib/blob", make([]byte, 2000), 0o644)
	f := Initramfs{Kernel: b.path("boot/vmlinuz-virt")}
	ex, err := f.Explain(context.Background(), Source{Root: b.root, Epoch: testEpoch}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Packages) != 3 || ex.Packages[0].Name != "linux-virt" || ex.Packages[0].Bytes != 3000 || ex.Packages[0].Files != 1 ||
		ex.Packages[0].InstalledSize != 30000000 || ex.Packages[1].Name != "busybox" || ex.Packages[2].Name != "alpine-baselayout-data" {
		t.Errorf("packages %+v", ex.Packages)
	}
	// bin/sh is a symlink in the tree: no bytes of its own.
	if ex.Packages[1].Files != 1 || ex.Packages[1].Bytes != int64(len("\x7fELF busybox")) {
		t.Errorf("busybox %+v", ex.Packages[1])
	}
	if len(ex.Largest) != 2 || ex.Largest[0].Path != "lib/firmware/big.bin" || ex.Largest[0].Package != "linux-virt" ||
		ex.Largest[1].Path != "var/lib/blob" || ex.Largest[1].Package != "" {
		t.Errorf("largest %+v", ex.Largest)
	}
	if len(ex.LeftOut) != 1 || ex.LeftOut[0].Path != "boot/vmlinuz-virt" || ex.LeftOut[0].Package != "linux-virt" {
		t.Errorf("left out %+v", ex.LeftOut)
	}
	if len(ex.Added) != 1 || ex.Added[0].Path != "usr/lib/cairn/ram/modules" {
		t.Errorf("added %+v", ex.Added)
	}
	var sum int64
	files := 0
	for _, p := range append(ex.Packages, ex.Unowned) {
		sum += p.Bytes
		files += p.Files
	}
	sum += ex.Added[0].Bytes
	if sum != ex.Bytes || files+1 != ex.Files {
		t.Errorf("packages and the rest add up to %d bytes in %d files, the total is %d in %d", sum, files+1, ex.Bytes, ex.Files)
	}
	// usr/lib/b is a second name of usr/lib/a: stored, and counted, twice.
	var text strings.Builder
	if err := ex.WriteText(&text, 2); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"The archive holds 15 files,",
		"Left out: /boot/vmlinuz-virt (10 B), a kernel image the loader loads, not the system.",
		"Largest packages (of 3):",
		"linux-virt 6.6.58-r0",
		"1 more",
		"(no package)",
		"/var/lib/blob",
		"Added by the image: 1 file,",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	t.Logf("\n%s", text.String())

	b.file("lib/apk/db/installed", []byte("P:broken\n"), 0o644)
	if _, err := f.Explain(context.Background(), Source{Root: b.root, Epoch: testEpoch}, 2); err == nil || !strings.Contains(err.Error(), "/lib/apk/db/installed") {
		t.Errorf("a broken package database: %v", err)
	}
}
