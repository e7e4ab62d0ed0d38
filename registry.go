package heksher

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/internal/wire"
)

// settingHandle is what a client needs from a setting, whatever its value
// type: its declaration, and the conversion of server values.
type settingHandle interface {
	settingName() string
	// declaration is the body of the setting's declaration (B1).
	declaration() wire.DeclareRequest
	versionMajor() int
	// applyDeclaredDefault converts an outdated declaration's default_value
	// difference (rule = nil) and, if accepted, makes it the server default.
	// Non-empty coercions mean it was coerced; an error means it was
	// rejected and the previous server default stays.
	applyDeclaredDefault(raw json.RawMessage, log *slog.Logger) (coercions []string, err error)
	// prepareUpdate converts one query-answer entry; nothing is visible until
	// commit. An error fails the whole update.
	prepareUpdate(from supplier, rules []wire.QueryRule, def json.RawMessage, log *slog.Logger) (preparedUpdate, error)
	retrieved() bool
	asAny() AnySetting
	// setConflict records the conflict of the last answered declaration
	// (nil: none).
	setConflict(ce *ConflictError)
}

// preparedUpdate is one setting's converted answer, ready to swap in.
type preparedUpdate interface {
	// commit swaps the rule set and server default in at once.
	commit()
	// rejected lists the server values refused (B48, B50).
	rejected() []event.RejectedValue
	// hasChanged reports, after commit, whether the rules or the server
	// default really differ from before; it allocates nothing.
	hasChanged() bool
	// changed reports the rule sets before and after (fresh copies, built
	// on each call), and whether they really differ.
	changed() (old, new event.RuleSet, ok bool)
}

// supplier is what a setting needs from the client that supplied its rule
// set, to build the namespace of a Get (defaults, then explicit values).
type supplier interface {
	// warnExplicit logs Get's warnings (unknown features, untracked values); it must not allocate
	// when there is nothing to warn about.
	warnExplicit(ctx context.Context, explicit map[string]string)
	// defaultValue is the static default of feature, else its dynamic one.
	defaultValue(ctx context.Context, feature string) (string, bool)
	// isLive is false once the supplier was closed.
	isLive() bool
	logger() *slog.Logger
}

// mainOccupant is what the main slot can hold: the temporary holder, a
// [*Client], or a stub.
type mainOccupant interface {
	register(s settingHandle)
}

// The main slot, shaped like slog's default logger: set only explicitly,
// never required. The zero value means a fresh temporary holder.
var mainSlot struct {
	mu  sync.Mutex
	occ mainOccupant
}

// tempHolder keeps the settings created while no real client is main.
type tempHolder struct {
	pending []settingHandle
	last    map[string]settingHandle // the latest of pending by name
}

func (h *tempHolder) register(s settingHandle) {
	if prev, ok := h.last[s.settingName()]; ok {
		// No client to ask for a logger yet: slog.Default, like the
		// standard library.
		reportRedeclared(slog.Default(), prev, s)
	}
	if h.last == nil {
		h.last = map[string]settingHandle{}
	}
	h.last[s.settingName()] = s
	h.pending = append(h.pending, s)
}

// occupantLocked returns the slot's occupant; mainSlot.mu must be held.
func occupantLocked() mainOccupant {
	if mainSlot.occ == nil {
		mainSlot.occ = &tempHolder{}
	}
	return mainSlot.occ
}

// registerSetting registers a new setting with the main occupant: kept by the
// temporary holder, queued for declaration by a client (even a closed one),
// ignored by a stub. It never blocks on I/O.
func registerSetting(s settingHandle) {
	mainSlot.mu.Lock()
	defer mainSlot.mu.Unlock()
	occupantLocked().register(s)
}

// installMain makes o the main occupant unconditionally (the stub's way in);
// settings pending in the temporary holder are dropped.
func installMain(o mainOccupant) {
	mainSlot.mu.Lock()
	defer mainSlot.mu.Unlock()
	mainSlot.occ = o
}

// currentSupplier returns the main occupant if it supplies namespaces, or
// nil (the temporary holder).
func currentSupplier() supplier {
	mainSlot.mu.Lock()
	defer mainSlot.mu.Unlock()
	s, _ := occupantLocked().(supplier)
	return s
}

