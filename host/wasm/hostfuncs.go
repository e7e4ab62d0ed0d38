package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"

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
		inst.wd.pace()
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
	def(abi.ImportSubscribeSetting, hostSubscribeSetting, []api.ValueType{i32, i32}, []api.ValueType{i32}, "name_ptr", "name_len")
	def(abi.ImportEventInfo, hostEventInfo, []api.ValueType{i32}, []api.ValueType{i32}, "what")
	def(abi.ImportLastError, hostLastError, []api.ValueType{i32, i32}, []api.ValueType{i32}, "buf_ptr", "buf_cap")
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
		inst.badRange(ctx, stack, m, abi.ImportGetSetting, "the name", api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
		return
	}
	ctxb, ok := read(m, api.DecodeU32(stack[2]), api.DecodeU32(stack[3]))
	if !ok {
		inst.badRange(ctx, stack, m, abi.ImportGetSetting, "the context", api.DecodeU32(stack[2]), api.DecodeU32(stack[3]))
		return
	}
	bufPtr, bufCap := api.DecodeU32(stack[4]), api.DecodeU32(stack[5])
	if _, ok := read(m, bufPtr, bufCap); !ok {
		inst.badRange(ctx, stack, m, abi.ImportGetSetting, "the value buffer", bufPtr, bufCap)
		return
	}
	// One pass over the context: decode, check and intern together.
	feats := inst.features[:0]
	if len(ctxb) > 0 {
		r := abi.NewReader(ctxb)
		n := r.U32()
		if uint64(n)*8 > uint64(r.Len()) {
			inst.badContext(ctx, stack, name, "it counts "+strconv.FormatUint(uint64(n), 10)+" pairs in "+strconv.Itoa(len(ctxb))+" bytes")
			return
		}
		for i := 1; i <= 2*int(n); i += 2 {
			f, v := r.Str(), r.Str()
			if r.Err() != nil {
				clear(feats)
				inst.badContext(ctx, stack, name, "pair "+strconv.Itoa(i/2+1)+" of "+strconv.FormatUint(uint64(n), 10)+" does not decode")
				return
			}
			feats = append(feats, pluginapi.Feature{Name: inst.strs.at(i, f), Value: inst.strs.at(i+1, v)})
		}
		if r.Len() != 0 {
			clear(feats)
			inst.badContext(ctx, stack, name, strconv.Itoa(r.Len())+" bytes follow its "+strconv.FormatUint(uint64(n), 10)+" pairs")
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
		inst.lookupFailed(ctx, stack, abi.ResultNotFound, name, err)
		return
	case errors.Is(err, pluginapi.ErrNotDeclared):
		inst.lookupFailed(ctx, stack, abi.ResultNotDeclared, name, err)
		return
	case errors.Is(err, pluginapi.ErrBadContext):
		inst.lookupFailed(ctx, stack, abi.ResultBadContext, name, err)
		return
	default:
		inst.why.beginName(abi.ImportGetSetting, name).text("the host failed: ").text(err.Error())
		if p.out.AdmitLine(inst.why.b, 0) {
			p.log.LogAttrs(ctx, slog.LevelWarn, "wasm: lookup failed", slog.String("reason", string(inst.why.b)))
		}
		ret(stack, abi.ResultInternal)
		return
	}
	out := inst.lookupAnswer(val) // the bare value, or get_setting_info's answer
	n := len(out)
	if n > int(^uint32(0)>>1) {
		inst.why.beginName(abi.ImportGetSetting, name).text("the value of " + strconv.Itoa(n) + " bytes is too large for the ABI")
		inst.fail(ctx, stack, abi.ResultInternal)
		return
	}
	if uint32(n) <= bufCap && n > 0 {
		if !m.Memory().Write(bufPtr, out) {
			inst.badRange(ctx, stack, m, abi.ImportGetSetting, "the value buffer", bufPtr, bufCap)
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
	if inst == nil {
		ret(stack, abi.ResultNotAllowed)
		return
	}
	if !inst.inInit {
		inst.failf(ctx, stack, abi.ResultNotAllowed, abi.ImportDeclare, "only during heksher_init: the plugin's declarations are fixed when it loads")
		return
	}
	b, ok := read(m, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
	if !ok {
		inst.badRange(ctx, stack, m, abi.ImportDeclare, "the declaration", api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
		return
	}
	d, err := abi.DecodeDeclaration(b)
	switch {
	case err != nil:
		inst.failf(ctx, stack, abi.ResultMalformed, abi.ImportDeclare, "the declaration does not decode (docs/ABI.md §5.4): "+err.Error())
		return
	case len(d.Name) == 0:
		inst.failf(ctx, stack, abi.ResultMalformed, abi.ImportDeclare, "the setting's name is empty")
		return
	case len(d.Type) == 0:
		inst.why.begin(abi.ImportDeclare).text("setting ").quote(d.Name).text(" has an empty type: give a Heksher type such as \"int\" or \"str\"")
		inst.fail(ctx, stack, abi.ResultMalformed)
		return
	case !json.Valid(d.Default):
		inst.why.begin(abi.ImportDeclare).text("setting ").quote(d.Name).text(": the default ").quote(d.Default).text(" is not JSON (a string default is quoted: \"\\\"text\\\"\")")
		inst.fail(ctx, stack, abi.ResultMalformed)
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
			inst.why.begin(abi.ImportDeclare).text("setting ").quote(d.Name).text(": the metadata is not a JSON object: ").text(err.Error())
			inst.fail(ctx, stack, abi.ResultMalformed)
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
	if inst == nil {
		ret(stack, abi.ResultNotAllowed)
		return
	}
	if !inst.inInit {
		inst.failf(ctx, stack, abi.ResultNotAllowed, abi.ImportSubscribe, "only during heksher_init: the plugin's subscriptions are fixed when it loads")
		return
	}
	mask := event.Set(api.DecodeU32(stack[0]))
	if mask&^event.All != 0 {
		inst.failf(ctx, stack, abi.ResultMalformed, abi.ImportSubscribe, "unknown bits "+strconv.FormatUint(uint64(mask&^event.All), 2)+
			" in kinds "+strconv.FormatUint(uint64(mask), 2)+" (binary); the kinds are 2 declared, 4 update_ok, 8 update_error, 16 setting_changed, 32 closing")
		return
	}
	inst.subs, inst.subscribed = mask, true
	ret(stack, abi.ResultOK)
}
