package layout

import (
	"os"
	"strconv"
	"strings"
)

// What cairn-init leaves in the running system's /run (a tmpfs, fresh at
// every boot) for the cairn commands run there.
const (
	// RunDir holds the rest.
	RunDir = "/run/cairn"
	// RunStore is where the store's top directory (the btrfs top level,
	// holding @cairn) is mounted: a running cairn system's store.
	RunStore = RunDir + "/store"
	// BootedFile holds the number of the generation this boot started
	// (ReadBooted).
	BootedFile = RunDir + "/booted"
	// MetaLink is a link to the booted generation's metadata in the
	// store.
	MetaLink = RunDir + "/meta.json"
	// CurrentSystem is a link to the booted generation's tree in the
	// store.
	CurrentSystem = "/run/current-system"
	// RAMMarker says the system runs from RAM (an initramfs image): it
	// has no store.
	RAMMarker = RunDir + "/ram"
	// RAMPersist is where a RAM system's persistence device is mounted.
	RAMPersist = RunDir + "/persist"
	// SecretsStatus is the last activation of the secrets (secrets.Report,
	// no secret in it), in memory as the secrets are.
	SecretsStatus = RunDir + "/secrets.json"
	// ConsoleDir holds the /etc/inittab and /etc/securetty cairn-init
	// amends with the kernel's consoles and mounts over the generation's.
	ConsoleDir = RunDir + "/console"
)

// PersistentTops are where cairn-init mounts a node's persistent file
// system: the store's top directory on a disk node, the persistence
// device on a RAM node. A provisioned identity (ProvisionedIdentity)
// lies at the top of either.
var PersistentTops = []string{RunStore, RAMPersist}

// FormatBooted is BootedFile's content for generation n.
func FormatBooted(n int) []byte { return []byte(strconv.Itoa(n) + "\n") }

// ReadBooted is the generation cairn-init recorded booting in the system
// rooted at root (BootedFile; root is / on the running system); 0 when
// there is no usable record: the system was not booted by cairn-init.
func ReadBooted(root string) int {
	data, err := os.ReadFile(InTree(root, BootedFile))
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || n < 0 {
		return 0
	}
	return n
}