// ResetMainForTesting puts a fresh temporary holder in the main slot, as if
// no client had ever become main. Settings created afterwards wait for the
// next client. It is meant for tests; restore with t.Cleanup:
//
//	heksher.ResetMainForTesting()
//	t.Cleanup(heksher.ResetMainForTesting)
func ResetMainForTesting() {
	mainSlot.mu.Lock()
	defer mainSlot.mu.Unlock()
	mainSlot.occ = &tempHolder{}
}

// MainClient returns the [Client] in the main slot, or nil if the slot holds
// no real client (nothing became main yet, or a stub did). A closed client
// stays in the slot until another takes over.
func MainClient() *Client {
	mainSlot.mu.Lock()
	defer mainSlot.mu.Unlock()
	c, _ := occupantLocked().(*Client)
	return c
}

// takeMain switches the main slot to c (B52–B56): on success c holds the slot and has
// inherited the pending or tracked settings of the previous occupant.
func (c *Client) takeMain() error {
	mainSlot.mu.Lock()
	defer mainSlot.mu.Unlock()
	switch prev := occupantLocked().(type) {
	case *tempHolder:
		c.mu.Lock()
		c.queue = append(c.queue, prev.pending...)
		c.mu.Unlock()
	case *Client:
		if prev == c {
			return ErrAlreadyMain
		}
		c.log.Warn("switching main heksher clients! this is NOT recommended! (unless this is a test)")
		prev.mu.Lock()
		queued, retrying := prev.unprocessedLocked()
		prevClosed := prev.closed
		prevTracked := make([]settingHandle, 0, len(prev.tracked))
		for _, name := range sortedKeys(prev.tracked) {
			prevTracked = append(prevTracked, prev.tracked[name])
		}
		prevCanonical := maps.Clone(prev.canonical)
		prevTracking := prev.tracking.Load()
		prev.mu.Unlock()
		if len(queued)+len(retrying) > 0 {
			return unprocessedError(queued, retrying, prevClosed)
		}
		if !slices.Equal(prev.features, c.features) {
			return &MainSwitchError{From: "*heksher.Client", To: "*heksher.Client",
				Reason: fmt.Sprintf("context features differ: %v (previous) vs %v", prev.features, c.features)}
		}
		c.mu.Lock()
		adopted := map[string]bool{}
		for _, s := range prevTracked {
			if _, ok := c.tracked[s.settingName()]; !ok {
				c.tracked[s.settingName()] = s
				adopted[s.settingName()] = true
			}
		}
		// The canonical names learnt from renames go with the settings:
		// the service keys its answers for them by those names.
		for canonical, declared := range prevCanonical {
			if _, ok := c.canonical[canonical]; !ok && adopted[declared] {
				c.canonical[canonical] = declared
			}
		}
		c.mu.Unlock()
		if !prevTracking.equal(c.tracking.Load()) {
			c.log.Warn("new main heksher client tracks different context options",
				"previous", prevTracking.filters(), "new", c.tracking.Load().filters())
		}
	default:
		return &MainSwitchError{From: fmt.Sprintf("%T", prev), To: "*heksher.Client",
			Reason: "only the temporary holder or another *heksher.Client can be replaced"}
	}
	mainSlot.occ = c
	return nil
}

// unprocessedError is the refusal of B56 (docs/CONFORMANCE.md). Declarations awaiting
// a retry (degraded start) count as unprocessed, like the queued ones: a
// retry is only a declaration put back in the queue when its timer fires, so
// whether a failed declaration sits in the queue or in the retry list when
// the client closes is a matter of timing, and the switch must not depend on
// it. Handing them to the new client instead would move pending declarations
// between clients, which the reference never does (B56 refuses the queued ones), and
// switching without them would leave those settings with no client to
// declare them, silently. The error names them instead.
func unprocessedError(queued, retrying []string, prevClosed bool) *MainSwitchError {
	reason := "previous main heksher client still has unprocessed declarations, "
	switch {
	case len(queued) > 0:
		reason += "did you forget to close it?"
	case prevClosed:
		reason += "it was closed before the service accepted them"
	default:
		reason += "wait until the service accepts them"
	}
	var parts []string
	if len(queued) > 0 {
		parts = append(parts, "queued: "+quoteNames(queued))
	}
	if len(retrying) > 0 {
		parts = append(parts, "awaiting a retry: "+quoteNames(retrying))
	}
	return &MainSwitchError{From: "*heksher.Client", To: "*heksher.Client",
		Reason:  reason + " (" + strings.Join(parts, "; ") + ")",
		Pending: slices.Concat(queued, retrying)}
}

func quoteNames(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
