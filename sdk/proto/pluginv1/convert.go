package pluginv1

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
)

// FromDelivery converts a delivery to its wire form.
//
// # Errors
//
// An event of a type this version does not know.
func FromDelivery(d event.Delivery) (*Delivery, error) {
	out := &Delivery{Seq: d.Seq, Dropped: d.Dropped, Unreadable: d.Unreadable}
	switch e := d.Event.(type) {
	case *event.Declared:
		m := &Declared{
			Header: header(e.Header), Setting: e.Setting, Version: e.Version, Outcome: e.Outcome,
			LatestVersion: e.LatestVersion, DifferencesJson: e.Differences, Tracked: e.Tracked,
		}
		if e.Err != nil {
			m.Error = e.Err.Error()
		}
		out.Event = &Delivery_Declared{Declared: m}
	case *event.UpdateOK:
		m := &UpdateOK{
			Header: header(e.Header), NotModified: e.NotModified, Etag: e.ETag,
			Changed: e.Changed, DurationNanos: int64(e.Duration),
		}
		for _, r := range e.Rejected {
			m.Rejected = append(m.Rejected, &RejectedValue{
				Setting: r.Setting, Default: r.Default, RuleId: r.RuleID,
				Conditions: fromConditions(r.Conditions), ValueJson: r.Value, Reason: r.Reason,
			})
		}
		out.Event = &Delivery_UpdateOk{UpdateOk: m}
	case *event.UpdateError:
		m := &UpdateError{
			Header: header(e.Header), ConsecutiveFailures: int64(e.ConsecutiveFailures),
			DurationNanos: int64(e.Duration), SinceLastSuccessNanos: int64(e.SinceLastSuccess()),
		}
		if e.Err != nil {
			m.Message = e.Err.Error()
		}
		if !e.LastSuccess.IsZero() {
			m.LastSuccessUnixNano = e.LastSuccess.UnixNano()
		}
		out.Event = &Delivery_UpdateError{UpdateError: m}
	case *event.SettingChanged:
		out.Event = &Delivery_SettingChanged{SettingChanged: &SettingChanged{
			Header: header(e.Header), Setting: e.Setting, Old: fromRuleSet(e.Old), New: fromRuleSet(e.New),
			Initial: e.Initial(),
		}}
	case *event.Closing:
		out.Event = &Delivery_Closing{Closing: &Closing{Header: header(e.Header), Reason: fromClosingReason(e.Reason)}}
	default:
		return nil, fmt.Errorf("pluginv1: cannot encode event of type %T", d.Event)
	}
	return out, nil
}

// ToDelivery converts a wire delivery back to the Go event types. Error
// texts (UpdateError, Declared) come back as plain errors carrying the text.
//
// # Errors
//
// A delivery without an event, or with an event kind this version does not
// know.
func (d *Delivery) ToDelivery() (event.Delivery, error) {
	out := event.Delivery{Seq: d.GetSeq(), Dropped: d.GetDropped(), Unreadable: d.GetUnreadable()}
	switch v := d.GetEvent().(type) {
	case *Delivery_Declared:
		m := v.Declared
		e := &event.Declared{
			Header: m.GetHeader().toHeader(), Setting: m.GetSetting(), Version: m.GetVersion(),
			Outcome: m.GetOutcome(), LatestVersion: m.GetLatestVersion(),
			Differences: nilIfEmpty(m.GetDifferencesJson()), Tracked: m.GetTracked(),
		}
		if m.GetError() != "" {
			e.Err = errors.New(m.GetError())
		}
		out.Event = e
	case *Delivery_UpdateOk:
		m := v.UpdateOk
		e := &event.UpdateOK{
			Header: m.GetHeader().toHeader(), NotModified: m.GetNotModified(), ETag: m.GetEtag(),
			Changed: m.GetChanged(), Duration: time.Duration(m.GetDurationNanos()),
		}
		for _, r := range m.GetRejected() {
			e.Rejected = append(e.Rejected, event.RejectedValue{
				Setting: r.GetSetting(), Default: r.GetDefault(), RuleID: r.GetRuleId(),
				Conditions: toConditions(r.GetConditions()), Value: nilIfEmpty(r.GetValueJson()), Reason: r.GetReason(),
			})
		}
		out.Event = e
	case *Delivery_UpdateError:
		m := v.UpdateError
		e := &event.UpdateError{
			Header: m.GetHeader().toHeader(), Err: errors.New(m.GetMessage()),
			ConsecutiveFailures: int(m.GetConsecutiveFailures()), Duration: time.Duration(m.GetDurationNanos()),
		}
		if ns := m.GetLastSuccessUnixNano(); ns != 0 {
			e.LastSuccess = time.Unix(0, ns).UTC()
		}
		out.Event = e
	case *Delivery_SettingChanged:
		m := v.SettingChanged
		out.Event = &event.SettingChanged{
			Header: m.GetHeader().toHeader(), Setting: m.GetSetting(),
			Old: m.GetOld().toRuleSet(), New: m.GetNew().toRuleSet(),
		}
	case *Delivery_Closing:
		out.Event = &event.Closing{Header: v.Closing.GetHeader().toHeader(), Reason: v.Closing.GetReason().toClosingReason()}
	default:
		return event.Delivery{}, fmt.Errorf("pluginv1: delivery %d carries no known event", d.GetSeq())
	}
	return out, nil
}

