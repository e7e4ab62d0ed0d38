package config

import (
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// referenceSections splits docs/CONFIG.md's field reference into its
// sections, keyed by the name in the heading ("service", "plugins[]", "";
// the top level).
func referenceSections(t *testing.T) map[string]string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/CONFIG.md")
	if err != nil {
		t.Fatal(err)
	}
	_, ref, ok := strings.Cut(string(doc), "## Field reference")
	if !ok {
		t.Fatal("docs/CONFIG.md has no field reference")
	}
	ref, _, _ = strings.Cut(ref, "\n## ")
	out := map[string]string{}
	for _, part := range strings.Split(ref, "\n### ")[1:] {
		head, body, _ := strings.Cut(part, "\n")
		name := ""
		if _, rest, ok := strings.Cut(head, "`"); ok {
			name, _, _ = strings.Cut(rest, "`")
		}
		out[name] = body
	}
	return out
}

// leafFields lists the YAML paths of every field that holds a value (not a
// nested struct), e.g. "service.tls.ca_file", "plugins[].grants.env".
func leafFields(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		ft := t.Field(i).Type
		switch {
		case ft.Kind() == reflect.Struct:
			out = append(out, leafFields(ft, path)...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			out = append(out, leafFields(ft.Elem(), path+"[]")...)
		default:
			out = append(out, path)
		}
	}
	return out
}

// Every field of the configuration has a row (or, for the parts of
// grants.dir, a mention in its row) in docs/CONFIG.md's field reference,
// under the section of its top-level key.
func TestEveryFieldDocumented(t *testing.T) {
	sections := referenceSections(t)
	for _, path := range leafFields(reflect.TypeFor[Config](), "") {
		t.Run(path, func(t *testing.T) {
			section, key := "", path
			if s, rest, ok := strings.Cut(path, "."); ok {
				section, key = s, rest
			}
			body, ok := sections[section]
			if !ok {
				t.Fatalf("docs/CONFIG.md has no section for %q", section)
			}
			if strings.Contains(body, "`"+key+"`") {
				return
			}
			parent, leaf, _ := cutLast(key)
			if parent != "" && rowOf(body, parent) != "" && strings.Contains(rowOf(body, parent), "`"+leaf+"`") {
				return
			}
			t.Errorf("docs/CONFIG.md does not document %s", path)
		})
	}
}

func cutLast(s string) (before, after string, ok bool) {
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return "", s, false
	}
	return s[:i], s[i+1:], true
}

// rowOf returns the table row of section body whose first cell is `key`.
func rowOf(body, key string) string {
	for line := range strings.SplitSeq(body, "\n") {
		if strings.HasPrefix(line, "| `"+key+"`") {
			return line
		}
	}
	return ""
}

// The defaults the reference states are the ones WithDefaults applies.
func TestDocumentedDefaults(t *testing.T) {
	sections := referenceSections(t)
	d := Config{Settings: []Setting{{}}, Plugins: []Plugin{{Kind: "wasm"}}}.WithDefaults()
	cases := []struct {
		section, key, value string
	}{
		{"service", "timeout", d.Service.Timeout.String()},
		{"embedded", "listen", d.Embedded.Listen},
		{"", "update_interval", d.UpdateInterval.String()},
		{"", "startup_timeout", d.StartupTimeout.String()},
		{"", "state_dir", d.StateDir},
		{"settings[]", "version", d.Settings[0].Version},
		{"plugins[]", "deadline", d.Plugins[0].Deadline.String()},
		{"plugins[]", "memory_limit", d.Plugins[0].MemoryLimit.String()},
		{"plugins[]", "queue_size", strconv.Itoa(d.Plugins[0].QueueSize)},
		{"plugins[]", "output.rate", d.Plugins[0].Output.Rate.String()},
		{"plugins[]", "output.burst", d.Plugins[0].Output.Burst.String()},
		{"plugins[]", "output.max_line", d.Plugins[0].Output.MaxLine.String()},
		{"admin", "listen", d.Admin.Listen},
		{"admin", "events_shown", strconv.Itoa(d.Admin.EventsShown)},
		{"log", "level", d.Log.Level},
		{"log", "format", d.Log.Format},
	}
	for _, tc := range cases {
		t.Run(tc.section+"."+tc.key, func(t *testing.T) {
			row := rowOf(sections[tc.section], tc.key)
			if row == "" {
				t.Fatalf("no row for %s in section %q", tc.key, tc.section)
			}
			cells := strings.Split(strings.ReplaceAll(row, `\|`, "/"), "|") // `\|` is a | inside a cell
			if len(cells) < 5 {
				t.Fatalf("row %q has no default column", row)
			}
			if def := strings.TrimSpace(cells[3]); !strings.Contains(def, "`"+tc.value+"`") {
				t.Errorf("documented default %s, applied default %q", def, tc.value)
			}
		})
	}
}
