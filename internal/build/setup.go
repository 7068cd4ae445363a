package build

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/sandbox"
)

// runSetup runs the manifest's setup scripts inside the root, in order,
// each in a sandbox (see package sandbox) that has the network only when
// the script declares it needs it. Their output goes to the build log; a
// failing one fails the build with its output.
func (b *builder) runSetup() error {
	if len(b.sys.Setup) == 0 {
		return nil
	}
	if b.req.NoScripts {
		b.logf("== setup: skipped (--no-scripts): %d script(s)", len(b.sys.Setup))
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("setup scripts run in a sandbox in the new root, which needs root; run cairn build as root or with --no-scripts")
	}
	dir := filepath.Join(b.root, "run", "cairn-setup")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for i, s := range b.sys.Setup {
		body := []byte(s.Run)
		if s.File != "" {
			p, err := manifest.ResolveLocal(b.manifestDir, s.File)
			if err != nil {
				return fmt.Errorf("setup[%d] (%s): file: %w", i, s.Name, err)
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return fmt.Errorf("setup[%d] (%s): %w", i, s.Name, err)
			}
			body = data
		}
		script := fmt.Sprintf("%02d.sh", i)
		if err := os.WriteFile(filepath.Join(dir, script), body, 0o700); err != nil {
			return err
		}
		shell := s.Shell
		if shell == "" {
			shell = "/bin/sh"
		}
		b.logf("== setup %s", s.Name)
		var out bytes.Buffer
		err := sandbox.Run(b.ctx, sandbox.Command{
			Root:     b.root,
			Path:     shell,
			Args:     []string{shell, "-e", "/run/cairn-setup/" + script},
			Env:      []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "SOURCE_DATE_EPOCH=" + fmt.Sprint(b.epoch.Unix())},
			Stdout:   &out,
			Stderr:   &out,
			Network:  s.Network,
			Hostname: b.sys.Hostname,
		})
		if b.req.Out != nil {
			b.req.Out.Write(out.Bytes())
		}
		if err != nil {
			return fmt.Errorf("setup[%d] (%s): %w\n%s", i, s.Name, err, out.String())
		}
	}
	return nil
}