func fromClosingReason(r event.ClosingReason) ClosingReason {
	switch r {
	case event.ClosingReplaced:
		return ClosingReason_CLOSING_REASON_REPLACED
	case event.ClosingRemoved:
		return ClosingReason_CLOSING_REASON_REMOVED
	}
	return ClosingReason_CLOSING_REASON_SHUTDOWN
}

// toClosingReason maps a wire reason back; UNSPECIFIED (a host that
// predates reasons) and unknown values are a shutdown.
func (r ClosingReason) toClosingReason() event.ClosingReason {
	switch r {
	case ClosingReason_CLOSING_REASON_REPLACED:
		return event.ClosingReplaced
	case ClosingReason_CLOSING_REASON_REMOVED:
		return event.ClosingRemoved
	}
	return event.ClosingShutdown
}

func header(h event.Header) *Header {
	m := &Header{Seq: h.Seq}
	if !h.Time.IsZero() {
		m.TimeUnixNano = h.Time.UnixNano()
	}
	return m
}

func (h *Header) toHeader() event.Header {
	out := event.Header{Seq: h.GetSeq()}
	if ns := h.GetTimeUnixNano(); ns != 0 {
		out.Time = time.Unix(0, ns).UTC()
	}
	return out
}

func fromConditions(cs []event.Condition) []*Condition {
	if len(cs) == 0 {
		return nil
	}
	out := make([]*Condition, len(cs))
	for i, c := range cs {
		out[i] = &Condition{Feature: c.Feature, Value: c.Value}
	}
	return out
}

func toConditions(cs []*Condition) []event.Condition {
	if len(cs) == 0 {
		return nil
	}
	out := make([]event.Condition, len(cs))
	for i, c := range cs {
		out[i] = event.Condition{Feature: c.GetFeature(), Value: c.GetValue()}
	}
	return out
}

func fromRuleSet(rs event.RuleSet) *RuleSet {
	m := &RuleSet{Retrieved: rs.Retrieved, DefaultJson: rs.Default}
	for _, r := range rs.Rules {
		m.Rules = append(m.Rules, &Rule{RuleId: r.ID, Conditions: fromConditions(r.Conditions), ValueJson: r.Value})
	}
	return m
}

func (rs *RuleSet) toRuleSet() event.RuleSet {
	out := event.RuleSet{Retrieved: rs.GetRetrieved(), Default: nilIfEmpty(rs.GetDefaultJson())}
	for _, r := range rs.GetRules() {
		out.Rules = append(out.Rules, event.Rule{ID: r.GetRuleId(), Conditions: toConditions(r.GetConditions()), Value: nilIfEmpty(r.GetValueJson())})
	}
	return out
}

