package image

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
)

// TestDiskPlanLayout checks the layout decisions on a device of a given
// size: partitions aligned to MiB, the store to the last whole MiB, the
// identifiers a function of the seed, UEFI alone on a machine without a
// BIOS.
func TestDiskPlanLayout(t *testing.T) {
	debtest.Tool(t, "mkfs.btrfs", "btrfs-progs")
	gen := e2etest.FakeGeneration(t)
	efi := filepath.Join(t.TempDir(), "systemd-bootaa64.efi")
	os.WriteFile(efi, []byte("MZ"), 0o644)
	d := Disk{Firmware: []string{UEFI}, Seed: "s", RootBy: "label", Label: "node", ESPSize: 64 << 20, Files: LoaderFiles{SystemdBoot: efi}}
	src := Source{Root: gen, Epoch: e2etest.FakeEpoch, Arch: "aarch64"}
	p, err := d.Plan(src, Target{Path: "/dev/sdz", Size: 10<<30 + 12345})
	if err != nil {
		t.Fatal(err)
	}
	esp, st := p.ESP(), p.Store()
	if esp.First != 2048 || esp.Last != 2048+64*2048-1 || esp.Attributes != 0 || st.First != esp.Last+1 || (st.Last+1)%2048 != 0 || int64(st.Last+1)*512 != 10<<30-1<<20 {
		t.Fatalf("layout: %+v %+v", esp, st)
	}
	if p.BIOS || !p.UEFI || p.EFIName != "BOOTAA64.EFI" || p.Root != "LABEL=node" || p.Boot.Loader != "systemd-boot" || len(p.Boot.ExtraLoaders) != 0 {
		t.Fatalf("plan: %+v", p)
	}
	if paths := p.efiPaths(); paths[0] != "EFI/BOOT/BOOTAA64.EFI" || paths[1] != "EFI/systemd/systemd-bootaa64.efi" {
		t.Fatalf("EFI paths %v", paths)
	}
	q, err := d.Plan(src, Target{Path: "/dev/sdy", Size: 20 << 30})
	if err != nil {
		t.Fatal(err)
	}
	if q.UUID != p.UUID || q.Table.DiskGUID != p.Table.DiskGUID || q.ESPVolumeID != p.ESPVolumeID {
		t.Error("the same seed gave other identifiers")
	}
	d.Seed = "t"
	if r, _ := d.Plan(src, Target{Path: "/dev/sdy", Size: 20 << 30}); r.UUID == p.UUID {
		t.Error("another seed gave the same UUID")
	}
	d.Firmware = []string{BIOS}
	if _, err := d.Plan(src, Target{Path: "/dev/sdz", Size: 10 << 30}); err == nil || !strings.Contains(err.Error(), "x86") {
		t.Errorf("BIOS on aarch64: %v", err)
	}
	d.Firmware, d.UUID = nil, "not-a-uuid"
	if _, err := d.Plan(src, Target{Path: "/dev/sdz", Size: 10 << 30}); err == nil {
		t.Error("a bad UUID: no error")
	}
	d.UUID, d.RootBy = "", "partuuid"
	if _, err := d.Plan(src, Target{Path: "/dev/sdz", Size: 10 << 30}); err == nil {
		t.Error("root by partuuid: no error")
	}
	d.RootBy = ""
	if _, err := d.Plan(src, Target{Path: "/dev/sdz", Size: 10 << 30, SectorSize: 4096}); err == nil || !strings.Contains(err.Error(), "512-byte") {
		t.Errorf("4096-byte sectors: %v", err)
	}
}
