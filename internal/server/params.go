package server

import (
	"errors"
	"net/url"
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

// parseQuery reads a raw query string the way Starlette does (Python's
// parse_qsl with keep_blank_values): pairs are split on "&" only (a ";" is
// part of the value, where Go's url.ParseQuery drops the pair), a pair
// without "=" has an empty value, and an invalid percent escape stays as
// written instead of dropping the pair. So `context_filters=a:(x;y)` or
// `a:(%zz)` reach validation and get the reference's 422, rather than
// being ignored.
func parseQuery(raw string) url.Values {
	out := url.Values{}
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key := pyUnquotePlus(k)
		out[key] = append(out[key], pyUnquotePlus(v))
	}
	return out
}

// pyUnquotePlus is Python's urllib.parse.unquote_plus: "+" is a space,
// valid %XX escapes are decoded, invalid ones kept, and the bytes are read
// as UTF-8 with invalid sequences replaced by U+FFFD.
func pyUnquotePlus(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