func nilIfEmpty(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

// FromManifest converts a manifest to an InitResponse.
//
// # Errors
//
// Metadata that does not encode as JSON.
func FromManifest(m pluginapi.Manifest) (*InitResponse, error) {
	// The selection is always sent, so that the host tells this plugin
	// (its declarations, plus m.Settings) from one built before the field
	// existed (every setting).
	out := &InitResponse{Settings: &SettingSelection{Names: m.Settings}}
	for _, k := range m.Subscriptions.Kinds() {
		out.Subscriptions = append(out.Subscriptions, k.String())
	}
	ds, err := FromDeclarations(m.Declarations)
	if err != nil {
		return nil, err
	}
	out.Declarations = ds
	return out, nil
}

// ToManifest converts an InitResponse back to a manifest. A response
// without a settings selection (from a plugin built before it existed)
// selects every setting ([pluginapi.AllSettings]), what such a plugin
// always received.
//
// # Errors
//
// An unknown subscription name, a declaration without a name, or metadata
// that is not a JSON object.
func (r *InitResponse) ToManifest() (pluginapi.Manifest, error) {
	var m pluginapi.Manifest
	if sel := r.GetSettings(); sel == nil {
		m.Settings = []string{pluginapi.AllSettings}
	} else if names := sel.GetNames(); len(names) > 0 {
		m.Settings = names
	}
	for _, name := range r.GetSubscriptions() {
		k, ok := event.ParseKind(name)
		if !ok {
			return pluginapi.Manifest{}, fmt.Errorf("pluginv1: unknown event kind %q in subscriptions", name)
		}
		m.Subscriptions |= event.SetOf(k)
	}
	ds, err := ToDeclarations(r.GetDeclarations())
	if err != nil {
		return pluginapi.Manifest{}, err
	}
	m.Declarations = ds
	return m, nil
}

// FromDeclarations converts declarations to their wire form, as
// [FromManifest] and the Settings service's Declare call send them.
//
// # Errors
//
// Metadata that does not encode as JSON.
func FromDeclarations(ds []pluginapi.Declaration) ([]*Declaration, error) {
	var out []*Declaration
	for _, d := range ds {
		w := &Declaration{
			Name: d.Name, Type: d.Type, ConfigurableFeatures: d.ConfigurableFeatures,
			DefaultJson: d.Default, Version: d.Version,
		}
		if d.Metadata != nil {
			b, err := json.Marshal(d.Metadata)
			if err != nil {
				return nil, fmt.Errorf("pluginv1: metadata of setting %q: %w", d.Name, err)
			}
			w.MetadataJson = b
		}
		out = append(out, w)
	}
	return out, nil
}

// ToDeclarations is the inverse of [FromDeclarations].
//
// # Errors
//
// A declaration without a name, or metadata that is not a JSON object.
func ToDeclarations(ds []*Declaration) ([]pluginapi.Declaration, error) {
	var out []pluginapi.Declaration
	for i, d := range ds {
		if d.GetName() == "" {
			return nil, fmt.Errorf("pluginv1: declaration %d has no name", i)
		}
		decl := pluginapi.Declaration{
			Name: d.GetName(), Type: d.GetType(), ConfigurableFeatures: d.GetConfigurableFeatures(),
			Default: nilIfEmpty(d.GetDefaultJson()), Version: d.GetVersion(),
		}
		if len(d.GetMetadataJson()) > 0 {
			if err := json.Unmarshal(d.GetMetadataJson(), &decl.Metadata); err != nil {
				return nil, fmt.Errorf("pluginv1: metadata of setting %q: %w", d.GetName(), err)
			}
		}
		out = append(out, decl)
	}
	return out, nil
}

// FromFeatures converts lookup features to their wire form.
func FromFeatures(fs []pluginapi.Feature) []*Feature {
	if len(fs) == 0 {
		return nil
	}
	out := make([]*Feature, len(fs))
	for i, f := range fs {
		out[i] = &Feature{Name: f.Name, Value: f.Value}
	}
	return out
}

// ToFeatures converts wire features back.
func ToFeatures(fs []*Feature) []pluginapi.Feature {
	if len(fs) == 0 {
		return nil
	}
	out := make([]pluginapi.Feature, len(fs))
	for i, f := range fs {
		out[i] = pluginapi.Feature{Name: f.GetName(), Value: f.GetValue()}
	}
	return out
}

// FromValue converts a lookup result to its wire form.
func FromValue(v pluginapi.Value) *LookupResponse {
	return &LookupResponse{
		ValueJson: v.JSON, Source: Source(v.Source), Origin: Origin(v.Origin), RuleId: v.RuleID, Conditions: fromConditions(v.Conditions),
	}
}

// ToValue converts a wire lookup result back.
func (r *LookupResponse) ToValue() pluginapi.Value {
	return pluginapi.Value{
		JSON: nilIfEmpty(r.GetValueJson()), Source: pluginapi.Source(r.GetSource()), Origin: pluginapi.Origin(r.GetOrigin()),
		RuleID: r.GetRuleId(), Conditions: toConditions(r.GetConditions()),
	}
}
