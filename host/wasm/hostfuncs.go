package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/internal/abi"
	"github.com/heksher-go/heksher/internal/outbudget"
	"github.com/heksher-go/heksher/pluginapi"
)

// Limits on what a guest can hand the host in one call; a log message is
// bounded by the plugin's output budget.
const (
	maxErrorMessage = 4 << 10 // set_error keeps this many bytes
)

// instKey carries the calling *instance in the context of each call into a
// guest; the host module is shared by every plugin of a group, so this is how
// a host function knows whose lookup it serves.
type instKey struct{}

func callerOf(ctx context.Context) *instance {
	inst, _ := ctx.Value(instKey{}).(*instance)
	if inst != nil {
		inst.wd.maybeLower()
	}
	return inst
}

// instantiateHostModule defines the heksher_v1 host functions in rt. Each
// uses the raw stack form (api.GoModuleFunc), which costs about a third of the
// reflective form per call.
func instantiateHostModule(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(abi.ImportModule)
	def := func(name string, fn api.GoModuleFunc, params, results []api.ValueType, paramNames ...string) {
		b.NewFunctionBuilder().WithGoModuleFunction(fn, params, results).WithParameterNames(paramNames...).Export(name)
	}
	def(abi.ImportGetSetting, hostGetSetting, []api.ValueType{i32, i32, i32, i32, i32, i32}, []api.ValueType{i32},
		"name_ptr", "name_len", "ctx_ptr", "ctx_len", "buf_ptr", "buf_cap")
	def(abi.ImportSetError, hostSetError, []api.ValueType{i32, i32}, nil, "ptr", "len")
	def(abi.ImportLog, hostLog, []api.ValueType{i32, i32, i32}, nil, "level", "ptr", "len")
	def(abi.ImportLogEnabled, hostLogEnabled, []api.ValueType{i32}, []api.ValueType{i32}, "level")
	def(abi.ImportDeclare, hostDeclare, []api.ValueType{i32, i32}, []api.ValueType{i32}, "ptr", "len")
	def(abi.ImportSubscribe, hostSubscribe, []api.ValueType{i32}, []api.ValueType{i32}, "kinds")
	def(abi.ImportGetSettingInfo, hostGetSettingInfo, []api.ValueType{i32, i32, i32, i32, i32, i32}, []api.ValueType{i32},
		"name_ptr", "name_len", "ctx_ptr", "ctx_len", "buf_ptr", "buf_cap")
	_, err := b.Instantiate(ctx)
	return err
}

// read returns the guest bytes [ptr, ptr+n) as a view, or ok=false if any
// of it lies outside memory. A zero length is always valid.
func read(m api.Module, ptr, n uint32) ([]byte, bool) {
	if n == 0 {
		return nil, true
	}
	mem := m.Memory()
	if mem == nil {
		return nil, false
	}
	return mem.Read(ptr, n)
}

func ret(stack []uint64, v int32) { stack[0] = api.EncodeI32(v) }

