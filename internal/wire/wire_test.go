package wire

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// transcriptQuery is answer [68] of the wire transcript (server 0.5.7).
const transcriptQuery = `{"settings":{"color":{"default_value":"blue","rules":[{"value":"green","context_features":[["theme","dark"]],"rule_id":5}]},"size_limit":{"default_value":300,"rules":[{"value":12,"context_features":[["theme","bright"]],"rule_id":1},{"value":20,"context_features":[["user","me"],["theme","bright"]],"rule_id":2},{"value":1000,"context_features":[["user","admin"]],"rule_id":3},{"value":55,"context_features":[["trust","high"],["theme","dark"]],"rule_id":4}]}}}`

func TestDecodeQuery_Transcript(t *testing.T) {
	r, err := DecodeQuery([]byte(transcriptQuery))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Settings) != 2 || r.Settings[0].Name != "color" || r.Settings[1].Name != "size_limit" {
		t.Fatalf("settings = %+v", r.Settings)
	}
	sl := r.Settings[1]
	if string(sl.DefaultValue) != "300" || len(sl.Rules) != 4 {
		t.Fatalf("size_limit = %+v", sl)
	}
	if got := sl.Rules[1]; got.RuleID != 2 || string(got.Value) != "20" || got.ContextFeatures[1][0] != "theme" {
		t.Fatalf("rule 2 = %+v", got)
	}
	out, err := r.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != transcriptQuery {
		t.Fatalf("round trip:\n got %s\nwant %s", out, transcriptQuery)
	}
}

