package heksher

import (
	"context"
	"errors"
	"sync"
)

// A stub made main patches a setting for the whole process: two parallel
// tests patching the same package-level setting read each other's values.
// A scoped stub keeps its values to itself instead: they are seen only by
// reads made with a context from its Context method, so each test (or
// subtest) gets its own stub and its own values, in parallel.
//
// Reads stay as fast as before for settings no scoped stub patches: each
// setting counts the scoped stubs holding a value for it, and while the
// count is not zero its snapshots carry a flag; only a read that finds the
// flag on the snapshot it loads anyway looks in its context. (A separate
// atomic counter read at every Get cost 2 to 5 ns of a 30 to 140 ns read.)

// stubKey is the context key of a scoped stub.
type stubKey struct{}

// errScopedMain is SetAsMain's answer on a scoped stub.
var errScopedMain = errors.New("heksher: a scoped stub is never main; read with stub.Context(ctx) instead")

// NewScopedStub returns a stub whose values are seen only by reads made
// with a context returned by its [StubClient.Context]: Get, Lookup, GetFor
// and the other reads of any setting, package-level ones included. Every
// other read, in this test or another, sees the setting as it would without
// this stub. It is the test double for parallel tests:
//
//	func TestCache(t *testing.T) {
//		t.Parallel()
//		stub := heksher.NewScopedStub()
//		ctx := stub.Context(t.Context())
//		heksher.PatchValue(t, stub, cacheSize, 10)
//		got := newCache(ctx) // reads cacheSize.Get(ctx, nil): 10
//		…
//	}
//
// The code under test must read with the context it is given (or one
// derived from it); a read with context.Background() does not see the
// stub's values. Patches, restores and defaults work as with
// [NewStubClient]; a scoped stub cannot be made main. It accepts the same
// options, of which only [WithLogger] is used.
func NewScopedStub(opts ...Option) *StubClient {
	c := NewStubClient(opts...)
	c.isScoped = true
	return c
}

// Context returns a copy of parent whose reads see c's values: for a
// scoped stub (see [NewScopedStub]), the values it patched; for a stub made
// main, what every read sees anyway.
func (c *StubClient) Context(parent context.Context) context.Context {
	return context.WithValue(parent, stubKey{}, c)
}

// scopedState is the values of one scoped stub, by setting.
type scopedState struct {
	mu sync.Mutex // serialises patches and restores
	m  sync.Map   // *Setting[T] → *snapshot[T]
}

// scopedSnapshot returns the snapshot a read of s with ctx sees, when a
// scoped stub in ctx patched s; else nil. It allocates nothing.
func scopedSnapshot[T any](ctx context.Context, s *Setting[T]) *snapshot[T] {
	c, ok := ctx.Value(stubKey{}).(*StubClient)
	if !ok || !c.isScoped {
		return nil
	}
	v, ok := c.scoped.m.Load(s)
	if !ok {
		return nil
	}
	return v.(*snapshot[T])
}

// current is the snapshot a read of s with ctx uses.
func (s *Setting[T]) current(ctx context.Context) *snapshot[T] {
	sn := s.state.Load()
	if sn != nil && sn.scoped {
		if o := scopedSnapshot(ctx, s); o != nil {
			return o
		}
	}
	return sn
}

// storeLocked publishes next as s's snapshot, flagged while scoped stubs
// hold values for s. A nil next (never retrieved, no server default) stays
// nil unless it needs the flag; such a snapshot reads as never retrieved.
// s.wmu must be held.
func (s *Setting[T]) storeLocked(next *snapshot[T]) {
	scoped := s.scopedN.Load() > 0
	switch {
	case next == nil && scoped:
		next = &snapshot[T]{scoped: true}
	case next != nil:
		next.scoped = scoped
	}
	s.state.Store(next)
}

// republishLocked publishes a copy of the current snapshot with the scoped
// flag brought up to date (snapshots are immutable once published). s.wmu
// must be held.
func (s *Setting[T]) republishLocked() {
	var next *snapshot[T]
	if cur := s.state.Load(); cur != nil {
		cp := *cur
		next = &cp
		if !next.retrieved && !next.hasDefault {
			next = nil // only the flag made it non-nil
		}
	}
	s.storeLocked(next)
}

// setScoped makes next the scoped stub c's snapshot of s and returns the
// restore that puts back the previous one (LIFO, like the global patches).
func setScoped[T any](c *StubClient, s *Setting[T], next *snapshot[T]) (restore func()) {
	c.scoped.mu.Lock()
	defer c.scoped.mu.Unlock()
	prev, had := c.scoped.m.Load(s)
	if cur := s.state.Load(); cur != nil {
		next.hasDefault, next.serverDefault, next.defaultWire = cur.hasDefault, cur.serverDefault, cur.defaultWire
	}
	// The value first, then the flag: a read that sees the flag finds it.
	c.scoped.m.Store(s, next)
	if !had && s.scopedN.Add(1) == 1 {
		s.wmu.Lock()
		s.republishLocked()
		s.wmu.Unlock()
	}
	return func() {
		c.scoped.mu.Lock()
		defer c.scoped.mu.Unlock()
		if had {
			c.scoped.m.Store(s, prev)
			return
		}
		if _, ok := c.scoped.m.LoadAndDelete(s); ok && s.scopedN.Add(-1) == 0 {
			s.wmu.Lock()
			s.republishLocked()
			s.wmu.Unlock()
		}
	}
}
