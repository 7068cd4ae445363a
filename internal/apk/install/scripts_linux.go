//go:build linux

package install

import (
	"context"

	"github.com/cairnlinux/cairn/internal/sandbox"
)

// execScript writes a script to ROOT/lib/apk/exec and runs it in a
// sandbox confined to the root (see package sandbox: its own /proc, /dev
// and network, reduced capabilities; nothing it mounts or starts outlives
// it). It returns the script's combined output.
func (t *txn) execScript(ctx context.Context, name string, body []byte, argv []string) ([]byte, error) {
	if _, err := t.root.MkdirAll(scriptExecDir, 0o700, nil); err != nil {
		return nil, err
	}
	d, err := t.root.OpenDir(scriptExecDir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	w, err := d.Create(name, 0o755)
	if err != nil {
		return nil, err
	}
	_, err = w.Write(body)
	if err == nil {
		err = w.Chmod(0o755)
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	defer d.Remove(name)
	if err != nil {
		return nil, err
	}

	out := &tailBuffer{max: maxScriptOutput}
	run := t.in.RunScript
	if run == nil {
		run = sandbox.Run
	}
	err = run(ctx, sandbox.Command{
		Root:   t.root.Path(),
		Path:   "/" + scriptExecDir + "/" + name,
		Args:   argv,
		Env:    scriptEnv,
		Stdout: out,
		Stderr: out,
	})
	return out.Bytes(), err
}
