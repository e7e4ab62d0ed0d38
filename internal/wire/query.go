package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
// "rule_id": n}.
func DecodeQuery(body []byte) (QueryResponse, error) {
	var out QueryResponse
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := expectDelim(dec, '{', "body"); err != nil {
		return out, err
	}
	found := false
	for dec.More() {
		key, err := readKey(dec, "body")
		if err != nil {
			return out, err
		}
		if key != "settings" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return out, fmt.Errorf("wire: %s: %w", strconv.Quote(key), err)
			}
			continue
		}
		found = true
		if out.Settings, err = decodeSettings(dec); err != nil {
			return out, err
		}
	}
	if err := expectDelim(dec, '}', "body"); err != nil {
		return out, err
	}
	if !found {
		return out, errors.New(`wire: body: no "settings" object`)
	}
	if _, err := dec.Token(); err != io.EOF {
		return out, errors.New("wire: body: data after the JSON object")
	}
	return out, nil
}

func decodeSettings(dec *json.Decoder) ([]QuerySetting, error) {
	if err := expectDelim(dec, '{', "settings"); err != nil {
		return nil, err
	}
	var out []QuerySetting
	for dec.More() {
		name, err := readKey(dec, "settings")
		if err != nil {
			return nil, err
		}
		where := fmt.Sprintf("settings[%q]", name)
		var js struct {
			DefaultValue json.RawMessage `json:"default_value"`
			Rules        *[]QueryRule    `json:"rules"`
		}
		if err := dec.Decode(&js); err != nil {
			return nil, fmt.Errorf("wire: %s: %w", where, err)
		}
		if js.DefaultValue == nil {
			return nil, fmt.Errorf("wire: %s: no default_value", where)
		}
		if js.Rules == nil {
			return nil, fmt.Errorf("wire: %s: no rules list", where)
		}
		if err := checkRules(*js.Rules, where); err != nil {
			return nil, err
		}
		out = append(out, QuerySetting{Name: name, Rules: *js.Rules, DefaultValue: js.DefaultValue})
	}
	if err := expectDelim(dec, '}', "settings"); err != nil {
		return nil, err
	}
	return out, nil
}

func checkRules(rules []QueryRule, where string) error {
	for i, r := range rules {
		if r.Value == nil {
			return fmt.Errorf("wire: %s.rules[%d]: no value", where, i)
		}
		// A missing or null "context_features" means no conditions; the real
		// server always sends the list.
		for j, c := range r.ContextFeatures {
			if len(c) != 2 {
				return fmt.Errorf("wire: %s.rules[%d].context_features[%d]: want [feature, value], got %d elements", where, i, j, len(c))
			}
		}
	}
	return nil
}

func expectDelim(dec *json.Decoder, want json.Delim, where string) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("wire: %s: %w", where, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("wire: %s: want %q, got %v", where, want, describe(tok))
	}
	return nil
}

func readKey(dec *json.Decoder, where string) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", fmt.Errorf("wire: %s: %w", where, err)
	}
	key, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("wire: %s: want a key, got %v", where, describe(tok))
	}
	return key, nil
}

func describe(tok json.Token) string {
	switch t := tok.(type) {
	case nil:
		return "null"
	case string:
		return "string " + strconv.Quote(t)
	case json.Delim:
		return strconv.Quote(t.String())
	default:
		return fmt.Sprintf("%T %v", t, t)
	}
}
