package powercut

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
)

func image(t *testing.T, size int64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, size); err != nil {
		t.Fatal(err)
	}
	return p
}

func open(t *testing.T, p string) *Disk {
	t.Helper()
	d, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func fileBytes(t *testing.T, p string, off, n int64) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b[off : off+n]
}

// TestWriteCache: the guest reads what it wrote; the image holds it only
// once flushed; a cut keeps all, none or some of the unflushed writes,
// and always the FUA ones.
func TestWriteCache(t *testing.T) {
	p := image(t, 1<<20)
	d := open(t, p)
	a := bytes.Repeat([]byte("a"), 1024)
	if err := d.pendWrite(a, 4096, false); err != nil {
		t.Fatal(err)
	}
	// A write inside a sector keeps the sector's other bytes.
	if err := d.pendWrite([]byte("bb"), 4096+10, false); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 1030)
	if err := d.read(got, 4093); err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte{0, 0, 0}, a[:10]...), append([]byte("bb"), a[12:]...)...)
	want = append(want, 0, 0, 0)
	if !bytes.Equal(got, want) {
		t.Fatalf("the guest reads %q", got)
	}
	if !bytes.Equal(fileBytes(t, p, 4096, 1024), make([]byte, 1024)) {
		t.Fatal("an unflushed write reached the image")
	}
	if err := d.flush(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fileBytes(t, p, 4093, 1030), want) {
		t.Fatal("a flushed write did not reach the image")
	}

	rng := rand.New(rand.NewPCG(1, 2))
	c := bytes.Repeat([]byte("c"), 512)
	d.pendWrite(c, 8192, false)
	d.pendWrite(c, 16384, true) // FUA
	if err := d.Cut(rng, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fileBytes(t, p, 8192, 512), make([]byte, 512)) || !bytes.Equal(fileBytes(t, p, 16384, 512), c) {
		t.Fatal("a cut keeping nothing: the unflushed write survived or the FUA write was lost")
	}
	kept, before := 0, d.Stats().Kept
	for i := range 64 {
		d.pendWrite(c, int64(32768+512*i), false)
	}
	d.Cut(rng, 0.5)
	for i := range 64 {
		if bytes.Equal(fileBytes(t, p, int64(32768+512*i), 512), c) {
			kept++
		}
	}
	if kept == 0 || kept == 64 || d.Stats().Kept-before != kept {
		t.Fatalf("a cut keeping half: %d of 64 writes kept (stats %+v)", kept, d.Stats())
	}
}

// TestQEMUSpeaksIt: qemu's own NBD client (qemu-io) writes, flushes and
// reads through the server; what it wrote without flushing is lost in a
// cut.
func TestQEMUSpeaksIt(t *testing.T) {
	qemuIO := debtest.Tool(t, "qemu-io", "qemu-utils")
	p := image(t, 4<<20)
	d := open(t, p)
	addr, err := d.Listen()
	if err != nil {
		t.Fatal(err)
	}
	run := func(cmds ...string) string {
		t.Helper()
		args := []string{"-f", "raw"}
		for _, c := range cmds {
			args = append(args, "-c", c)
		}
		out, err := exec.Command(qemuIO, append(args, addr)...).CombinedOutput()
		if err != nil || strings.Contains(string(out), "error") {
			t.Fatalf("qemu-io %q: %v\n%s", cmds, err, out)
		}
		return string(out)
	}
	run("write -P 0x61 0 64k", "flush", "write -P 0x62 1M 64k", "read -P 0x62 1M 64k", "read -P 0x61 0 64k")
	// qemu-io flushes when it closes the disk: nothing is lost yet.
	if !bytes.Equal(fileBytes(t, p, 1<<20, 65536), bytes.Repeat([]byte{0x62}, 65536)) {
		t.Fatal("qemu-io's writes did not reach the image")
	}
	if d.Stats().Flushes == 0 {
		t.Fatal("qemu-io sent no flush")
	}
}
