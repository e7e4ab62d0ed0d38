package admin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/internal/evaluate"
)

// FlagBackend is implemented by a [Backend] whose settings the OpenFeature
// Remote Evaluation Protocol (OFREP) endpoints evaluate; without it those
// endpoints answer 501.
type FlagBackend interface {
	// FlagSetting returns the setting of that name, if the host keeps it.
	FlagSetting(name string) (heksher.AnySetting, bool)
	// FlagSettings returns every setting the host keeps, sorted by name.
	FlagSettings() []heksher.AnySetting
}

// MaxOFREPBody is the largest OFREP request body read; a larger one is
// answered with 413.
const MaxOFREPBody = 1 << 20

// OFREPSuccess is an OFREP evaluation's success body (the spec's
// evaluationSuccess).
type OFREPSuccess struct {
	Key      string          `json:"key"`
	Value    json.RawMessage `json:"value"`
	Reason   string          `json:"reason"`
	Variant  string          `json:"variant,omitempty"`
	Metadata map[string]any  `json:"metadata"`
}

// OFREPFailure is an OFREP evaluation's failure body (the spec's
// evaluationFailure and flagNotFound); in a bulk failure Key is empty.
type OFREPFailure struct {
	Key          string `json:"key,omitempty"`
	ErrorCode    string `json:"errorCode"`
	ErrorDetails string `json:"errorDetails,omitempty"`
}

// OFREPGeneralError is the spec's generalErrorResponse (413, 500, 501).
type OFREPGeneralError struct {
	ErrorDetails string `json:"errorDetails"`
}

// ofrepFlag is what the OFREP door keeps per setting: its class and
// features (computed once) and its rule details.
type ofrepFlag struct {
	s        heksher.AnySetting
	class    evaluate.Class
	features []string
	details  evaluate.Details
}

// ofrepState is the OFREP door's per-server cache.
type ofrepState struct {
	flags sync.Map // name → *ofrepFlag
}

func (s *Server) ofrepOptions() evaluate.ContextOptions {
	return evaluate.ContextOptions{TargetingFeature: s.opts.OFREPTargetingFeature, RefuseUnknown: s.opts.OFREPStrictContext}
}

func (o *ofrepState) flag(s heksher.AnySetting) *ofrepFlag {
	if v, ok := o.flags.Load(s.Name()); ok {
		if f := v.(*ofrepFlag); f.s == s {
			return f
		}
	}
	f := &ofrepFlag{s: s, class: evaluate.ClassOf(s.TypeString()), features: s.Features()}
	o.flags.Store(s.Name(), f)
	return f
}

// ofrepRoutes registers the OFREP endpoints on mux.
func (s *Server) ofrepRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /ofrep/v1/evaluate/flags/{key}", s.ofrepEvaluate)
	mux.HandleFunc("POST /ofrep/v1/evaluate/flags", s.ofrepBulk)
	mux.HandleFunc("GET /ofrep/v1/configuration", s.ofrepConfiguration)
}

