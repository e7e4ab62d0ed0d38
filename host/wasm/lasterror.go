package wasm

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tetratelabs/wazero/api"

	"github.com/heksher-go/heksher/internal/abi"
)

// maxQuoted bounds a guest-supplied name quoted in a reason, so that a huge
// name neither bloats the reason nor the log line.
const maxQuoted = 128

// reason is the instance's record of its most recent failing host call,
// answered by last_error: "function: why", at most abi.MaxReason bytes. It
// is emptied at the start of every call into the guest, and overwritten by
// every host call that answers a failure code; a call that succeeds leaves
// it as it was (as errno does).
type reason struct {
	fn string // the host function that failed
	b  []byte
}

// begin starts a new reason for fn: "fn: ".
func (r *reason) begin(fn string) *reason {
	r.fn = fn
	r.b = append(append(r.b[:0], fn...), ": "...)
	return r
}

// beginName starts a new reason for fn's call about name: `fn "name": `.
func (r *reason) beginName(fn string, name []byte) *reason {
	r.fn = fn
	r.b = append(append(r.b[:0], fn...), ' ')
	return r.quote(name).text(": ")
}

// text appends s, cut so that the whole stays within abi.MaxReason.
func (r *reason) text(s string) *reason {
	const ellipsis = "…"
	room := abi.MaxReason - len(r.b)
	if room <= 0 {
		return r
	}
	if len(s) <= room {
		r.b = append(r.b, s...)
		return r
	}
	cut := room - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	r.b = append(append(r.b, s[:max(cut, 0)]...), ellipsis...)
	return r
}

// quote appends name quoted, its first maxQuoted bytes only.
func (r *reason) quote(name []byte) *reason {
	s := name
	more := 0
	if len(s) > maxQuoted {
		more = len(s) - maxQuoted
		s = s[:maxQuoted]
	}
	q := strconv.Quote(string(s))
	if more > 0 {
		q = q[:len(q)-1] + "…\" (" + strconv.Itoa(len(name)) + " bytes)"
	}
	return r.text(q)
}

// fail records why fn answered code, logs it at DEBUG under the plugin's
// name within the plugin's output budget, and answers code on the stack.
// The reason is built by the caller with inst.why.begin(fn)…
func (inst *instance) fail(ctx context.Context, stack []uint64, code int32) {
	ret(stack, code)
	p := inst.p
	if !p.log.Enabled(ctx, slog.LevelDebug) || !p.out.AdmitLine(inst.why.b, 0) {
		return
	}
	p.log.LogAttrs(ctx, slog.LevelDebug, "wasm: host function refused the guest's call",
		slog.String("function", inst.why.fn), slog.Int("result", int(code)), slog.String("reason", string(inst.why.b)))
}

// failf is fail with the reason fn + ": " + msg.
func (inst *instance) failf(ctx context.Context, stack []uint64, code int32, fn, msg string) {
	inst.why.begin(fn).text(msg)
	inst.fail(ctx, stack, code)
}

// hostLastError: last_error(buf_ptr, buf_cap) -> len | INVALID_MEMORY. The
// reason is written only when it fits (as get_setting's value is); a bad
// range leaves the reason as it was, so that the guest can ask again.
func hostLastError(ctx context.Context, m api.Module, stack []uint64) {
	inst := callerOf(ctx)
	if inst == nil {
		ret(stack, abi.ResultInternal)
		return
	}
	ptr, capacity := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	if _, ok := read(m, ptr, capacity); !ok {
		ret(stack, abi.ResultInvalidMemory)
		return
	}
	n := len(inst.why.b)
	if n > 0 && n <= int(capacity) && !m.Memory().Write(ptr, inst.why.b) {
		ret(stack, abi.ResultInvalidMemory)
		return
	}
	ret(stack, int32(n))
}

// badRange answers INVALID_MEMORY for an out-of-range argument of fn, an out-of-range argument of fn.
func (inst *instance) badRange(ctx context.Context, stack []uint64, m api.Module, fn, what string, ptr, n uint32) {
	size := uint32(0)
	if mem := m.Memory(); mem != nil {
		size = mem.Size()
	}
	inst.why.begin(fn).text(what + " [" + strconv.FormatUint(uint64(ptr), 10) + ", +" + strconv.FormatUint(uint64(n), 10) +
		") lies outside the guest's memory of " + strconv.FormatUint(uint64(size), 10) + " bytes")
	inst.fail(ctx, stack, abi.ResultInvalidMemory)
}

// badContext answers MALFORMED for a context that does not decode.
func (inst *instance) badContext(ctx context.Context, stack []uint64, name []byte, why string) {
	inst.why.beginName(abi.ImportGetSetting, name).text("the context does not decode (docs/ABI.md §5.2): " + why)
	inst.fail(ctx, stack, abi.ResultMalformed)
}

// lookupFailed answers code for a lookup that settings refused with err.
func (inst *instance) lookupFailed(ctx context.Context, stack []uint64, code int32, name []byte, err error) {
	inst.why.beginName(abi.ImportGetSetting, name).text(strings.TrimPrefix(err.Error(), "pluginapi: "))
	inst.fail(ctx, stack, code)
}
