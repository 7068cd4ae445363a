package fleet

import (
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"time"
)

// Page serves the fleet's status, read-only: GET / is a web page, GET
// /status.json the same as JSON. Every request reads the nodes afresh.
type Page struct {
	Collect func(ctx context.Context) Report
	// Refresh is how often the page reloads itself (0: never).
	Refresh time.Duration
}

// Handler returns the page's routes; other methods than GET are refused.
func (p *Page) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", p.page)
	mux.HandleFunc("GET /status.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(p.Collect(r.Context()))
	})
	return mux
}

func (p *Page) page(w http.ResponseWriter, r *http.Request) {
	rep := p.Collect(r.Context())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	pageTemplate.Execute(w, struct {
		Report
		Refresh int
	}{rep, int(p.Refresh.Seconds())})
}

// trialClass colours the last trial: good, bad or pending.
func trialClass(s NodeStatus) string {
	switch {
	case s.Trial.Generation != 0 && s.Trial.TriesLeft == 0 && s.Booted != s.Trial.Generation:
		return "bad"
	case s.Trial.Generation != 0:
		return "pending"
	case s.LastTrial.Outcome == "fell back":
		return "bad"
	case s.LastTrial.Outcome == "confirmed":
		return "good"
	}
	return ""
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"gen":        genText,
	"trialClass": trialClass,
	"time":       func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") },
	"deref":      func(b *bool) bool { return b != nil && *b },
}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>cairn fleet</title>
{{if .Refresh}}<meta http-equiv="refresh" content="{{.Refresh}}">{{end}}
<style>
body { font: 15px/1.4 system-ui, sans-serif; margin: 2em; color: #1d2433; background: #f7f7f4; }
h1 { font-size: 1.4em; margin: 0 0 .2em; }
p.sum { color: #555; margin: 0 0 1.2em; }
table { border-collapse: collapse; background: #fff; box-shadow: 0 1px 3px #0002; }
th, td { padding: .45em .9em; text-align: left; border-bottom: 1px solid #e4e4e0; white-space: nowrap; vertical-align: top; }
th { font-size: .8em; text-transform: uppercase; letter-spacing: .05em; color: #666; background: #efefea; }
td.num { font-variant-numeric: tabular-nums; text-align: right; }
.badge { display: inline-block; padding: .05em .55em; border-radius: .8em; font-size: .9em; }
.good { background: #d8f0dc; color: #17612a; }
.bad { background: #f8d7d4; color: #8c1d12; }
.pending { background: #fbecc5; color: #7a5200; }
.lock { background: #dde7fb; color: #1f3f8a; }
.err { color: #8c1d12; font-size: .85em; white-space: normal; width: 22em; margin-top: .3em; }
small { color: #777; }
</style>
</head>
<body>
<h1>cairn fleet</h1>
<p class="sum">{{len .Nodes}} nodes, {{.Unreachable}} unreachable &middot; read {{time .Checked}}{{if .LockError}} &middot; <span class="err">FleetLock: {{.LockError}}</span>{{end}}</p>
<table>
<thead><tr><th>Node</th><th>Booted</th><th>Default</th><th>Newest</th><th>Last trial</th><th>Reboot slot</th><th>Status</th></tr></thead>
<tbody>
{{range .Nodes}}<tr>
<td><b>{{.Name}}</b><br><small>{{.Address}}</small></td>
{{if .Reachable}}<td class="num">{{gen .Booted}}</td><td class="num">{{gen .Default}}</td>
<td class="num">{{gen .Newest}}{{if .NewestDescription}}<br><small>{{.NewestDescription}}</small>{{end}}</td>
<td>{{with trialClass .}}<span class="badge {{.}}">{{end}}{{.TrialText}}{{if trialClass .}}</span>{{end}}</td>
<td>{{if and .HoldsLock (deref .HoldsLock)}}<span class="badge lock">{{.LockText}}</span>{{else}}{{.LockText}}{{end}}</td>
<td>{{if and .Booted .Default (ne .Booted .Default)}}<span class="badge pending">booted is not the default</span>{{else}}<span class="badge good">ok</span>{{end}}</td>
{{else}}<td class="num">-</td><td class="num">-</td><td class="num">-</td><td>-</td><td>{{.LockText}}</td>
<td><span class="badge bad">unreachable</span><div class="err">{{.Error}}</div></td>{{end}}
</tr>
{{end}}</tbody>
</table>
</body>
</html>
`))