func TestDecodeQuery_KeepsOrder(t *testing.T) {
	r, err := DecodeQuery([]byte(`{"other":[1,{"a":2}],"settings":{"z":{"rules":[],"default_value":1},"a":{"rules":[],"default_value":null},"m":{"default_value":{"rules":3},"rules":[]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range r.Settings {
		names = append(names, s.Name)
	}
	if strings.Join(names, ",") != "z,a,m" {
		t.Fatalf("order = %v", names)
	}
	if string(r.Settings[1].DefaultValue) != "null" {
		t.Fatalf("null default = %q", r.Settings[1].DefaultValue)
	}
}

func TestDecodeQuery_Errors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"not json", `<html>503</html>`, "body"},
		{"cut half way", transcriptQuery[:len(transcriptQuery)/2], `settings`},
		{"no settings", `{"x":1}`, `no "settings"`},
		{"settings not object", `{"settings":[]}`, `settings: want '{'`},
		{"entry not object", `{"settings":{"a":5}}`, `settings["a"]`},
		{"no default", `{"settings":{"a":{"rules":[]}}}`, `settings["a"]: no default_value`},
		{"no rules", `{"settings":{"a":{"default_value":1}}}`, `settings["a"]: no rules`},
		{"rules not list", `{"settings":{"a":{"default_value":1,"rules":{}}}}`, `settings["a"]`},
		{"rule without value", `{"settings":{"a":{"default_value":1,"rules":[{"context_features":[],"rule_id":1}]}}}`, `settings["a"].rules[0]: no value`},
		{"bad pair", `{"settings":{"a":{"default_value":1,"rules":[{"value":1,"context_features":[["x"]],"rule_id":1}]}}}`, `settings["a"].rules[0].context_features[0]`},
		{"pair of numbers", `{"settings":{"a":{"default_value":1,"rules":[{"value":1,"context_features":[[1,2]],"rule_id":1}]}}}`, `settings["a"]`},
		{"trailing data", `{"settings":{}} x`, "after the JSON"},
		{"top level array", `[]`, `body: offset 0: want '{'`},
		{"bad literal", `{"settings":{"a":{"default_value":tru,"rules":[]}}}`, `settings["a"].default_value`},
		{"bad number", `{"settings":{"a":{"default_value":01,"rules":[]}}}`, `settings["a"]`},
		{"rule id not int", `{"settings":{"a":{"default_value":1,"rules":[{"value":1,"context_features":[],"rule_id":1.5}]}}}`, `rules[0].rule_id`},
		{"escaped key ok but bad escape", `{"settings":{"a\q":{"default_value":1,"rules":[]}}}`, `bad string`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeQuery([]byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestDeclareRequest_Marshal(t *testing.T) {
	alias := "aaaa"
	b, err := DeclareRequest{
		Name: "aaa", ConfigurableFeatures: []string{"a", "b", "c", "x"}, Type: "int",
		Metadata: map[string]any{"some": "thing"}, Alias: &alias, DefaultValue: json.RawMessage("-1"), Version: "3.6",
	}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"aaa","configurable_features":["a","b","c","x"],"type":"int","metadata":{"some":"thing"},"alias":"aaaa","default_value":-1,"version":"3.6"}`
	if string(b) != want {
		t.Fatalf("got %s", b)
	}
	b, _ = DeclareRequest{Name: "n", Type: "str", DefaultValue: json.RawMessage(`"<&>"`), Version: "1.0"}.Marshal()
	if want := `{"name":"n","configurable_features":[],"type":"str","metadata":{},"alias":null,"default_value":"<&>","version":"1.0"}`; string(b) != want {
		t.Fatalf("got %s", b)
	}
}

func TestDecodeDeclare(t *testing.T) {
	tests := []struct {
		name, body                   string
		outcome                      string
		hasOutcome, hasLatest, isErr bool
		notJSON                      bool
	}{
		{name: "created", body: `{"outcome":"created"}`, outcome: "created", hasOutcome: true},
		{name: "outdated", body: `{"outcome":"outdated","latest_version":"2.0","differences":[]}`, outcome: "outdated", hasOutcome: true, hasLatest: true},
		{name: "detail", body: `{"detail":"alias a does not exist"}`},
		{name: "text", body: `conflict`, isErr: true, notJSON: true},
		{name: "array", body: `[1]`, isErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := DecodeDeclare([]byte(tc.body))
			if (err != nil) != tc.isErr {
				t.Fatalf("err = %v", err)
			}
			if tc.notJSON && err != ErrNotJSON {
				t.Fatalf("err = %v, want ErrNotJSON", err)
			}
			if r.Outcome != tc.outcome || r.HasOutcome != tc.hasOutcome || r.HasLatestVersion != tc.hasLatest {
				t.Fatalf("got %+v", r)
			}
		})
	}
	d, err := ParseDifferences(json.RawMessage(`[{"level":"minor","attribute":"default_value","latest_value":100}]`))
	if err != nil || len(d) != 1 || d[0].Attribute != "default_value" || string(d[0].LatestValue) != "100" {
		t.Fatalf("differences = %+v, %v", d, err)
	}
}

func TestDecodeSettingsList(t *testing.T) {
	body := `{"settings":[{"name":"a","type":"int","default_value":null,"version":"1.0","configurable_features":["x"],"metadata":{},"aliases":[],"extra":1},{"name":"b","type":"int","version":"1.0","configurable_features":[],"metadata":{"k":1},"aliases":["c"]}]}`
	got, err := DecodeSettingsList([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got[0].DefaultValue) != "null" || string(got[1].DefaultValue) != "null" || got[1].Aliases[0] != "c" {
		t.Fatalf("got %+v", got)
	}
	if _, err := DecodeSettingsList([]byte(`{"settings":[{"name":"a","type":"int","version":"1.0"}]}`)); err == nil || !strings.Contains(err.Error(), "settings[0]: no configurable_features") {
		t.Fatalf("err = %v", err)
	}
}

func BenchmarkDecodeQuery(b *testing.B) {
	body := bigQuery(10000, 5)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeQuery(body); err != nil {
			b.Fatal(err)
		}
	}
}

func bigQuery(settings, rules int) []byte {
	var r QueryResponse
	for i := range settings {
		s := QuerySetting{Name: "setting_" + itoa(i), DefaultValue: json.RawMessage("50")}
		for j := range rules {
			s.Rules = append(s.Rules, QueryRule{Value: json.RawMessage(itoa(j)), ContextFeatures: [][]string{{"user", "u" + itoa(j)}}, RuleID: int64(i*rules + j)})
		}
		r.Settings = append(r.Settings, s)
	}
	b, err := r.MarshalJSON()
	if err != nil {
		panic(err)
	}
	return b
}

func itoa(i int) string { return strconv.Itoa(i) }

// FuzzDecodeQuery checks that the hand-written decoder accepts only valid
// JSON, never panics, and agrees with encoding/json on what it returns.
func FuzzDecodeQuery(f *testing.F) {
	f.Add([]byte(transcriptQuery))
	f.Add([]byte(`{"settings":{"a":{"default_value":"\u00e9","rules":[{"value":[1,{"x":null}],"context_features":[["f","v"]],"rule_id":3}]}}}`))
	f.Add([]byte(`{"settings":{}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeQuery(body)
		if err != nil {
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		for _, s := range r.Settings {
			if !json.Valid(s.DefaultValue) {
				t.Fatalf("invalid default %q", s.DefaultValue)
			}
			for _, rule := range s.Rules {
				if !json.Valid(rule.Value) {
					t.Fatalf("invalid value %q", rule.Value)
				}
			}
		}
	})
}