// readContext reads an evaluation request body ({"context": {…}}); an
// empty body is an empty context. Numbers keep their written form.
func readContext(w http.ResponseWriter, r *http.Request) (map[string]any, int, *evaluate.Error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxOFREPBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, http.StatusRequestEntityTooLarge, evaluate.Errorf(evaluate.General, "the request body is larger than %d bytes", MaxOFREPBody)
		}
		return nil, http.StatusBadRequest, evaluate.Errorf(evaluate.ParseError, "reading the request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, 0, nil
	}
	var req struct {
		Context json.RawMessage `json:"context"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, http.StatusBadRequest, evaluate.Errorf(evaluate.ParseError, "the request body is not a JSON object like {\"context\": {…}}: %v", err)
	}
	raw := bytes.TrimSpace(req.Context)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, 0, nil
	}
	if raw[0] != '{' {
		return nil, http.StatusBadRequest, evaluate.Errorf(evaluate.InvalidContext, "\"context\" must be a JSON object of attributes, not %s", raw)
	}
	var attrs map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&attrs); err != nil {
		return nil, http.StatusBadRequest, evaluate.Errorf(evaluate.ParseError, "\"context\": %v", err)
	}
	return attrs, 0, nil
}

func (s *Server) flagBackend(w http.ResponseWriter) (FlagBackend, bool) {
	fb, ok := s.backend.(FlagBackend)
	if !ok {
		writeCompact(w, http.StatusNotImplemented, OFREPGeneralError{ErrorDetails: "this host does not serve OFREP"})
	}
	return fb, ok
}

// evaluateFlag evaluates one setting for attrs with the shared mapping.
func (s *Server) evaluateFlag(ctx context.Context, s0 heksher.AnySetting, attrs map[string]any) (OFREPSuccess, *evaluate.Error) {
	f := s.ofrep.flag(s0)
	r, e := evaluate.Evaluate(ctx, f.s, f.class, f.features, attrs, evaluate.KindAny, s.ofrepOptions(), &f.details)
	if e != nil {
		return OFREPSuccess{}, e
	}
	return OFREPSuccess{Key: s0.Name(), Value: r.Raw, Reason: string(r.Reason), Variant: r.Variant, Metadata: r.Metadata}, nil
}

func (s *Server) ofrepEvaluate(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	fb, ok := s.flagBackend(w)
	if !ok {
		return
	}
	attrs, status, e := readContext(w, r)
	if e != nil {
		if status == http.StatusRequestEntityTooLarge {
			writeCompact(w, status, OFREPGeneralError{ErrorDetails: e.Details})
			return
		}
		writeCompact(w, status, OFREPFailure{Key: key, ErrorCode: string(e.Code), ErrorDetails: e.Details})
		return
	}
	set, ok := fb.FlagSetting(key)
	if !ok {
		writeCompact(w, http.StatusNotFound, OFREPFailure{Key: key, ErrorCode: string(evaluate.FlagNotFound),
			ErrorDetails: "no setting named " + quote(key) + " is declared on this host"})
		return
	}
	res, e := s.evaluateFlag(heksher.ExternalContext(r.Context()), set, attrs)
	if e != nil {
		writeCompact(w, http.StatusBadRequest, OFREPFailure{Key: key, ErrorCode: string(e.Code), ErrorDetails: e.Details})
		return
	}
	writeCompact(w, http.StatusOK, res)
}

func (s *Server) ofrepBulk(w http.ResponseWriter, r *http.Request) {
	fb, ok := s.flagBackend(w)
	if !ok {
		return
	}
	attrs, status, e := readContext(w, r)
	if e != nil {
		if status == http.StatusRequestEntityTooLarge {
			writeCompact(w, status, OFREPGeneralError{ErrorDetails: e.Details})
			return
		}
		writeCompact(w, status, OFREPFailure{ErrorCode: string(e.Code), ErrorDetails: e.Details})
		return
	}
	ctx := heksher.ExternalContext(r.Context())
	settings := fb.FlagSettings()
	flags := make([]any, 0, len(settings))
	for _, set := range settings {
		res, e := s.evaluateFlag(ctx, set, attrs)
		if e != nil {
			flags = append(flags, OFREPFailure{Key: set.Name(), ErrorCode: string(e.Code), ErrorDetails: e.Details})
			continue
		}
		flags = append(flags, res)
	}
	body, err := json.Marshal(struct {
		Flags []any `json:"flags"`
	}{flags})
	if err != nil {
		writeCompact(w, http.StatusInternalServerError, OFREPGeneralError{ErrorDetails: "encoding the evaluations: " + err.Error()})
		return
	}
	writeTagged(w, r, body)
}

// ofrepConfiguration answers the spec's provider configuration: polling
// is supported (the bulk endpoint's ETag), every type is.
func (s *Server) ofrepConfiguration(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.flagBackend(w); !ok {
		return
	}
	body := []byte(`{"name":"heksher-host","capabilities":{"cacheInvalidation":{"polling":{"enabled":true,"minPollingIntervalMs":1000}},"flagEvaluation":{"supportedTypes":["int","float","string","boolean","object"]}}}`)
	writeTagged(w, r, body)
}

// writeTagged answers body with its ETag, or 304 when If-None-Match
// names it.
func writeTagged(w http.ResponseWriter, r *http.Request, body []byte) {
	sum := sha256.Sum256(body)
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// etagMatches reports whether the If-None-Match list names etag (weak
// comparison, as RFC 9110 asks for If-None-Match).
func etagMatches(list, etag string) bool {
	for t := range strings.SplitSeq(list, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// writeCompact answers v as compact JSON.
func writeCompact(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"errorDetails":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
