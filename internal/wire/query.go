package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// QueryRule is one rule of a query answer.
type QueryRule struct {
	// Value is the rule's value as the server sent it.
	Value json.RawMessage `json:"value"`
	// ContextFeatures are the rule's conditions as [feature, value] pairs, in
	// the server's context-feature order. DecodeQuery guarantees each pair
	// has exactly two elements.
	ContextFeatures [][]string `json:"context_features"`
	// RuleID is the server's id of the rule.
	RuleID int64 `json:"rule_id"`
}

// QuerySetting is one entry of a query answer's "settings" object.
type QuerySetting struct {
	// Name is the entry's key: the setting's canonical name.
	Name string
	// Rules are the rules, in the server's order.
	Rules []QueryRule
	// DefaultValue is the setting's server default (the JSON `null` when the
	// server sent null).
	DefaultValue json.RawMessage
}

// QueryResponse is the body of GET /api/v1/query with the entries of
// "settings" in the order they appeared.
type QueryResponse struct {
	Settings []QuerySetting
}

type querySettingJSON struct {
	DefaultValue json.RawMessage `json:"default_value"`
	Rules        []QueryRule     `json:"rules"`
}

// MarshalJSON writes the answer with "settings" as an object whose keys keep
// the order of r.Settings.
func (r QueryResponse) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(`{"settings":{`)
	for i, s := range r.Settings {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := Marshal(s.Name)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		rules := s.Rules
		if rules == nil {
			rules = []QueryRule{}
		}
		for j := range rules {
			if rules[j].ContextFeatures == nil {
				rules[j].ContextFeatures = [][]string{}
			}
		}
		def := s.DefaultValue
		if def == nil {
			def = json.RawMessage("null")
		}
		v, err := Marshal(querySettingJSON{DefaultValue: def, Rules: rules})
		if err != nil {
			return nil, fmt.Errorf("wire: settings[%q]: %w", s.Name, err)
		}
		buf.Write(v)
	}
	buf.WriteString(`}}`)
	return buf.Bytes(), nil
}

// DecodeQuery reads a query answer, keeping the order of the "settings"
// object. It fails, saying where, if the body is not JSON, has no "settings"
// object, or an entry is not {"rules": [...], "default_value": ...} with
// rules of the form {"value": ..., "context_features": [[f, v], ...],
// "rule_id": n}. Unknown keys are ignored. The raw values in the result are
// sub-slices of body.
func DecodeQuery(body []byte) (QueryResponse, error) {
	var out QueryResponse
	s := &scanner{b: body}
	if err := s.expect('{'); err != nil {
		return out, fmt.Errorf("wire: body: %w", err)
	}
	found := false
	for first := true; ; first = false {
		key, ok, err := s.member(first)
		if err != nil {
			return out, fmt.Errorf("wire: body: %w", err)
		}
		if !ok {
			break
		}
		if string(key) != "settings" {
			if _, err := s.value(); err != nil {
				return out, fmt.Errorf("wire: %s: %w", strconv.Quote(string(key)), err)
			}
			continue
		}
		found = true
		if out.Settings, err = decodeSettings(s); err != nil {
			return out, err
		}
	}
	if s.peek() != 0 {
		return out, errors.New("wire: body: data after the JSON object")
	}
	if !found {
		return out, errors.New(`wire: body: no "settings" object`)
	}
	return out, nil
}

func decodeSettings(s *scanner) ([]QuerySetting, error) {
	if s.peek() != '{' {
		if s.peek() == 0 {
			return nil, fmt.Errorf("wire: settings: %w", errEOF)
		}
		return nil, fmt.Errorf("wire: settings: want '{', got %q", s.peek())
	}
	s.i++
	var out []QuerySetting
	for first := true; ; first = false {
		name, ok, err := s.member(first)
		if err != nil {
			return nil, fmt.Errorf("wire: settings: %w", err)
		}
		if !ok {
			break
		}
		qs, err := decodeSetting(s, string(name))
		if err != nil {
			return nil, err
		}
		out = append(out, qs)
	}
	return out, nil
}

// path names a place in the answer; it is built only for error messages.
type path struct {
	setting string
	rule    int    // -1: not in a rule
	pair    int    // -1: not in a pair
	field   string // "" or a field name
}

func (p path) String() string {
	out := fmt.Sprintf("settings[%q]", p.setting)
	if p.rule >= 0 {
		out += fmt.Sprintf(".rules[%d]", p.rule)
	}
	if p.field != "" {
		out += "." + p.field
	}
	if p.pair >= 0 {
		out += fmt.Sprintf("[%d]", p.pair)
	}
	return out
}

