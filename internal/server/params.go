package server

import (
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
func parseRuleID(s string) (int64, bool) {
	t := strings.TrimSpace(s)
	if t == "" || strings.HasPrefix(t, "_") || strings.HasSuffix(t, "_") || strings.Contains(t, "__") {
		return 0, false
	}
	body := strings.TrimLeft(t, "+-")
	if len(t)-len(body) > 1 || strings.HasPrefix(body, "_") {
		return 0, false
	}
	id, err := strconv.ParseInt(strings.ReplaceAll(t, "_", ""), 10, 64)
	if err != nil {
		return 0, false
	}
	return id, true
}

func errInt(loc []any) valErr {
	return valErr{loc: loc, msg: "value is not a valid integer", typ: "type_error.integer"}
}
