package wasm

// Limits of an instance's intern table: past them, new strings are
// allocated per lookup instead of kept.
const (
	internMaxEntries = 4096
	internMaxBytes   = 256 << 10
)

// internTable turns guest bytes (setting names, context features and values)
// into host strings without allocating for strings seen before. A lookup's
// strings must not alias guest memory, which the guest may overwrite or a
// memory.grow may move while a Settings implementation still holds them;
// copying every time would allocate on every lookup. Owned by one instance,
// so it needs no lock.
type internTable struct {
	m     map[string]string
	bytes int
	// recent remembers the string last seen at each argument position (the
	// setting name, then each feature name and value), so that a guest
	// repeating a lookup skips even the map: comparing bytes is cheaper
	// than hashing them.
	recent [internRecent]string
}

const internRecent = 16

// at returns the string for b seen at argument position i.
func (t *internTable) at(i int, b []byte) string {
	if i < internRecent {
		if s := t.recent[i]; s == string(b) {
			return s
		}
		s := t.get(b)
		t.recent[i] = s
		return s
	}
	return t.get(b)
}

func (t *internTable) get(b []byte) string {
	if s, ok := t.m[string(b)]; ok { // no allocation: the compiler optimises the conversion away
		return s
	}
	s := string(b)
	if len(t.m) < internMaxEntries && t.bytes+len(s) <= internMaxBytes {
		if t.m == nil {
			t.m = make(map[string]string, 64)
		}
		t.m[s] = s
		t.bytes += len(s)
	}
	return s
}
