package wasm

import (
	"context"
	"strconv"

	"github.com/tetratelabs/wazero/api"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/internal/abi"
)

// eventInfo is what event_info answers about the event being handled.
type eventInfo struct {
	active bool  // an event handler is running
	flags  int32 // abi.FlagInitial, abi.FlagUnreadable
	reason int32 // abi.Closing…, 0 unless a closing event
}

// infoOf describes d for event_info.
func infoOf(d event.Delivery) eventInfo {
	info := eventInfo{active: true}
	switch e := d.Event.(type) {
	case *event.SettingChanged:
		if e.Initial() {
			info.flags |= abi.FlagInitial
		}
		if d.Unreadable {
			info.flags |= abi.FlagUnreadable
		}
	case *event.Closing:
		switch e.Reason {
		case event.ClosingReplaced:
			info.reason = abi.ClosingReplaced
		case event.ClosingRemoved:
			info.reason = abi.ClosingRemoved
		default:
			info.reason = abi.ClosingShutdown
		}
	}
	return info
}

// hostSubscribeSetting: subscribe_setting(name_ptr, name_len) -> result;
// only during heksher_init. The first call switches the instance from every
// setting to its declarations plus the names given ("*": every setting).
func hostSubscribeSetting(ctx context.Context, m api.Module, stack []uint64) {
	inst := callerOf(ctx)
	if inst == nil {
		ret(stack, abi.ResultNotAllowed)
		return
	}
	if !inst.inInit {
		inst.failf(ctx, stack, abi.ResultNotAllowed, abi.ImportSubscribeSetting, "only during heksher_init: the plugin's subscriptions are fixed when it loads")
		return
	}
	name, ok := read(m, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
	if !ok {
		inst.badRange(ctx, stack, m, abi.ImportSubscribeSetting, "the name", api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
		return
	}
	inst.selected = true
	if len(name) > 0 {
		inst.selection = append(inst.selection, string(name))
	}
	ret(stack, abi.ResultOK)
}

// hostEventInfo: event_info(what) -> value | result; only in an event
// handler.
func hostEventInfo(ctx context.Context, _ api.Module, stack []uint64) {
	inst := callerOf(ctx)
	if inst == nil {
		ret(stack, abi.ResultNotAllowed)
		return
	}
	if !inst.info.active {
		inst.failf(ctx, stack, abi.ResultNotAllowed, abi.ImportEventInfo, "only in an event handler: it describes the event being handled")
		return
	}
	switch what := api.DecodeI32(stack[0]); what {
	case abi.InfoFlags:
		ret(stack, inst.info.flags)
	case abi.InfoClosingReason:
		ret(stack, inst.info.reason)
	default:
		inst.failf(ctx, stack, abi.ResultMalformed, abi.ImportEventInfo, "unknown question "+strconv.Itoa(int(what))+
			" (1 the event's flags, 2 a closing event's reason)")
	}
}
