package wasm

import (
	"errors"
	"time"
	"unsafe"

	"github.com/heksher-go/heksher/internal/abi"
)

// Delivery describes how an event reached the plugin.
type Delivery struct {
	// Seq numbers the plugin's deliveries: 1, 2, …; a gap means dropped events.
	Seq uint64
	// Dropped counts the events dropped from the plugin's queue since the
	// previous delivery.
	Dropped uint64
	// EventSeq is the event's own number in the client that emitted it.
	EventSeq uint64
	// Time is when the event happened; zero if unknown.
	Time time.Time
	// Unreadable is set on a setting_changed for a setting the plugin may
	// not read: it did not declare it, and the host does not grant it
	// undeclared reads, so its lookups answer [ErrNotDeclared]. (Such
	// events come only for settings asked for with [SubscribeSetting].)
	Unreadable bool
	// Reason says why the plugin is closing, on a closing event.
	Reason ClosingReason
}

// handlers are the registered functions. A guest instance is
// single-threaded and the host calls one export at a time, so plain package
// variables are safe.
var handlers struct {
	init           func(config []byte) error
	declared       func(Delivery, Declared) error
	updateOK       func(Delivery, UpdateOK) error
	updateError    func(Delivery, UpdateError) error
	settingChanged func(Delivery, SettingChanged) error
	closing        func(Delivery) error
}

// inInit is true while the init function runs.
var inInit bool

// Init registers the function the host calls once per instance, before any
// event, with the plugin's config (the bytes of its "config" in the host
// configuration, often JSON; valid only during the call). Declare settings
// from it. A returned error fails the load (or the restart).
func Init(fn func(config []byte) error) { handlers.init = fn }

// OnDeclared registers the handler of declared events.
func OnDeclared(fn func(Delivery, Declared) error) { handlers.declared = fn }

// OnUpdateOK registers the handler of successful updates.
func OnUpdateOK(fn func(Delivery, UpdateOK) error) { handlers.updateOK = fn }

// OnUpdateError registers the handler of failed updates.
func OnUpdateError(fn func(Delivery, UpdateError) error) { handlers.updateError = fn }

// OnSettingChanged registers the handler of setting changes.
func OnSettingChanged(fn func(Delivery, SettingChanged) error) { handlers.settingChanged = fn }

// OnClosing registers the handler of the client's last event.
func OnClosing(fn func(Delivery) error) { handlers.closing = fn }

// handleInit runs the init function, then subscribes to the kinds that have
// handlers.
func handleInit(cfg []byte) int32 {
	if handlers.init != nil {
		inInit = true
		err := handlers.init(cfg)
		inInit = false
		if err != nil {
			return fail(err)
		}
	}
	var mask uint32
	for kind, set := range map[uint32]bool{
		abi.KindDeclared:       handlers.declared != nil,
		abi.KindUpdateOK:       handlers.updateOK != nil,
		abi.KindUpdateError:    handlers.updateError != nil,
		abi.KindSettingChanged: handlers.settingChanged != nil,
		abi.KindClosing:        handlers.closing != nil,
	} {
		if set {
			mask |= 1 << kind
		}
	}
	if hostSubscribe(mask) != abi.ResultOK {
		return fail(ErrHost)
	}
	// The empty selection: setting_changed for the declared settings (and
	// those asked for with SubscribeSetting), not every setting as for
	// guests that never call subscribe_setting.
	if hostSubscribeSetting("") != abi.ResultOK {
		return fail(ErrHost)
	}
	return abi.StatusOK
}

// handleEvent decodes payload and calls the handler of kind. The decoded
// event aliases payload; nothing is allocated.
func handleEvent(kind uint32, payload []byte) int32 {
	h, body, err := abi.DecodeHeader(payload)
	if err != nil || h.Kind != kind {
		return fail(errMalformedEvent)
	}
	d := Delivery{Seq: h.DeliverySeq, Dropped: h.Dropped, EventSeq: h.EventSeq}
	if h.TimeUnixNano != 0 {
		d.Time = time.Unix(0, h.TimeUnixNano)
	}
	switch kind {
	case abi.KindDeclared:
		if handlers.declared == nil {
			return abi.StatusUnsupported
		}
		e, err := abi.DecodeDeclared(body)
		if err != nil {
			return fail(errMalformedEvent)
		}
		return status(handlers.declared(d, Declared{e}))
	case abi.KindUpdateOK:
		if handlers.updateOK == nil {
			return abi.StatusUnsupported
		}
		e, err := abi.DecodeUpdateOK(body)
		if err != nil {
			return fail(errMalformedEvent)
		}
		return status(handlers.updateOK(d, UpdateOK{e}))
	case abi.KindUpdateError:
		if handlers.updateError == nil {
			return abi.StatusUnsupported
		}
		e, err := abi.DecodeUpdateError(body)
		if err != nil {
			return fail(errMalformedEvent)
		}
		return status(handlers.updateError(d, UpdateError{e}))
	case abi.KindSettingChanged:
		if handlers.settingChanged == nil {
			return abi.StatusUnsupported
		}
		e, err := abi.DecodeSettingChanged(body)
		if err != nil {
			return fail(errMalformedEvent)
		}
		d.Unreadable = hostEventInfo(abi.InfoFlags)&abi.FlagUnreadable != 0
		return status(handlers.settingChanged(d, SettingChanged{e}))
	case abi.KindClosing:
		if handlers.closing == nil {
			return abi.StatusUnsupported
		}
		d.Reason = closingReason(hostEventInfo(abi.InfoClosingReason))
		return status(handlers.closing(d))
	}
	return abi.StatusUnsupported
}

var errMalformedEvent = errors.New("wasm: malformed event payload")

func status(err error) int32 {
	switch {
	case err == nil:
		return abi.StatusOK
	case errors.Is(err, ErrUnsupported):
		return abi.StatusUnsupported
	}
	return fail(err)
}

func fail(err error) int32 {
	hostSetError(err.Error())
	return abi.StatusError
}

// str returns b as a string without copying; it is valid only while b is.
func str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}
