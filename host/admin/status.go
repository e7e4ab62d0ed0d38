package admin

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/heksher-go/heksher/event"
)

// The status page is server-rendered HTML that refreshes itself with a meta
// tag, so it is readable in any browser, curl, or a headless dump, with no
// JavaScript.
var statusTmpl = template.Must(template.New("status").Funcs(template.FuncMap{
	"ago":   ago,
	"when":  when,
	"raw":   rawJSON,
	"conds": conds,
	"join":  strings.Join,
}).Parse(statusHTML))

type pageData struct {
	Snapshot
	Refresh int
}

func (s *Server) statusPage(w http.ResponseWriter, _ *http.Request) {
	var buf bytes.Buffer
	data := pageData{Snapshot: s.backend.Snapshot(), Refresh: int(s.opts.Refresh / time.Second)}
	if data.Refresh < 1 {
		data.Refresh = 1
	}
	if err := statusTmpl.Execute(&buf, data); err != nil {
		s.opts.Logger.Error("status page", "err", err)
		http.Error(w, "admin: status page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000 UTC")
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return now.Sub(t).Round(time.Millisecond).String() + " ago"
}

func rawJSON(m json.RawMessage) string {
	if len(m) == 0 {
		return "—"
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, m); err != nil {
		return string(m)
	}
	return buf.String()
}

func conds(cs []event.Condition) string {
	if len(cs) == 0 {
		return "(no conditions)"
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Feature + "=" + c.Value
	}
	return strings.Join(parts, ", ")
}

const statusHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="{{.Refresh}}">
<title>heksher-host status</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top;font-size:.92em}
th{background:#f3f3f3}
code{font-family:ui-monospace,monospace}
.ok{color:#137333}.bad{color:#b3261e}.warn{color:#8a5a00}
</style>
</head>
<body>
<h1>heksher-host</h1>
<p>As of {{when .Time}}. This page refreshes every {{.Refresh}}s.</p>

<h2 id="service">Service</h2>
<table>
<tr><th>URL</th><td><code>{{.Service.URL}}</code>{{if .Service.Embedded}} (embedded server){{end}}</td></tr>
<tr><th>Serving</th><td id="serving" class="{{if eq .Service.Serving "service"}}ok{{else}}warn{{end}}">{{.Service.Serving}}{{if not .Service.SnapshotTime.IsZero}} (snapshot saved {{when .Service.SnapshotTime}}){{end}}</td></tr>
</table>

<h2 id="update">Last update</h2>
<table>
<tr><th>Time</th><td>{{when .Update.Time}} {{ago .Time .Update.Time}}</td></tr>
<tr><th>Result</th><td id="update-result" class="{{if eq .Update.Result "error"}}bad{{else}}ok{{end}}">{{if .Update.Result}}{{.Update.Result}}{{else}}none yet{{end}}{{if .Update.Error}}: {{.Update.Error}}{{end}}</td></tr>
<tr><th>ETag</th><td><code>{{.Update.ETag}}</code></td></tr>
<tr><th>Consecutive failures</th><td>{{.Update.ConsecutiveFailures}}</td></tr>
<tr><th>Last success</th><td>{{when .Update.LastSuccess}} {{ago .Time .Update.LastSuccess}}</td></tr>
</table>

<h2 id="settings">Settings ({{len .Settings}})</h2>
{{if .Context}}<p>Current values are for the context defaults: {{range $k, $v := .Context}}<code>{{$k}}={{$v}}</code> {{end}}</p>{{end}}
<table>
<tr><th>Setting</th><th>Type</th><th>Declared by</th><th>Current value</th><th>Source</th><th>Rules</th><th>Server default</th><th>Local default</th></tr>
{{range .Settings}}<tr class="setting" id="setting-{{.Name}}">
<td><code>{{.Name}}</code> v{{.Version}}{{if .Outcome}}<br><small>{{.Outcome}}</small>{{end}}</td>
<td><code>{{.Type}}</code>{{if .ConfigurableFeatures}}<br><small>by {{join .ConfigurableFeatures ", "}}</small>{{end}}</td>
<td>{{join .DeclaredBy ", "}}</td>
<td>{{if .Error}}<span class="bad">{{.Error}}</span>{{else}}<code>{{raw .Value}}</code>{{end}}</td>
<td>{{.Source}}{{if .RuleID}} (rule {{.RuleID}}){{end}}</td>
<td>{{if .RuleSet.Rules}}<ul>{{range .RuleSet.Rules}}<li>rule {{.ID}}: {{conds .Conditions}} → <code>{{raw .Value}}</code></li>{{end}}</ul>{{else}}none{{end}}</td>
<td><code>{{raw .RuleSet.Default}}</code></td>
<td><code>{{raw .LocalDefault}}</code></td>
</tr>
{{end}}</table>

<h2 id="plugins">Plugins ({{len .Plugins}})</h2>
<table>
<tr><th>Plugin</th><th>Kind</th><th>State</th><th>Calls</th><th>Errors</th><th>Timeouts</th><th>Restarts</th><th>Lookups</th><th>Queue</th><th>Dropped</th><th>Last error</th></tr>
{{range .Plugins}}<tr class="plugin" id="plugin-{{.Name}}">
<td><code>{{.Name}}</code><br><small>{{.Path}}</small>{{if .SHA256}}<br><small>sha256 {{printf "%.12s" .SHA256}}…</small>{{end}}{{range $k, $v := .Detail}}<br><small>{{$k}}: {{$v}}</small>{{end}}</td>
<td>{{.Kind}}</td>
<td class="{{if eq .State "running"}}ok{{else}}bad{{end}}">{{.State}}</td>
<td>{{.Calls}}</td><td>{{.Errors}}</td><td>{{.Timeouts}}</td><td>{{.Restarts}}</td><td>{{.Lookups}}</td>
<td>{{.Queued}}/{{.QueueSize}}</td><td>{{.Dropped}}</td>
<td>{{if .LastError}}{{.LastError}}<br><small>{{when .LastErrorAt}}</small>{{end}}</td>
</tr>
{{end}}</table>

<h2 id="events">Latest events</h2>
<table>
<tr><th>#</th><th>Time</th><th>Kind</th><th>Detail</th></tr>
{{range .Events}}<tr class="event"><td>{{.Seq}}</td><td>{{when .Time}}</td><td>{{.Kind}}</td><td>{{.Summary}}</td></tr>
{{end}}</table>
<p><small>JSON: <a href="api/v1/status">/api/v1/status</a> · <a href="metrics">/metrics</a> · lookups: <code>/api/v1/lookup/{setting}?feature=value</code></small></p>
</body>
</html>
`