func decodeSetting(s *scanner, name string) (QuerySetting, error) {
	qs := QuerySetting{Name: name}
	where := path{setting: name, rule: -1, pair: -1}
	if err := s.expect('{'); err != nil {
		return qs, fmt.Errorf("wire: %s: want an object: %w", where, err)
	}
	haveRules := false
	for first := true; ; first = false {
		kb, ok, err := s.member(first)
		if err != nil {
			return qs, fmt.Errorf("wire: %s: %w", where, err)
		}
		if !ok {
			break
		}
		switch {
		case string(kb) == "default_value":
			if qs.DefaultValue, err = s.value(); err != nil {
				where.field = "default_value"
				return qs, fmt.Errorf("wire: %s: %w", where, err)
			}
		case string(kb) == "rules":
			haveRules = true
			if qs.Rules, err = decodeRules(s, where); err != nil {
				return qs, err
			}
		default:
			if _, err := s.value(); err != nil {
				where.field = string(kb)
				return qs, fmt.Errorf("wire: %s: %w", where, err)
			}
		}
	}
	if qs.DefaultValue == nil {
		return qs, fmt.Errorf("wire: %s: no default_value", where)
	}
	if !haveRules {
		return qs, fmt.Errorf("wire: %s: no rules list", where)
	}
	if qs.Rules == nil {
		qs.Rules = []QueryRule{}
	}
	return qs, nil
}

func decodeRules(s *scanner, where path) ([]QueryRule, error) {
	if err := s.expect('['); err != nil {
		return nil, fmt.Errorf("wire: %s.rules: want a list: %w", where, err)
	}
	// Collect into a stack buffer, then copy once at the exact size.
	var buf [16]QueryRule
	out := buf[:0]
	for first := true; ; first = false {
		ok, err := s.more(']', first)
		if err != nil {
			return nil, fmt.Errorf("wire: %s.rules: %w", where, err)
		}
		if !ok {
			break
		}
		rw := where
		rw.rule = len(out)
		r, err := decodeRule(s, rw)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return append([]QueryRule(nil), out...), nil
}

func decodeRule(s *scanner, where path) (QueryRule, error) {
	var r QueryRule
	if err := s.expect('{'); err != nil {
		return r, fmt.Errorf("wire: %s: want an object: %w", where, err)
	}
	for first := true; ; first = false {
		kb, ok, err := s.member(first)
		if err != nil {
			return r, fmt.Errorf("wire: %s: %w", where, err)
		}
		if !ok {
			break
		}
		switch {
		case string(kb) == "value":
			if r.Value, err = s.value(); err != nil {
				where.field = "value"
				return r, fmt.Errorf("wire: %s: %w", where, err)
			}
		case string(kb) == "rule_id":
			if r.RuleID, err = s.int64(); err != nil {
				where.field = "rule_id"
				return r, fmt.Errorf("wire: %s: %w", where, err)
			}
		case string(kb) == "context_features":
			where.field = "context_features"
			if r.ContextFeatures, err = decodePairs(s, where); err != nil {
				return r, err
			}
			where.field = ""
		default:
			if _, err := s.value(); err != nil {
				where.field = string(kb)
				return r, fmt.Errorf("wire: %s: %w", where, err)
			}
		}
	}
	if r.Value == nil {
		return r, fmt.Errorf("wire: %s: no value", where)
	}
	return r, nil
}

// decodePairs reads [[feature, value], ...]; null means no conditions.
func decodePairs(s *scanner, where path) ([][]string, error) {
	if s.peek() == 'n' {
		_, err := s.literal("null")
		return nil, err
	}
	if err := s.expect('['); err != nil {
		return nil, fmt.Errorf("wire: %s: want a list: %w", where, err)
	}
	var buf [8][]string
	out := buf[:0]
	for first := true; ; first = false {
		ok, err := s.more(']', first)
		if err != nil {
			return nil, fmt.Errorf("wire: %s: %w", where, err)
		}
		if !ok {
			break
		}
		pw := where
		pw.pair = len(out)
		if err := s.expect('['); err != nil {
			return nil, fmt.Errorf("wire: %s: want [feature, value]: %w", pw, err)
		}
		var pair [2]string
		n := 0
		for pfirst := true; ; pfirst = false {
			ok, err := s.more(']', pfirst)
			if err != nil {
				return nil, fmt.Errorf("wire: %s: %w", pw, err)
			}
			if !ok {
				break
			}
			v, err := s.internStr()
			if err != nil {
				return nil, fmt.Errorf("wire: %s: %w", pw, err)
			}
			if n < 2 {
				pair[n] = v
			}
			n++
		}
		if n != 2 {
			return nil, fmt.Errorf("wire: %s: want [feature, value], got %d elements", pw, n)
		}
		out = append(out, s.pair(pair[0], pair[1]))
	}
	return s.pairList(out), nil
}
