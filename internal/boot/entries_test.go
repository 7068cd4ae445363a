package boot

import (
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func testMenu() Menu {
	opts := "root=UUID=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 rootfstype=btrfs console=ttyS0 quiet"
	return Menu{
		Timeout: 3,
		Serial:  true,
		Entries: []Entry{
			{ID: "cairn", Title: "Alpine (cairn: next boot, generation 3)", Kernel: "/cairn/vmlinuz-6f1a2b3c4d5e", Initrd: "/cairn/initrd-0a1b2c3d4e5f", Options: opts, Generation: 3},
			{ID: "cairn-3", Title: "Alpine (cairn generation 3, node-1's web tier)", Kernel: "/cairn/vmlinuz-6f1a2b3c4d5e", Initrd: "/cairn/initrd-0a1b2c3d4e5f", Options: opts + " cairn.gen=3", Generation: 3},
			{ID: "cairn-2", Title: "Alpine (cairn generation 2, it's old)", Kernel: "/cairn/vmlinuz-aabbccddeeff", Initrd: "/cairn/initrd-112233445566", Options: opts + " cairn.gen=2", Generation: 2},
		},
	}
}

// TestRenderGolden compares each loader's files with testdata/<loader>/.
func TestRenderGolden(t *testing.T) {
	for _, loader := range []string{Extlinux, Grub, SystemdBoot} {
		t.Run(loader, func(t *testing.T) {
			files, err := Render(loader, testMenu())
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join("testdata", loader)
			if *update {
				os.RemoveAll(dir)
				for name, data := range files {
					os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
					if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			var golden []string
			filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(dir, p)
					golden = append(golden, rel)
				}
				return nil
			})
			var got []string
			for name := range files {
				got = append(got, name)
			}
			sort.Strings(got)
			sort.Strings(golden)
			if strings.Join(got, " ") != strings.Join(golden, " ") {
				t.Fatalf("files %v, golden %v (go test -update rewrites them)", got, golden)
			}
			for name, data := range files {
				want, _ := os.ReadFile(filepath.Join(dir, name))
				if string(data) != string(want) {
					t.Errorf("%s differs from the golden file:\n%s", name, data)
				}
			}
		})
	}
}

func TestRenderRefuses(t *testing.T) {
	if _, err := Render("lilo", testMenu()); err == nil || !strings.Contains(err.Error(), "unknown loader") {
		t.Errorf("unknown loader: %v", err)
	}
	if _, err := Render(Extlinux, Menu{}); err == nil {
		t.Error("an empty menu was rendered")
	}
	m := testMenu()
	m.Entries[1].Options += "\nLABEL evil"
	if _, err := Render(Extlinux, m); err == nil {
		t.Error("a line break in the options was rendered")
	}
}
