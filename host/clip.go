package host

import (
	"strconv"
	"unicode/utf8"
)

// Bounds on what a declaration may hold: a plugin's refused declaration is
// logged and shown in its status, and no refusal may quote more than a
// line's worth of what the plugin sent.
const (
	maxSettingName = 1 << 10  // bytes of a setting name
	maxTypeString  = 64 << 10 // bytes of a type string (an Enum may list many options)
	maxQuoted      = 256      // bytes of a value or list quoted in an error
)

// clip returns s, or its first maxQuoted bytes (cut at a character
// boundary) followed by how long it was.
func clip(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "… (" + strconv.Itoa(len(s)) + " bytes)"
}

// clipped is an error whose text is cut as clip cuts; it wraps the error
// so that errors.Is and errors.As still see it.
type clipped struct{ err error }

func (c clipped) Error() string { return clip(c.err.Error()) }
func (c clipped) Unwrap() error { return c.err }
