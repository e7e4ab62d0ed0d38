package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/process"
	"github.com/heksher-go/heksher/pluginapi"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func rule(id int64, v string, conds ...string) event.Rule {
	r := event.Rule{ID: id, Value: json.RawMessage(v)}
	for i := 0; i+1 < len(conds); i += 2 {
		r.Conditions = append(r.Conditions, event.Condition{Feature: conds[i], Value: conds[i+1]})
	}
	return r
}

func TestRecord(t *testing.T) {
	cases := []struct {
		name                    string
		old, new                event.RuleSet
		added, removed, changed []int64
		defaultChanged          bool
	}{
		{"first rule", event.RuleSet{}, event.RuleSet{Rules: []event.Rule{rule(1, `"a"`, "user", "x")}}, []int64{1}, nil, nil, false},
		{"value change", event.RuleSet{Rules: []event.Rule{rule(1, `"a"`)}}, event.RuleSet{Rules: []event.Rule{rule(1, `"b"`)}}, nil, nil, []int64{1}, false},
		{"removed and added", event.RuleSet{Rules: []event.Rule{rule(1, `1`), rule(2, `2`)}}, event.RuleSet{Rules: []event.Rule{rule(2, `2`), rule(3, `3`)}}, []int64{3}, []int64{1}, nil, false},
		{"default only", event.RuleSet{Default: json.RawMessage(`1`)}, event.RuleSet{Default: json.RawMessage(`2`)}, nil, nil, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := record(&event.SettingChanged{Header: event.Header{Seq: 7}, Setting: "s", Old: tc.old, New: tc.new}, 3, 1)
			if !slices.Equal(r.Added, orEmpty(tc.added)) || !slices.Equal(r.Removed, orEmpty(tc.removed)) ||
				!slices.Equal(r.Changed, orEmpty(tc.changed)) || r.DefaultChanged != tc.defaultChanged ||
				r.Seq != 7 || r.Delivery != 3 || r.Dropped != 1 {
				t.Errorf("record %+v", r)
			}
		})
	}
}

func orEmpty(s []int64) []int64 {
	if s == nil {
		return []int64{}
	}
	return s
}

type noSettings struct{}

func (noSettings) Lookup(context.Context, string, string, []pluginapi.Feature) (pluginapi.Value, error) {
	return pluginapi.Value{}, pluginapi.ErrNotFound
}

// TestBuiltPlugin runs the binary built by `make host-plugins` as a real
// plugin process and checks the lines it writes.
func TestBuiltPlugin(t *testing.T) {
	path, _ := filepath.Abs(filepath.Join("bin", "audit-log"))
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing: run `make host-plugins`: %v", path, err)
	}
	file := filepath.Join(t.TempDir(), "audit.jsonl")
	cfg, _ := json.Marshal(map[string]any{"file": file, "sync": true})
	ctx := context.Background()
	p, err := process.Start(ctx, process.Config{Name: "audit", Path: path, Config: cfg}, noSettings{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if m := p.Manifest(); len(m.Settings) != 1 || m.Settings[0] != pluginapi.AllSettings {
		t.Fatalf("manifest %+v: the audit log wants every setting's changes", m)
	}
	changes := []*event.SettingChanged{
		{Header: event.Header{Seq: 4, Time: time.Now()}, Setting: "banner", New: event.RuleSet{Retrieved: true, Rules: []event.Rule{rule(1, `"sale"`, "user", "alice")}}},
		{Header: event.Header{Seq: 9, Time: time.Now()}, Setting: "banner", Old: event.RuleSet{Retrieved: true, Rules: []event.Rule{rule(1, `"sale"`, "user", "alice")}}, New: event.RuleSet{Retrieved: true, Rules: []event.Rule{}}},
	}
	for i, e := range changes {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := p.Deliver(dctx, event.Delivery{Event: e, Seq: uint64(i*2 + 1), Dropped: uint64(i)})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	if len(recs) != 2 || !slices.Equal(recs[0].Added, []int64{1}) || !slices.Equal(recs[1].Removed, []int64{1}) ||
		recs[1].Dropped != 1 || recs[1].Seq != 9 || string(recs[0].New.Rules[0].Value) != `"sale"` ||
		!recs[0].Initial || recs[1].Initial {
		t.Fatalf("records %+v", recs)
	}
}
