package layout

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Files inside a generation's tree, as the running system sees them
// (absolute; join them to a tree's root to reach them from outside). The
// build writes them; the rest of cairn reads them.
const (
	// GenerationFile is what the tree is (Generation).
	GenerationFile = "/usr/lib/cairn/generation.json"
	// ManifestDir keeps the manifest the generation was built from and
	// its lock: a node can say what it runs.
	ManifestDir = "/usr/lib/cairn/manifest"
	// CairnInit is the initramfs's /init a bootable generation carries
	// (the boot entries' and images' initramfs is made from it).
	CairnInit = "/usr/lib/cairn/cairn-init"
	// CmdlineFile is the kernel command line, one line (ReadCmdline).
	CmdlineFile = "/etc/cairn/cmdline"
	// HealthFile is the health checks cairn confirm --boot runs
	// (Health).
	HealthFile = "/etc/cairn/health.json"
	// PersistList names the directories kept outside the generation
	// (ParsePersist).
	PersistList = "/etc/cairn/persist"
	// SecretsFile records the generation's secrets: names, where each
	// goes on the node, the encrypted files (secrets.Spec).
	SecretsFile = "/etc/cairn/secrets.json"
	// SecretsDir holds the generation's encrypted secrets, NAME.age.
	SecretsDir = "/etc/cairn/secrets"
	// SSHKeysDir is where a system with OpenSSH keeps its host keys
	// (etc/ssh/ssh_host_*_key below it): under /var, which persists,
	// since the root is read-only; the node's key for secrets is one.
	SSHKeysDir = "/var/lib/cairn/ssh"
	// DeclaredFile lists the files the manifest declares under the
	// persistent directories, each managed or a seed (internal/state);
	// DeclaredDir holds a copy of each at its path, since the persistent
	// directory mounted over the path hides the generation's own.
	DeclaredFile = "/usr/lib/cairn/declared.json"
	DeclaredDir  = "/usr/lib/cairn/declared"
	// SnapshotsFile lists the snapshot schedules of persistent
	// directories (internal/snapshots).
	SnapshotsFile = "/etc/cairn/snapshots.json"
	// CairnBinary is the cairn binary a bootable generation carries: its
	// boot services (cairn-confirm, cairn-secrets, cairn-tenants) run it.
	CairnBinary = "/usr/sbin/cairn"
	// TenantsFile records the generation's tenants and cgroup limits
	// (internal/tenant's Plan), which the node applies at boot.
	TenantsFile = "/etc/cairn/tenants.json"
	// TenantsSSHDropIn makes sshd look up the tenants' keys through
	// cairn, which puts each session into its tenant's cgroup.
	TenantsSSHDropIn = "/etc/ssh/sshd_config.d/cairn-tenants.conf"
)

// What cairn keeps for itself in a node's persistent /var.
const (
	// NodeStateDir holds cairn's own records on a node (never drift).
	NodeStateDir = "/var/lib/cairn"
	// ManagedRecord records, per managed file, what was there before a
	// generation first put it in place (internal/state.Apply).
	ManagedRecord = NodeStateDir + "/managed.json"
	// ReplacedDir keeps the versions of managed files a boot replaced.
	ReplacedDir = NodeStateDir + "/replaced"
)

// A RAM system is a whole generation packed into an initramfs (the
// initramfs image format); cairn-init starts it from RAM.
const (
	// RAMDir marks an initramfs that holds a whole system: the image
	// writes it, an initramfs made for booting a store has none.
	RAMDir = "/usr/lib/cairn/ram"
	// RAMModules lists the modules cairn-init loads in a RAM system.
	RAMModules = RAMDir + "/modules"
)

// InTree returns where the absolute path p of a generation lies in the
// tree rooted at root.
func InTree(root, p string) string {
	return filepath.Join(root, strings.TrimPrefix(p, "/"))
}

// ReadCmdline reads the kernel command line a generation rooted at root
// records (CmdlineFile), without its line end; "" when it records none.
// More than one line is an error: the loaders take one.
func ReadCmdline(root string) (string, error) {
	data, err := os.ReadFile(InTree(root, CmdlineFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	line := strings.TrimSpace(string(data))
	if strings.ContainsAny(line, "\n\r") {
		return "", fmt.Errorf("%s: more than one line", CmdlineFile)
	}
	return line, nil
}

// Parameters of the kernel command line that cairn writes (the boot
// entries, images) and cairn-init reads.
const (
	// ParamGen boots generation N (cairn.gen=N): a loader entry per
	// generation.
	ParamGen = "cairn.gen"
	// ParamDefault is the default generation when the entries were
	// written (cairn.default=N), booted should state.json be unusable.
	ParamDefault = "cairn.default"
	// ParamPersist names the device of a RAM system's persistent
	// directories (cairn.persist=LABEL=… or UUID=…).
	ParamPersist = "cairn.persist"
)

// SnapshotSchedule is one entry of SnapshotsFile: the snapshot schedule
// of one persistent directory, as the manifest's snapshots: gives it
// (written by the build, read by cairn snapshots on the node).
type SnapshotSchedule struct {
	Path        string `json:"path"`
	Every       string `json:"every,omitempty"`
	PreserveMin string `json:"preserveMin,omitempty"`
	Preserve    string `json:"preserve,omitempty"`
}
