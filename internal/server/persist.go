package server

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/heksher-go/heksher/internal/htype"
)

// dataFormat names the data-file layout; a file with another format is
// refused rather than misread.
const dataFormat = "heksher-devserver/1"

// snapshot is the data file's JSON document: the whole state.
type snapshot struct {
	Format          string        `json:"format"`
	ContextFeatures []string      `json:"context_features"`
	NextRuleID      int64         `json:"next_rule_id"`
	Settings        []snapSetting `json:"settings"`
}

type snapSetting struct {
	Name                 string          `json:"name"`
	Aliases              []string        `json:"aliases"`
	Type                 string          `json:"type"`
	DefaultValue         json.RawMessage `json:"default_value"`
	Metadata             json.RawMessage `json:"metadata"`
	ConfigurableFeatures []string        `json:"configurable_features"`
	Version              string          `json:"version"`
	Rules                []snapRule      `json:"rules"`
}

type snapRule struct {
	ID         int64           `json:"id"`
	Conditions [][2]string     `json:"conditions"`
	Value      json.RawMessage `json:"value"`
	Metadata   json.RawMessage `json:"metadata"`
}

// snapshot copies the state into its file form. e.mu must be held.
func (st *state) snapshot() *snapshot {
	snap := &snapshot{Format: dataFormat, ContextFeatures: slices.Clone(st.features), NextRuleID: st.nextRule,
		Settings: []snapSetting{}}
	for _, s := range st.sortedSettings() {
		ss := snapSetting{
			Name: s.name, Aliases: slices.Clone(s.aliases), Type: s.typ.String(),
			DefaultValue: s.def.AppendJSON(nil), Metadata: metaValue(s.meta).AppendJSON(nil),
			ConfigurableFeatures: st.featureList(s), Version: s.version, Rules: []snapRule{},
		}
		for _, r := range s.rules {
			ss.Rules = append(ss.Rules, snapRule{ID: r.id, Conditions: st.condPairs(r),
				Value: r.value.AppendJSON(nil), Metadata: metaValue(r.meta).AppendJSON(nil)})
		}
		snap.Settings = append(snap.Settings, ss)
	}
	return snap
}

// toState rebuilds and checks a state from its file form.
func (snap *snapshot) toState() (*state, error) {
	if snap.Format != dataFormat {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrBadData, snap.Format, dataFormat)
	}
	st := newState()
	for _, f := range snap.ContextFeatures {
		if !patFeatureName.match(f) || st.featureIndex(f) >= 0 {
			return nil, fmt.Errorf("%w: context feature %q is invalid or repeated", ErrBadData, f)
		}
		st.features = append(st.features, f)
	}
	maxID := int64(0)
	for i, ss := range snap.Settings {
		s, err := ss.toSetting(st)
		if err != nil {
			return nil, fmt.Errorf("%w: settings[%d] (%s): %w", ErrBadData, i, ss.Name, err)
		}
		for _, n := range append([]string{s.name}, s.aliases...) {
			if st.names[n] != nil {
				return nil, fmt.Errorf("%w: name %q is used twice", ErrBadData, n)
			}
			st.names[n] = s
		}
		st.settings[s.name] = s
		for j, sr := range ss.Rules {
			r, err := sr.toRule(s)
			if err != nil {
				return nil, fmt.Errorf("%w: settings[%d].rules[%d]: %w", ErrBadData, i, j, err)
			}
			if r.id > MaxRuleID {
				return nil, fmt.Errorf("%w: settings[%d].rules[%d]: rule %d of setting %s is beyond the largest rule id, %d",
					ErrBadData, i, j, r.id, ss.Name, int64(MaxRuleID))
			}
			if st.rules[r.id] != nil || s.findRule(r.conds) != nil {
				return nil, fmt.Errorf("%w: settings[%d].rules[%d]: duplicate rule id or conditions", ErrBadData, i, j)
			}
			st.rules[r.id] = r
			s.rules = append(s.rules, r)
			maxID = max(maxID, r.id)
		}
		slices.SortFunc(s.rules, func(a, b *rule) int { return cmp.Compare(a.id, b.id) })
	}
	if snap.NextRuleID > MaxRuleID+1 {
		return nil, fmt.Errorf("%w: next_rule_id %d is beyond the largest rule id, %d", ErrBadData, snap.NextRuleID, int64(MaxRuleID))
	}
	// maxID <= MaxRuleID, so maxID+1 cannot wrap.
	st.nextRule = max(snap.NextRuleID, maxID+1, 1)
	return st, nil
}

