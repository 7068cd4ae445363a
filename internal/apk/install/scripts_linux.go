//go:build linux

package install

import (
	"context"

	"github.com/cairnlinux/cairn/internal/chroot"
)

// execScript writes a script to ROOT/lib/apk/exec and runs it chrooted
// into the root, with /proc, /sys and /dev mounted inside (see package
// chroot: the mounts cannot outlive the script). It returns the script's
// combined output.
func (t *txn) execScript(ctx context.Context, name string, body []byte, argv []string) ([]byte, error) {
	if _, err := t.root.mkdirAll(scriptExecDir, 0o700, nil); err != nil {
		return nil, err
	}
	d, err := t.root.openDir(scriptExecDir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	w, err := d.createFile(name, 0o755)
	if err != nil {
		return nil, err
	}
	err = w.write(body)
	if err == nil {
		err = w.chmod(0o755)
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	defer d.unlink(name)
	if err != nil {
		return nil, err
	}

	out := &tailBuffer{max: maxScriptOutput}
	err = chroot.Run(ctx, chroot.Command{
		Root:   t.root.path,
		Path:   "/" + scriptExecDir + "/" + name,
		Args:   argv,
		Env:    scriptEnv,
		Stdout: out,
		Stderr: out,
	})
	return out.Bytes(), err
}
