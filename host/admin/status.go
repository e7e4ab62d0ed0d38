package admin

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
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
	"chart": chart,
	"short": short,
	"span":  span,
	"series": func(hs *HistorySnapshot, name string) Series {
		s, _ := hs.Plugin(name)
		s.Name = name
		return s
	},
}).Parse(statusHTML))

// pageData is what the template renders: the backend's snapshot, with the
// settings' values for the context the viewer picked.
type pageData struct {
	Snapshot
	Refresh int
	// Pick is the context given in the query, by feature; PickNote
	// explains what was left out of it.
	Pick     map[string]string
	PickList []string // "feature=value", in feature order
	PickNote string
	// Paused is set by the query parameter auto-refresh=off (a dash, so
	// never a context feature's name): the page does not refresh itself,
	// so that the viewer can type in the form. PauseURL and ResumeURL are
	// this page with and without it.
	Paused              bool
	PauseURL, ResumeURL string
}

// pauseParam turns the page's self-refresh off when it is "off".
const pauseParam = "auto-refresh"

func (s *Server) statusPage(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	data := pageData{Snapshot: s.backend.Snapshot(), Refresh: int(s.opts.Refresh / time.Second)}
	if data.Refresh < 1 {
		data.Refresh = 1
	}
	if data.History == nil && s.metrics != nil {
		data.History = s.metrics.History().Snapshot(data.Time)
	}
	s.pickContext(r, &data)
	data.Paused = r.URL.Query().Get(pauseParam) == "off"
	keep := url.Values{}
	for f, v := range data.Pick {
		keep.Set(f, v)
	}
	data.ResumeURL = "?" + keep.Encode()
	keep.Set(pauseParam, "off")
	data.PauseURL = "?" + keep.Encode()
	if err := statusTmpl.Execute(&buf, data); err != nil {
		s.opts.Logger.Error("status page", "err", err)
		http.Error(w, "admin: status page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// pickContext reads the context the viewer picked (one query parameter per
// context feature, as the page's form sends it; empty ones are ignored) and
// shows each setting's value for it: the setting is looked up with the
// picked features it is configurable by, the host's context defaults giving
// the others.
func (s *Server) pickContext(r *http.Request, data *pageData) {
	q := r.URL.Query()
	known := make(map[string]bool, len(data.ContextFeatures))
	data.Pick = map[string]string{}
	for _, f := range data.ContextFeatures {
		known[f] = true
		if v := q.Get(f); v != "" {
			data.Pick[f] = v
			data.PickList = append(data.PickList, f+"="+v)
		}
	}
	var unknown []string
	for k := range q {
		if !known[k] && k != pauseParam {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		data.PickNote = "not context features, left out: " + strings.Join(unknown, ", ")
	}
	if len(data.Pick) == 0 {
		return
	}
	for i := range data.Settings {
		ss := &data.Settings[i]
		var features []pluginapi.Feature
		var missing []string
		for _, f := range ss.ConfigurableFeatures {
			if v, ok := data.Pick[f]; ok {
				features = append(features, pluginapi.Feature{Name: f, Value: v})
			} else if _, ok := data.Context[f]; !ok {
				missing = append(missing, f)
			}
		}
		ss.Value, ss.Source, ss.RuleID, ss.Error, ss.Missing = nil, "", 0, "", nil
		if len(missing) > 0 {
			ss.Source, ss.Missing = "depends on "+strings.Join(missing, ", "), missing
			continue
		}
		v, err := s.backend.Lookup(r.Context(), ss.Name, features)
		if err != nil {
			ss.Error = err.Error()
			continue
		}
		ss.Value, ss.Source, ss.RuleID = v.JSON, v.Source.String(), v.RuleID
	}
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
{{if not .Paused}}<meta http-equiv="refresh" content="{{.Refresh}}">{{end}}
<title>heksher-host: {{.Service.State}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:80em}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top;font-size:.92em}
th{background:#f3f3f3}
code{font-family:ui-monospace,monospace}
.ok{color:#137333}.bad{color:#b3261e}.warn{color:#8a5a00}
.banner{padding:.7em 1em;margin:1em 0;border-radius:6px;border:2px solid;font-size:1.05em}
.banner strong{font-size:1.2em;display:block;margin-bottom:.2em}
.banner.fresh{background:#e6f4ea;border-color:#137333;color:#0d5323}
.banner.stale,.banner.snapshot{background:#fef7e0;border-color:#b06000;color:#5f3700}
.banner.defaults{background:#fce8e6;border-color:#b3261e;color:#8c1d18}
.banner.starting{background:#f1f3f4;border-color:#5f6368;color:#3c4043}
.charts{display:flex;flex-wrap:wrap;gap:1.5em}
.charts figure{margin:0}
figcaption{font-size:.9em;margin-bottom:.2em}
svg.chart{display:block;font:10px system-ui,sans-serif}
svg.chart .frame{fill:#fafafa;stroke:#ccc}
svg.chart .axis,svg.chart .scale,svg.chart .empty{fill:#666}
svg.chart .mean{fill:#1a73e8}svg.chart .max{fill:#aecbfa}
svg.chart .ok{fill:#81c995}svg.chart .failed{fill:#d93025}
form.context label{margin-right:1em}
form.context input{width:9em}
.count{font-weight:bold}
</style>
</head>
<body>
<h1>heksher-host</h1>
{{with .Service}}<div id="banner" class="banner {{.State}}" data-state="{{.State}}" data-failures="{{.ConsecutiveFailures}}" role="status">
{{- if eq .State "fresh"}}<strong>Serving fresh values from the service</strong>The last update succeeded{{if not .LastSuccess.IsZero}} at {{when .LastSuccess}} ({{ago $.Time .LastSuccess}}){{end}}.
{{- else if eq .State "stale"}}<strong>Serving stale values since {{when .FailingSince}}</strong>{{.ConsecutiveFailures}} update{{if ne .ConsecutiveFailures 1}}s{{end}} in a row failed, the first {{ago $.Time .FailingSince}}; the values are those of the last good update, at {{when .LastSuccess}}.
{{- else if eq .State "snapshot"}}<strong>Serving the snapshot saved at {{when .SnapshotTime}}</strong>The service has not answered since the host started{{if .ConsecutiveFailures}}: {{.ConsecutiveFailures}} failed update{{if ne .ConsecutiveFailures 1}}s{{end}} since {{when .FailingSince}}{{end}}; values are those saved by an earlier run.
{{- else if eq .State "defaults"}}<strong>Serving defaults</strong>Nothing has been received from the service and no snapshot was saved: every value is its local default{{if .ConsecutiveFailures}}; {{.ConsecutiveFailures}} failed update{{if ne .ConsecutiveFailures 1}}s{{end}} since {{when .FailingSince}}{{end}}.
{{- else}}<strong>Starting</strong>Waiting for the first update (at most the start-up timeout).{{end}}
{{- if .LastError}}<br>Last error: <code id="banner-error">{{.LastError}}</code>{{end}}
{{- if .Missing}}<br><span id="banner-missing">Missing on the service (deleted?), serving their last values: {{range $i, $n := .Missing}}{{if $i}}, {{end}}<code>{{$n}}</code>{{end}}</span>{{end}}
</div>{{end}}
<p id="refresh">As of {{when .Time}}. {{if .Paused}}Not refreshing: <a href="{{.ResumeURL}}">refresh every {{.Refresh}}s</a>.{{else}}This page refreshes every {{.Refresh}}s (<a href="{{.PauseURL}}">pause</a>).{{end}}</p>

<h2 id="service">Service</h2>
<table>
<tr><th>URL</th><td><code>{{.Service.URL}}</code>{{if .Service.Embedded}} (embedded server){{end}}</td></tr>
<tr><th>Serving</th><td id="serving" class="{{if eq .Service.State "fresh"}}ok{{else if eq .Service.State "defaults"}}bad{{else}}warn{{end}}">{{.Service.Serving}}{{if not .Service.SnapshotTime.IsZero}} (snapshot saved {{when .Service.SnapshotTime}}){{end}}</td></tr>
{{with .Relay}}<tr><th>Relay</th><td id="relay" class="{{if .Failing}}warn{{else if .Ready}}ok{{else}}bad{{end}}"><code>{{.URL}}</code> mirroring <code>{{.Upstream}}</code>: {{if .Ready}}{{.Settings}} settings, snapshot confirmed {{printf "%.1f" .SnapshotAgeSeconds}} s ago{{else}}no snapshot yet{{end}}{{if .Failing}}; upstream failing: {{.LastError}}{{end}}</td></tr>{{end}}
</table>

<h2 id="update">Last update</h2>
<table>
<tr><th>Time</th><td>{{when .Update.Time}} {{ago .Time .Update.Time}}</td></tr>
<tr><th>Result</th><td id="update-result" class="{{if eq .Update.Result "error"}}bad{{else}}ok{{end}}">{{if .Update.Result}}{{.Update.Result}}{{else}}none yet{{end}}{{if .Update.Error}}: {{.Update.Error}}{{end}}</td></tr>
<tr><th>ETag</th><td><code>{{.Update.ETag}}</code></td></tr>
<tr><th>Consecutive failures</th><td>{{.Update.ConsecutiveFailures}}</td></tr>
<tr><th>Last success</th><td>{{when .Update.LastSuccess}} {{ago .Time .Update.LastSuccess}}</td></tr>
<tr><th>Attempts</th><td id="update-totals">{{.Update.Attempts}}: {{.Update.Errors}} failed, {{.Update.NotModified}} not modified (304)</td></tr>
<tr><th>Last error</th><td id="update-last-error">{{if .Update.LastError}}<span class="bad">{{.Update.LastError}}</span><br><small>{{when .Update.LastErrorAt}} {{ago .Time .Update.LastErrorAt}}</small>{{else}}none{{end}}</td></tr>
</table>
{{with .History}}<h2 id="history">Last {{span .}}</h2>
<div class="charts">
<figure><figcaption>Update duration per {{short .Bucket}} (mean dark, largest light)</figcaption>{{chart . .Updates "latency" "update-latency" "updates"}}</figure>
<figure><figcaption>Updates per {{short .Bucket}} (failed in red)</figcaption>{{chart . .Updates "outcomes" "update-failures" "updates"}}</figure>
</div>{{end}}

<h2 id="settings">Settings ({{len .Settings}})</h2>
{{if .ContextFeatures}}<form class="context" id="context" method="get" action="">
<p>Show the values for a context:
{{range .ContextFeatures}}<label>{{.}} <input name="{{.}}" value="{{index $.Pick .}}"{{with index $.Context .}} placeholder="default: {{.}}"{{end}}></label>{{end}}
{{if .Paused}}<input type="hidden" name="auto-refresh" value="off">{{end}}<button type="submit">Show</button>{{if .PickList}} <a href="?{{if .Paused}}auto-refresh=off{{end}}">clear</a>{{end}}
{{if not .Paused}}<br><small>The page refreshes every {{.Refresh}}s, which clears what you type: <a href="{{.PauseURL}}">pause it</a> first.</small>{{end}}</p>
{{if .PickNote}}<p class="warn">{{.PickNote}}</p>{{end}}
</form>{{end}}
<p id="context-shown">{{if .PickList}}Current values are for <code>{{join .PickList ", "}}</code>{{if .Context}}, with the context defaults for the rest{{end}}.{{else}}Current values are for the context defaults{{if .Context}}: {{range $k, $v := .Context}}<code>{{$k}}={{$v}}</code> {{end}}{{end}}; pick a context above for the values that depend on others.{{end}}</p>
<table>
<tr><th>Setting</th><th>Type</th><th>Declared by</th><th>Current value</th><th>Source</th><th>Rules</th><th>Server default</th><th>Local default</th></tr>
{{range .Settings}}<tr class="setting" id="setting-{{.Name}}">
<td><code>{{.Name}}</code> v{{.Version}}{{if .Outcome}}<br><small>{{.Outcome}}</small>{{end}}</td>
<td><code>{{.Type}}</code>{{if .ConfigurableFeatures}}<br><small>by {{join .ConfigurableFeatures ", "}}</small>{{end}}</td>
<td>{{join .DeclaredBy ", "}}</td>
<td class="value">{{if .Error}}<span class="bad">{{.Error}}</span>{{else if .Missing}}<span class="warn">depends on {{join .Missing ", "}}: <a href="#context">pick a context</a></span>{{else}}<code>{{raw .Value}}</code>{{end}}</td>
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
<td>{{.Calls}}</td><td class="{{if .Errors}}bad{{end}}">{{.Errors}}</td><td>{{.Timeouts}}</td><td>{{.Restarts}}</td><td>{{.Lookups}}</td>
<td>{{.Queued}}/{{.QueueSize}}</td><td>{{.Dropped}}</td>
<td class="last-error">{{if .LastError}}<span class="bad">{{.LastError}}</span>{{if not .LastErrorAt.IsZero}}<br><small>{{when .LastErrorAt}}</small>{{end}}{{else if .Errors}}<span class="warn">(the runtime kept no text)</span>{{end}}{{range .Conflicts}}<br><span class="bad conflict">declaration conflict: {{.}}</span>{{end}}</td>
</tr>
{{end}}</table>
{{if and .History .Plugins}}
<h3 id="deliveries">Deliveries, last {{span .History}}</h3>
<table>
<tr><th>Plugin</th><th>Delivery duration (mean dark, largest light)</th><th>Deliveries (failed in red)</th></tr>
{{range .Plugins}}{{$s := series $.History .Name}}<tr class="plugin-history" id="history-{{.Name}}">
<td><code>{{.Name}}</code></td>
{{if eq .Kind "go"}}<td colspan="2"><small>an in-process hook: its deliveries are not timed</small></td>{{else}}<td>{{chart $.History $s "latency" (printf "delivery-latency-%s" .Name) "deliveries"}}</td>
<td>{{chart $.History $s "outcomes" (printf "delivery-errors-%s" .Name) "deliveries"}}</td>{{end}}
</tr>
{{end}}</table>{{end}}

<h2 id="events">Latest events</h2>
<table>
<tr><th>#</th><th>Time</th><th>Kind</th><th>Detail</th></tr>
{{range .Events}}<tr class="event"{{if gt .Count 1}} data-count="{{.Count}}"{{end}}><td>{{.Seq}}{{if gt .Count 1}}–{{.LastSeq}}{{end}}</td><td>{{when .Time}}</td><td>{{.Kind}}</td><td>{{.Summary}}{{if gt .Count 1}} <span class="count">×{{.Count}}</span>, last at {{when .LastTime}}{{end}}</td></tr>
{{end}}</table>
<p>{{if .Version}}<small id="version">heksher-host {{.Version}}</small> · {{end}}<small>JSON: <a href="api/v1/status">/api/v1/status</a> · <a href="metrics">/metrics</a> · lookups: <code>/api/v1/lookup/{setting}?feature=value</code></small></p>
</body>
</html>
`
