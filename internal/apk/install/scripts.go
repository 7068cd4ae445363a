package install

import (
	"context"
	"fmt"
	"sync"
)

// scriptEnv is the whole environment of a package script, as apk gives it.
var scriptEnv = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}

// maxScriptOutput is how much of a script's output is kept, from its end.
const maxScriptOutput = 64 << 10

// runScript runs one of ps's scripts if it has it, with apk's arguments
// (apk_ipkg_run_script). A failing script marks the package broken (f:s).
// Without scripts enabled it only notes that the package's scripts did not
// run.
func (t *txn) runScript(ctx context.Context, ps *pkgState, typ string, args []string) {
	body, ok := ps.scripts[typ]
	if !ok {
		return
	}
	name := fmt.Sprintf("%s-%s.%s", ps.info.Name, ps.info.Version, typ)
	if !t.runScripts {
		if id := ps.nameVersion(); !t.notRun[id] {
			t.notRun[id] = true
			t.rep.ScriptsNotRun = append(t.rep.ScriptsNotRun, id)
		}
		return
	}
	fmt.Fprintf(t.in.out(), "Executing %s\n", name)
	out, err := t.execScript(ctx, name, body, append([]string{typ}, args...))
	// The script may have added users and groups.
	t.ids.reset()
	if err != nil {
		ps.brokenScript = true
		t.problem(&ScriptError{Package: ps.nameVersion(), Script: typ, Output: out, Err: err})
		return
	}
	t.in.out().Write(out)
}

// tailBuffer keeps the last max bytes written to it; scripts' stdout and
// stderr both go to one.
type tailBuffer struct {
	mu        sync.Mutex
	buf       []byte
	max       int
	truncated bool
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
		b.truncated = true
	}
	return len(p), nil
}

func (b *tailBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.truncated {
		return append([]byte("[...]\n"), b.buf...)
	}
	return append([]byte(nil), b.buf...)
}
