package repo

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress shows one updating line with the packages and bytes fetched so
// far, when its writer is a terminal. Otherwise it only counts.
type progress struct {
	mu         sync.Mutex
	w          io.Writer // nil: show nothing
	total      int
	done       int
	totalBytes int64
	bytes      int64
	lastDraw   time.Time
	drawn      bool
}

// redrawEvery bounds how often the line is rewritten.
const redrawEvery = 100 * time.Millisecond

func newProgress(w io.Writer, total int, totalBytes int64) *progress {
	if w != nil && !isTerminal(w) {
		w = nil
	}
	return &progress{w: w, total: total, totalBytes: totalBytes}
}

func (p *progress) addBytes(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bytes += n
	p.draw(false)
}

func (p *progress) packageDone() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	p.draw(true)
}

// close ends the line, if one was drawn.
func (p *progress) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		p.draw(true)
		io.WriteString(p.w, "\n")
	}
}

func (p *progress) draw(force bool) {
	if p.w == nil {
		return
	}
	now := time.Now()
	if !force && now.Sub(p.lastDraw) < redrawEvery {
		return
	}
	p.lastDraw = now
	p.drawn = true
	// Carriage return, the line, then clear what a longer line left.
	io.WriteString(p.w, "\r"+progressLine(p.done, p.total, p.bytes, p.totalBytes)+"\x1b[K")
}

// progressLine renders "fetch 3/6 packages, 1.2/3.4 MiB".
func progressLine(done, total int, bytes, totalBytes int64) string {
	return fmt.Sprintf("fetch %d/%d packages, %s", done, total, formatBytes(bytes, totalBytes))
}

// formatBytes renders "n/total unit" in the unit that suits total.
func formatBytes(n, total int64) string {
	switch {
	case total >= 1<<20:
		return fmt.Sprintf("%.1f/%.1f MiB", float64(n)/(1<<20), float64(total)/(1<<20))
	case total >= 1<<10:
		return fmt.Sprintf("%.1f/%.1f KiB", float64(n)/(1<<10), float64(total)/(1<<10))
	}
	return fmt.Sprintf("%d/%d B", n, total)
}