// hostGetSetting: get_setting(name_ptr, name_len, ctx_ptr, ctx_len, buf_ptr, buf_cap) -> len | error.
// In the steady state it does not allocate: strings come from the instance's
// intern table and the feature slice is reused.
func hostGetSetting(ctx context.Context, m api.Module, stack []uint64) {
	inst := callerOf(ctx)
	if inst == nil {
		ret(stack, abi.ResultInternal)
		return
	}
	name, ok := read(m, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
	if !ok {
		ret(stack, abi.ResultInvalidMemory)
		return
	}
	ctxb, ok := read(m, api.DecodeU32(stack[2]), api.DecodeU32(stack[3]))
	if !ok {
		ret(stack, abi.ResultInvalidMemory)
		return
	}
	bufPtr, bufCap := api.DecodeU32(stack[4]), api.DecodeU32(stack[5])
	if _, ok := read(m, bufPtr, bufCap); !ok {
		ret(stack, abi.ResultInvalidMemory)
		return
	}
	// One pass over the context: decode, check and intern together.
	feats := inst.features[:0]
	if len(ctxb) > 0 {
		r := abi.NewReader(ctxb)
		n := r.U32()
		if uint64(n)*8 > uint64(r.Len()) {
			ret(stack, abi.ResultMalformed)
			return
		}
		for i := 1; i <= 2*int(n); i += 2 {
			f, v := r.Str(), r.Str()
			if r.Err() != nil {
				ret(stack, abi.ResultMalformed)
				return
			}
			feats = append(feats, pluginapi.Feature{Name: inst.strs.at(i, f), Value: inst.strs.at(i+1, v)})
		}
		if r.Len() != 0 {
			clear(feats)
			ret(stack, abi.ResultMalformed)
			return
		}
	}
	inst.features = feats
	p := inst.p
	p.lookups.Add(1)
	val, err := p.settings.Lookup(ctx, p.cfg.Name, inst.strs.at(0, name), feats)
	clear(feats) // drop references to the strings until the next lookup
	switch {
	case err == nil:
	case errors.Is(err, pluginapi.ErrNotFound):
		ret(stack, abi.ResultNotFound)
		return
	case errors.Is(err, pluginapi.ErrNotDeclared):
		ret(stack, abi.ResultNotDeclared)
		return
	case errors.Is(err, pluginapi.ErrBadContext):
		ret(stack, abi.ResultBadContext)
		return
	default:
		p.log.LogAttrs(ctx, slog.LevelWarn, "wasm: lookup failed", slog.String("setting", string(name)), slog.Any("error", err))
		ret(stack, abi.ResultInternal)
		return
	}
	out := inst.lookupAnswer(val) // the bare value, or get_setting_info's answer
	n := len(out)
	if n > int(^uint32(0)>>1) {
		ret(stack, abi.ResultInternal)
		return
	}
	if uint32(n) <= bufCap && n > 0 {
		if !m.Memory().Write(bufPtr, out) {
			ret(stack, abi.ResultInvalidMemory)
			return
		}
	}
	ret(stack, int32(n))
}

// hostSetError: set_error(ptr, len). The message is copied (memory may grow).
func hostSetError(ctx context.Context, m api.Module, stack []uint64) {
	inst := callerOf(ctx)
	if inst == nil {
		return
	}
	msg, ok := read(m, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
	inst.errSet = true
	if !ok {
		inst.errMsg = append(inst.errMsg[:0], "(set_error called with an out-of-range pointer or length)"...)
		return
	}
	inst.errMsg = append(inst.errMsg[:0], msg[:min(len(msg), maxErrorMessage)]...)
}

// hostLog: log(level, ptr, len). The message goes through the plugin's
// output budget, shared with its stdout and stderr: cut to the budget's
// MaxLine, or dropped and counted when the budget is spent, before it is
// copied. Out-of-range memory is reported (within the same budget) and
// otherwise ignored.
func hostLog(ctx context.Context, m api.Module, stack []uint64) {
	inst := callerOf(ctx)
	if inst == nil {
		return
	}
	level := slog.Level(api.DecodeI32(stack[0]))
	log := inst.p.log
	if !log.Enabled(ctx, level) {
		return
	}
	msg, ok := read(m, api.DecodeU32(stack[1]), api.DecodeU32(stack[2]))
	if !ok {
		if inst.p.out.Admit(len(badLogCall), 0) {
			log.LogAttrs(ctx, slog.LevelWarn, badLogCall)
		}
		return
	}
	msg, cut, ok := inst.p.out.Line(msg)
	switch {
	case !ok:
	case cut > 0:
		log.LogAttrs(ctx, level, string(msg), slog.Int(outbudget.TruncatedKey, cut))
	default:
		log.LogAttrs(ctx, level, string(msg))
	}
}

const badLogCall = "wasm: guest log call with an out-of-range pointer or length"

// hostLogEnabled: log_enabled(level) -> 0/1.
func hostLogEnabled(ctx context.Context, _ api.Module, stack []uint64) {
	inst := callerOf(ctx)
	if inst == nil || !inst.p.log.Enabled(ctx, slog.Level(api.DecodeI32(stack[0]))) {
		ret(stack, 0)
		return
	}
	ret(stack, 1)
}

// hostDeclare: declare(ptr, len) -> result; only during heksher_init.
func hostDeclare(ctx context.Context, m api.Module, stack []uint64) {
	inst := callerOf(ctx)
	if inst == nil || !inst.inInit {
		ret(stack, abi.ResultNotAllowed)
		return
	}
	b, ok := read(m, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
	if !ok {
		ret(stack, abi.ResultInvalidMemory)
		return
	}
	d, err := abi.DecodeDeclaration(b)
	if err != nil || len(d.Name) == 0 || len(d.Type) == 0 || !json.Valid(d.Default) {
		ret(stack, abi.ResultMalformed)
		return
	}
	decl := pluginapi.Declaration{
		Name:    string(d.Name),
		Type:    string(d.Type),
		Default: json.RawMessage(append([]byte(nil), d.Default...)),
		Version: string(d.Version),
	}
	it := d.Features.Iter()
	for f, ok := it.Next(); ok; f, ok = it.Next() {
		decl.ConfigurableFeatures = append(decl.ConfigurableFeatures, string(f))
	}
	if decl.ConfigurableFeatures == nil {
		decl.ConfigurableFeatures = []string{}
	}
	if len(d.Metadata) > 0 {
		if err := json.Unmarshal(d.Metadata, &decl.Metadata); err != nil {
			ret(stack, abi.ResultMalformed)
			return
		}
	}
	inst.decls = append(inst.decls, decl)
	inst.declareAtInit(ctx, decl)
	ret(stack, abi.ResultOK)
}

// hostSubscribe: subscribe(kinds) -> result; only during heksher_init.
func hostSubscribe(ctx context.Context, _ api.Module, stack []uint64) {
	inst := callerOf(ctx)
	if inst == nil || !inst.inInit {
		ret(stack, abi.ResultNotAllowed)
		return
	}
	mask := event.Set(api.DecodeU32(stack[0]))
	if mask&^event.All != 0 {
		ret(stack, abi.ResultMalformed)
		return
	}
	inst.subs, inst.subscribed = mask, true
	ret(stack, abi.ResultOK)
}
