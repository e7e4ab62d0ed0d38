package server

import (
	"errors"
	"strconv"
	"strings"
)

// parseBool reads a boolean query parameter with pydantic v1's spellings.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "1", "on", "t", "true", "y", "yes":
		return true, true
	case "0", "off", "f", "false", "n", "no":
		return false, true
	}
	return false, false
}

func errBool(loc []any) valErr {
	return valErr{loc: loc, msg: "value could not be parsed to a boolean", typ: "type_error.bool"}
}

// parseRuleID reads an integer path parameter the way Python's int() does
// (surrounding whitespace, a sign and digit-group underscores allowed).
// Python's int has no size limit, so a valid integer too large for int64
// is accepted too and returned as 0, an id no rule has: the reference
// accepts it and then fails in its database, whose rule ids are 32-bit
// (500); the intended answer is the one for any missing rule.
func parseRuleID(s string) (int64, bool) {
	t := strings.TrimSpace(s)
	if t == "" || strings.HasPrefix(t, "_") || strings.HasSuffix(t, "_") || strings.Contains(t, "__") {
		return 0, false
	}
	body := strings.TrimLeft(t, "+-")
	if len(t)-len(body) > 1 || strings.HasPrefix(body, "_") {
		return 0, false
	}
	digits := strings.ReplaceAll(t, "_", "")
	id, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, true
		}
		return 0, false
	}
	return id, true
}

func errInt(loc []any) valErr {
	return valErr{loc: loc, msg: "value is not a valid integer", typ: "type_error.integer"}
}
