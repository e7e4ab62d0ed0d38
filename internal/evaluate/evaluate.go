package evaluate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/event"
)

// Reason is an OpenFeature resolution reason.
type Reason string

// The reasons a value is given for.
const (
	TargetingMatch Reason = "TARGETING_MATCH" // a rule matched
	Default        Reason = "DEFAULT"         // no rule matched: the server default
	Static         Reason = "STATIC"          // no rule and no server default: the local default
	ErrorReason    Reason = "ERROR"           // the evaluation failed
)

// Code is an OpenFeature error code.
type Code string

// The error codes of a failed evaluation.
const (
	FlagNotFound        Code = "FLAG_NOT_FOUND"
	TypeMismatch        Code = "TYPE_MISMATCH"
	InvalidContext      Code = "INVALID_CONTEXT"
	TargetingKeyMissing Code = "TARGETING_KEY_MISSING"
	ParseError          Code = "PARSE_ERROR"
	General             Code = "GENERAL"
)

// Error is a failed evaluation: an OpenFeature code and a message that
// says what to fix.
type Error struct {
	Code    Code
	Details string
}

// Error returns the details prefixed by the code.
func (e *Error) Error() string { return string(e.Code) + ": " + e.Details }

// Errorf returns an *Error of code with formatted details.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Details: fmt.Sprintf(format, args...)}
}

// TargetingKey is the evaluation-context key of the targeting key.
const TargetingKey = "targetingKey"

// ContextOptions say how evaluation-context attributes become feature
// values.
type ContextOptions struct {
	// TargetingFeature is the context feature the targeting key gives;
	// "" ignores the targeting key.
	TargetingFeature string
	// RefuseUnknown refuses attributes that the setting is not
	// configurable by (InvalidContext) instead of ignoring them.
	RefuseUnknown bool
}

// Explicit fills dst (which it clears first) with the values attrs gives
// for features, the setting's configurable features. See the package
// documentation for the rules.
func Explicit(dst map[string]string, setting string, features []string, attrs map[string]any, o ContextOptions) *Error {
	clear(dst)
	if o.RefuseUnknown {
		for k := range attrs {
			if k == TargetingKey || configures(features, k) {
				continue
			}
			return Errorf(InvalidContext, "setting %s is not configurable by %q (configurable: %s)", setting, k, strings.Join(features, ", "))
		}
	}
	for _, f := range features {
		raw, ok := attrs[f]
		if f == o.TargetingFeature {
			if tk, has := attrs[TargetingKey]; has && tk != nil {
				if ok && raw != tk {
					return Errorf(InvalidContext, "the targeting key and the attribute %q differ: give one of them", f)
				}
				raw, ok = tk, true
			}
		}
		if !ok {
			continue
		}
		v, err := stringify(f, raw)
		if err != nil {
			return err
		}
		dst[f] = v
	}
	return nil
}

func configures(features []string, k string) bool {
	for _, f := range features {
		if f == k {
			return true
		}
	}
	return false
}

// stringify writes a context value as Heksher expects it.
func stringify(name string, v any) (string, *Error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case json.Number:
		return v.String(), nil
	case int:
		return strconv.Itoa(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case int32:
		return strconv.FormatInt(int64(v), 10), nil
	case uint:
		return strconv.FormatUint(uint64(v), 10), nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	case uint32:
		return strconv.FormatUint(uint64(v), 10), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case float32:
		return strconv.FormatFloat(float64(v), 'f', -1, 32), nil
	case nil:
		return "", Errorf(InvalidContext, "attribute %q is null: give a string, a number or a boolean", name)
	}
	return "", Errorf(InvalidContext, "attribute %q is a %s: give a string, a number or a boolean", name, kindName(v))
}

func kindName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "list"
	}
	return fmt.Sprintf("%T", v)
}