func (ss *snapSetting) toSetting(st *state) (*setting, error) {
	if !patSettingName.match(ss.Name) || !patVersion.match(ss.Version) {
		return nil, errors.New("invalid name or version")
	}
	typ, err := htype.Parse(ss.Type)
	if err != nil {
		return nil, err
	}
	def, err := htype.ParseValue(ss.DefaultValue)
	// null is tolerated: a NaN or infinite float accepted by the API is
	// kept as null, as the reference stores it.
	if err != nil || (!typ.Accepts(def) && def.Kind() != htype.Null) {
		return nil, fmt.Errorf("default value %s does not match type %s", ss.DefaultValue, typ)
	}
	meta, err := parseMeta(ss.Metadata)
	if err != nil {
		return nil, err
	}
	s := &setting{name: ss.Name, aliases: slices.Clone(ss.Aliases), typ: typ, def: def, meta: meta,
		version: ss.Version, features: map[string]struct{}{}}
	if s.aliases == nil {
		s.aliases = []string{}
	}
	slices.Sort(s.aliases)
	for _, f := range ss.ConfigurableFeatures {
		if st.featureIndex(f) < 0 {
			return nil, fmt.Errorf("unknown context feature %q", f)
		}
		s.features[f] = struct{}{}
	}
	if len(s.features) == 0 {
		return nil, errors.New("no configurable features")
	}
	return s, nil
}

func (sr *snapRule) toRule(s *setting) (*rule, error) {
	if sr.ID < 1 || len(sr.Conditions) == 0 {
		return nil, errors.New("invalid id or no conditions")
	}
	conds := map[string]string{}
	for _, c := range sr.Conditions {
		if _, ok := s.features[c[0]]; !ok || !patFeatureVal.match(c[1]) {
			return nil, fmt.Errorf("condition %s=%s is not allowed", c[0], c[1])
		}
		conds[c[0]] = c[1]
	}
	val, err := htype.ParseValue(sr.Value)
	if err != nil || (!s.typ.Accepts(val) && val.Kind() != htype.Null) {
		return nil, fmt.Errorf("value %s does not match type %s", sr.Value, s.typ)
	}
	meta, err := parseMeta(sr.Metadata)
	if err != nil {
		return nil, err
	}
	return newRule(sr.ID, s, conds, val, meta), nil
}

func parseMeta(raw json.RawMessage) ([]htype.Member, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	v, err := htype.ParseValue(raw)
	if err != nil {
		return nil, err
	}
	if v.Kind() != htype.Object {
		return nil, errors.New("metadata is not an object")
	}
	return v.Members(), nil
}

// checkDataDir makes sure the data file's folder exists and accepts new
// files, so that a typo in the path is an error at start rather than a
// refused first change.
func checkDataDir(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("server: data file folder: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("server: data file folder %s is not a folder", dir)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("server: data file folder %s is not writable: %w", dir, err)
	}
	_ = f.Close()
	_ = os.Remove(f.Name())
	return nil
}

// errReplaced marks a failure of writeDataFile after the new file was
// renamed into place (syncing the folder): the file may hold the new
// content.
var errReplaced = errors.New("data file replaced but not synced")

// readDataFile loads a data file; a missing file is (nil, nil). Temporary
// files left by a write that was interrupted are removed.
func readDataFile(path string) (*snapshot, error) {
	if stale, err := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")); err == nil {
		for _, f := range stale {
			_ = os.Remove(f)
		}
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("server: read data file: %w", err)
	}
	var snap snapshot
	if err := json.Unmarshal(raw, &snap); err != nil {
		return nil, fmt.Errorf("%w: data file %s: %w", ErrBadData, path, err)
	}
	return &snap, nil
}

// writeDataFile replaces path atomically: the new content goes to a
// temporary file in the same directory, is flushed to disk, renamed over
// path, and the directory entry is flushed too. A crash at any point leaves
// either the old or the new file, never a mix.
func writeDataFile(path string, snap *snapshot) (err error) {
	data, err := json.MarshalIndent(snap, "", " ")
	if err != nil {
		return fmt.Errorf("server: encode data file: %w", err)
	}
	data = append(data, '\n')
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("server: write data file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("server: write data file: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("server: sync data file: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("server: close data file: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("server: replace data file: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("server: sync data directory: %w: %w", errReplaced, err)
	}
	defer d.Close()
	if err = d.Sync(); err != nil {
		return fmt.Errorf("server: sync data directory: %w: %w", errReplaced, err)
	}
	return nil
}
