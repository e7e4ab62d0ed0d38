package heksherof

import (
	"context"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/internal/evaluate"
	"github.com/open-feature/go-sdk/openfeature"
)

// resolutionError converts the shared mapping's error.
func resolutionError(e *evaluate.Error) openfeature.ProviderResolutionDetail {
	var re openfeature.ResolutionError
	switch e.Code {
	case evaluate.FlagNotFound:
		re = openfeature.NewFlagNotFoundResolutionError(e.Details)
	case evaluate.TypeMismatch:
		re = openfeature.NewTypeMismatchResolutionError(e.Details)
	case evaluate.InvalidContext:
		re = openfeature.NewInvalidContextResolutionError(e.Details)
	case evaluate.TargetingKeyMissing:
		re = openfeature.NewTargetingKeyMissingResolutionError(e.Details)
	case evaluate.ParseError:
		re = openfeature.NewParseErrorResolutionError(e.Details)
	default:
		re = openfeature.NewGeneralResolutionError(e.Details)
	}
	return openfeature.ProviderResolutionDetail{ResolutionError: re, Reason: openfeature.ErrorReason}
}

func resolution(d evaluate.Detail) openfeature.ProviderResolutionDetail {
	return openfeature.ProviderResolutionDetail{Reason: openfeature.Reason(d.Reason), Variant: d.Variant, FlagMetadata: d.Metadata}
}

// prepare finds the flag and checks that it answers kind.
func (p *Provider) prepare(key string, kind evaluate.Kind) (*flag, *evaluate.Error) {
	f, e := p.lookup(key)
	if e != nil {
		return nil, e
	}
	if !evaluate.Accepts(f.class, kind) {
		return nil, evaluate.Mismatch(key, f.s.TypeString(), kind)
	}
	return f, nil
}

// generic evaluates f through wire JSON.
func (p *Provider) generic(ctx context.Context, f *flag, kind evaluate.Kind, fc openfeature.FlattenedContext) (any, openfeature.ProviderResolutionDetail, bool) {
	r, e := evaluate.Evaluate(ctx, f.s, f.class, f.features, fc, kind, p.ctxOpts, &f.details)
	if e != nil {
		return nil, resolutionError(e), false
	}
	return r.Value, resolution(r.Detail), true
}

// evaluateAs is the body of the typed evaluations: the flag's setting of
// Go type T when it has one (no JSON on the way), else the generic path
// through wire JSON. def is the answer on any error.
func evaluateAs[T any](ctx context.Context, p *Provider, f *flag, typed *heksher.Setting[T], kind evaluate.Kind, def T, fc openfeature.FlattenedContext) (T, openfeature.ProviderResolutionDetail) {
	if typed != nil {
		r, d, e := evaluate.Lookup(ctx, typed, f.features, fc, p.ctxOpts, &f.details)
		if e != nil {
			return def, resolutionError(e)
		}
		return r.Value, resolution(d)
	}
	v, d, ok := p.generic(ctx, f, kind, fc)
	t, isT := v.(T)
	if !ok || !isT {
		return def, d
	}
	return t, d
}

// BooleanEvaluation evaluates a bool setting.
func (p *Provider) BooleanEvaluation(ctx context.Context, key string, def bool, fc openfeature.FlattenedContext) openfeature.BoolResolutionDetail {
	f, e := p.prepare(key, evaluate.KindBool)
	if e != nil {
		return openfeature.BoolResolutionDetail{Value: def, ProviderResolutionDetail: resolutionError(e)}
	}
	v, d := evaluateAs(ctx, p, f, f.b, evaluate.KindBool, def, fc)
	return openfeature.BoolResolutionDetail{Value: v, ProviderResolutionDetail: d}
}

// StringEvaluation evaluates a str setting or an Enum of strings.
func (p *Provider) StringEvaluation(ctx context.Context, key string, def string, fc openfeature.FlattenedContext) openfeature.StringResolutionDetail {
	f, e := p.prepare(key, evaluate.KindString)
	if e != nil {
		return openfeature.StringResolutionDetail{Value: def, ProviderResolutionDetail: resolutionError(e)}
	}
	v, d := evaluateAs(ctx, p, f, f.str, evaluate.KindString, def, fc)
	return openfeature.StringResolutionDetail{Value: v, ProviderResolutionDetail: d}
}

// IntEvaluation evaluates an int setting.
func (p *Provider) IntEvaluation(ctx context.Context, key string, def int64, fc openfeature.FlattenedContext) openfeature.IntResolutionDetail {
	f, e := p.prepare(key, evaluate.KindInt)
	if e != nil {
		return openfeature.IntResolutionDetail{Value: def, ProviderResolutionDetail: resolutionError(e)}
	}
	v, d := evaluateAs(ctx, p, f, f.i, evaluate.KindInt, def, fc)
	return openfeature.IntResolutionDetail{Value: v, ProviderResolutionDetail: d}
}

// FloatEvaluation evaluates a float or an int setting.
func (p *Provider) FloatEvaluation(ctx context.Context, key string, def float64, fc openfeature.FlattenedContext) openfeature.FloatResolutionDetail {
	f, e := p.prepare(key, evaluate.KindFloat)
	if e != nil {
		return openfeature.FloatResolutionDetail{Value: def, ProviderResolutionDetail: resolutionError(e)}
	}
	if f.f == nil && f.i != nil { // an int answers a float request
		r, d, e := evaluate.Lookup(ctx, f.i, f.features, fc, p.ctxOpts, &f.details)
		if e != nil {
			return openfeature.FloatResolutionDetail{Value: def, ProviderResolutionDetail: resolutionError(e)}
		}
		return openfeature.FloatResolutionDetail{Value: float64(r.Value), ProviderResolutionDetail: resolution(d)}
	}
	v, d := evaluateAs(ctx, p, f, f.f, evaluate.KindFloat, def, fc)
	return openfeature.FloatResolutionDetail{Value: v, ProviderResolutionDetail: d}
}

// ObjectEvaluation evaluates a Flags setting (a []any of strings), a
// Sequence ([]any) or a Mapping (map[string]any). Numbers inside are
// json.Number, so that an int stays exact.
func (p *Provider) ObjectEvaluation(ctx context.Context, key string, def any, fc openfeature.FlattenedContext) openfeature.InterfaceResolutionDetail {
	f, e := p.prepare(key, evaluate.KindObject)
	if e != nil {
		return openfeature.InterfaceResolutionDetail{Value: def, ProviderResolutionDetail: resolutionError(e)}
	}
	v, d, ok := p.generic(ctx, f, evaluate.KindObject, fc)
	if !ok {
		return openfeature.InterfaceResolutionDetail{Value: def, ProviderResolutionDetail: d}
	}
	return openfeature.InterfaceResolutionDetail{Value: v, ProviderResolutionDetail: d}
}