// FromLookupError maps an error of Setting.Lookup to an *Error.
func FromLookupError(err error, o ContextOptions) *Error {
	var missing *heksher.MissingFeatureError
	if errors.As(err, &missing) {
		if missing.Feature == o.TargetingFeature && o.TargetingFeature != "" {
			return Errorf(TargetingKeyMissing, "setting %s needs the targeting key (context feature %q)", missing.Setting, missing.Feature)
		}
		return Errorf(InvalidContext, "setting %s needs the context attribute %q", missing.Setting, missing.Feature)
	}
	if errors.Is(err, heksher.ErrNotConfigurable) {
		return &Error{Code: InvalidContext, Details: err.Error()}
	}
	return &Error{Code: General, Details: err.Error()}
}

// Kind is the OpenFeature type a caller asks for.
type Kind uint8

// The OpenFeature types.
const (
	KindAny Kind = iota // whatever the setting's type is (OFREP)
	KindBool
	KindString
	KindInt
	KindFloat
	KindObject
)

// String returns the OpenFeature name of k.
func (k Kind) String() string {
	return [...]string{"any", "boolean", "string", "integer", "float", "object"}[k]
}

// Class is the family of a Heksher type string.
type Class uint8

// The families of Heksher types.
const (
	ClassOther Class = iota
	ClassBool
	ClassInt
	ClassFloat
	ClassString
	ClassEnum      // an Enum whose options are all strings
	ClassOtherEnum // an Enum with a non-string option
	ClassFlags
	ClassSequence
	ClassMapping
)

// ClassOf returns the family of typeString (as Type.String renders it).
func ClassOf(typeString string) Class {
	switch {
	case typeString == "bool":
		return ClassBool
	case typeString == "int":
		return ClassInt
	case typeString == "float":
		return ClassFloat
	case typeString == "str":
		return ClassString
	case strings.HasPrefix(typeString, "Enum"):
		var opts []any
		if err := json.Unmarshal([]byte(strings.TrimSpace(strings.TrimPrefix(typeString, "Enum"))), &opts); err != nil {
			return ClassOtherEnum
		}
		for _, o := range opts {
			if _, ok := o.(string); !ok {
				return ClassOtherEnum
			}
		}
		return ClassEnum
	case strings.HasPrefix(typeString, "Flags"):
		return ClassFlags
	case strings.HasPrefix(typeString, "Sequence"):
		return ClassSequence
	case strings.HasPrefix(typeString, "Mapping"):
		return ClassMapping
	}
	return ClassOther
}

// Accepts reports whether a setting of class c answers an evaluation of
// kind k.
func Accepts(c Class, k Kind) bool {
	switch k {
	case KindAny:
		return true
	case KindBool:
		return c == ClassBool
	case KindString:
		return c == ClassString || c == ClassEnum
	case KindInt:
		return c == ClassInt
	case KindFloat:
		return c == ClassFloat || c == ClassInt
	case KindObject:
		return c == ClassFlags || c == ClassSequence || c == ClassMapping
	}
	return false
}

// Mismatch is the TypeMismatch error for evaluating setting (of type
// typeString) as k.
func Mismatch(setting, typeString string, k Kind) *Error {
	return Errorf(TypeMismatch, "setting %s is of type %s: it cannot be evaluated as %s (see docs/OPENFEATURE.md for the mapping)", setting, typeString, k)
}

// Detail is how a value was chosen, in OpenFeature's words. Metadata is
// shared between evaluations and must be treated as read-only.
type Detail struct {
	Reason   Reason
	Variant  string
	Metadata map[string]any
}

var (
	serverDefault = Detail{Reason: Default, Metadata: map[string]any{"source": heksher.SourceServerDefault.String()}}
	localDefault  = Detail{Reason: Static, Metadata: map[string]any{"source": heksher.SourceLocalDefault.String()}}
)

// Details caches the Detail of each rule of one setting, so that an
// evaluation allocates nothing. The zero value is ready; it is safe for
// concurrent use. Reset it when the setting's rules change: a rule's
// detail depends only on its id and conditions, so a stale entry is only
// memory, never a wrong answer.
type Details struct {
	mu    sync.Mutex
	rules atomic.Pointer[map[int64]*Detail]
}

// maxCachedRules bounds a Details; beyond it, details are built per call.
const maxCachedRules = 4096

