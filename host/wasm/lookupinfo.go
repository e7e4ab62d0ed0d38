package wasm

import (
	"context"
	"log/slog"

	"github.com/tetratelabs/wazero/api"

	"github.com/heksher-go/heksher/internal/abi"
	"github.com/heksher-go/heksher/pluginapi"
)

// hostGetSettingInfo: get_setting_info(name_ptr, name_len, ctx_ptr,
// ctx_len, buf_ptr, buf_cap) -> len | error. It is get_setting with the
// value's source, origin and rule around it (abi.LookupAnswer), encoded in
// a buffer the instance reuses, so that a lookup does not allocate.
func hostGetSettingInfo(ctx context.Context, m api.Module, stack []uint64) {
	inst := callerOf(ctx)
	if inst == nil {
		ret(stack, abi.ResultInternal)
		return
	}
	inst.answering = true
	hostGetSetting(ctx, m, stack)
	inst.answering = false
}

// lookupAnswer returns what a lookup writes into the guest's buffer: the
// bare value for get_setting, the encoded answer for get_setting_info.
func (inst *instance) lookupAnswer(val pluginapi.Value) []byte {
	if !inst.answering {
		return val.JSON
	}
	inst.answer = abi.AppendLookupAnswer(inst.answer[:0], uint8(val.Source), uint8(val.Origin), val.RuleID, val.Conditions, val.JSON)
	return inst.answer
}

// declareAtInit hands a declaration made during heksher_init to the
// plugin's settings when they register such declarations
// ([pluginapi.InitDeclarer]), so that the same init's lookups find it. A
// refusal is only logged at DEBUG: the host refuses the plugin's manifest
// again, with the reason, when it commits the plugin.
func (inst *instance) declareAtInit(ctx context.Context, d pluginapi.Declaration) {
	p := inst.p
	ds, ok := p.settings.(pluginapi.InitDeclarer)
	if !ok {
		return
	}
	if err := ds.DeclareAtInit(ctx, p.cfg.Name, d); err != nil && p.log.Enabled(ctx, slog.LevelDebug) {
		// Within the plugin's output budget, its name cut: a guest can
		// declare in a loop during init.
		var why reason
		why.begin(abi.ImportDeclare).text("setting ").quote([]byte(d.Name)).text(": ").text(err.Error())
		if p.out.AdmitLine(why.b, 0) {
			p.log.LogAttrs(ctx, slog.LevelDebug, "wasm: a declaration at init is not readable during init",
				slog.String("reason", string(why.b)))
		}
	}
}