// Of returns the detail of a resolution from source (and, for a rule, its
// id and conditions).
func (d *Details) Of(src heksher.Source, ruleID int64, conds []event.Condition) Detail {
	switch src {
	case heksher.SourceServerDefault:
		return serverDefault
	case heksher.SourceRule:
	default:
		return localDefault
	}
	if m := d.rules.Load(); m != nil {
		if det, ok := (*m)[ruleID]; ok {
			return *det
		}
	}
	det := ruleDetail(ruleID, conds)
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.rules.Load()
	if old != nil && len(*old) >= maxCachedRules {
		return det
	}
	next := make(map[int64]*Detail, 1)
	if old != nil {
		next = maps.Clone(*old)
	}
	next[ruleID] = &det
	d.rules.Store(&next)
	return det
}

// Reset forgets the cached rule details.
func (d *Details) Reset() { d.rules.Store(nil) }

func ruleDetail(ruleID int64, conds []event.Condition) Detail {
	md := make(map[string]any, len(conds)+2)
	md["source"] = heksher.SourceRule.String()
	md["rule_id"] = ruleID
	for _, c := range conds {
		md["condition."+c.Feature] = c.Value
	}
	return Detail{Reason: TargetingMatch, Variant: strconv.FormatInt(ruleID, 10), Metadata: md}
}

var mapPool = sync.Pool{New: func() any { m := make(map[string]string, 8); return &m }}

// Lookup resolves s for attrs with the rules of [Explicit], without
// allocating when the attributes are strings and the rule's detail is
// cached in d.
func Lookup[T any](ctx context.Context, s *heksher.Setting[T], features []string, attrs map[string]any, o ContextOptions, d *Details) (heksher.Resolution[T], Detail, *Error) {
	mp := mapPool.Get().(*map[string]string)
	defer mapPool.Put(mp)
	if e := Explicit(*mp, s.Name(), features, attrs, o); e != nil {
		return heksher.Resolution[T]{}, Detail{}, e
	}
	r, err := s.Lookup(ctx, *mp)
	clear(*mp)
	if err != nil {
		return r, Detail{}, FromLookupError(err, o)
	}
	return r, d.Of(r.Source, r.RuleID, r.Conditions), nil
}

// Result is an evaluation whose value is decoded JSON (bool, string,
// int64, float64, json.Number, []any, map[string]any).
type Result struct {
	// Value is the decoded value; Raw its wire JSON.
	Value any
	Raw   json.RawMessage
	Detail
}

// Evaluate resolves any setting for attrs and decodes its value as kind:
// the path of settings whose Go type is known only at run time, and of
// OFREP (KindAny: Value is nil, Raw is the value). Integers decode as
// int64 for KindInt and float64 for KindFloat.
func Evaluate(ctx context.Context, s heksher.AnySetting, class Class, features []string, attrs map[string]any, kind Kind, o ContextOptions, d *Details) (Result, *Error) {
	if !Accepts(class, kind) {
		return Result{}, Mismatch(s.Name(), s.TypeString(), kind)
	}
	mp := mapPool.Get().(*map[string]string)
	defer mapPool.Put(mp)
	if e := Explicit(*mp, s.Name(), features, attrs, o); e != nil {
		return Result{}, e
	}
	r, err := s.LookupJSON(ctx, *mp)
	clear(*mp)
	if err != nil {
		return Result{}, FromLookupError(err, o)
	}
	res := Result{Raw: r.Value, Detail: d.Of(r.Source, r.RuleID, r.Conditions)}
	if kind == KindAny {
		return res, nil // the caller sends Raw as it is
	}
	v, e := Decode(s.Name(), r.Value, kind)
	if e != nil {
		return Result{}, e
	}
	res.Value = v
	return res, nil
}

// Decode decodes a setting's wire JSON as kind.
func Decode(setting string, raw json.RawMessage, kind Kind) (any, *Error) {
	switch kind {
	case KindInt:
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return nil, Errorf(ParseError, "setting %s: value %s is not an integer", setting, raw)
		}
		return n, nil
	case KindFloat:
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return nil, Errorf(ParseError, "setting %s: value %s is not a number", setting, raw)
		}
		return f, nil
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, Errorf(ParseError, "setting %s: value is not JSON: %v", setting, err)
	}
	return v, nil
}
