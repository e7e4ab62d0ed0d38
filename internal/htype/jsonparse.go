package htype

import (
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 512

// ParseValue parses one JSON document (surrounding whitespace allowed).
// Errors are *SyntaxError values worded and positioned as Python's json
// module would report them.
func ParseValue(data []byte) (Value, error) {
	return parseDoc(jsonParser{data: data})
}

// ParsePythonJSON parses a document the way Python's json.loads does, which
// is how the reference server reads request bodies: like [ParseValue], but
// NaN, Infinity and -Infinity are accepted as floats. (Such values render
// as null, as the reference's encoder writes them.)
func ParsePythonJSON(data []byte) (Value, error) {
	return parseDoc(jsonParser{data: data, python: true})
}

func parseDoc(p jsonParser) (Value, error) {
	p.skipWS()
	v, err := p.value(0)
	if err != nil {
		return Value{}, err
	}
	p.skipWS()
	if p.pos != len(p.data) {
		return Value{}, p.fail("Extra data", p.pos)
	}
	return v, nil
}

type jsonParser struct {
	data   []byte
	pos    int
	python bool // accept NaN and ±Infinity
}

func (p *jsonParser) fail(msg string, bytePos int) error {
	if bytePos > len(p.data) {
		bytePos = len(p.data)
	}
	prefix := p.data[:bytePos]
	line, col := 1, 0
	lastNL := -1
	for i, c := range prefix {
		if c == '\n' {
			line++
			lastNL = i
		}
	}
	col = utf8.RuneCount(prefix[lastNL+1:]) + 1
	return &SyntaxError{Msg: msg, Pos: utf8.RuneCount(prefix), Line: line, Col: col}
}

func (p *jsonParser) skipWS() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (Value, error) {
	if depth > maxDepth {
		return Value{}, p.fail("Expecting value", p.pos)
	}
	if p.pos >= len(p.data) {
		return Value{}, p.fail("Expecting value", p.pos)
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.str()
		return Value{kind: String, s: s}, err
	case c == 't' && p.lit("true"):
		return Value{kind: Boolean, b: true}, nil
	case c == 'f' && p.lit("false"):
		return Value{kind: Boolean}, nil
	case c == 'n' && p.lit("null"):
		return Value{}, nil
	case p.python && c == 'N' && p.lit("NaN"):
		return FloatValue(math.NaN()), nil
	case p.python && c == 'I' && p.lit("Infinity"):
		return FloatValue(math.Inf(1)), nil
	case p.python && c == '-' && p.lit("-Infinity"):
		return FloatValue(math.Inf(-1)), nil
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return Value{}, p.fail("Expecting value", p.pos)
}

func (p *jsonParser) lit(word string) bool {
	if len(p.data)-p.pos >= len(word) && string(p.data[p.pos:p.pos+len(word)]) == word {
		p.pos += len(word)
		return true
	}
	return false
}

func (p *jsonParser) object(depth int) (Value, error) {
	p.pos++ // '{'
	var ms []Member
	p.skipWS()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return Value{kind: Object, members: []Member{}}, nil
	}
	for {
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return Value{}, p.fail("Expecting property name enclosed in double quotes", p.pos)
		}
		key, err := p.str()
		if err != nil {
			return Value{}, err
		}
		p.skipWS()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return Value{}, p.fail("Expecting ':' delimiter", p.pos)
		}
		p.pos++
		p.skipWS()
		v, err := p.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		ms = append(ms, Member{Key: key, Value: v})
		p.skipWS()
		if p.pos < len(p.data) && p.data[p.pos] == '}' {
			p.pos++
			return Value{kind: Object, members: dedupe(ms)}, nil
		}
		if p.pos >= len(p.data) || p.data[p.pos] != ',' {
			return Value{}, p.fail("Expecting ',' delimiter", p.pos)
		}
		p.pos++
		p.skipWS()
	}
}

func (p *jsonParser) array(depth int) (Value, error) {
	p.pos++ // '['
	items := []Value{}
	p.skipWS()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return Value{kind: Array, items: items}, nil
	}
	for {
		v, err := p.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		items = append(items, v)
		p.skipWS()
		if p.pos < len(p.data) && p.data[p.pos] == ']' {
			p.pos++
			return Value{kind: Array, items: items}, nil
		}
		if p.pos >= len(p.data) || p.data[p.pos] != ',' {
			return Value{}, p.fail("Expecting ',' delimiter", p.pos)
		}
		p.pos++
		p.skipWS()
	}
}

func (p *jsonParser) str() (string, error) {
	start := p.pos
	p.pos++ // opening quote
	// Fast path: no escapes.
	i := p.pos
	for i < len(p.data) {
		c := p.data[i]
		if c == '"' {
			s := string(p.data[p.pos:i])
			if !utf8.ValidString(s) {
				s = string([]rune(s))
			}
			p.pos = i + 1
			return s, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		i++
	}
	buf := make([]byte, 0, i-p.pos+16)
	buf = append(buf, p.data[p.pos:i]...)
	p.pos = i
	for {
		if p.pos >= len(p.data) {
			return "", p.fail("Unterminated string starting at", start)
		}
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			if !utf8.Valid(buf) {
				return string([]rune(string(buf))), nil
			}
			return string(buf), nil
		case c < 0x20:
			return "", p.fail("Invalid control character at", p.pos)
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		// escape
		if p.pos+1 >= len(p.data) {
			return "", p.fail("Unterminated string starting at", start)
		}
		e := p.data[p.pos+1]
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, n, ok := p.unicodeEscape(p.pos)
			if !ok {
				return "", p.fail("Invalid \\uXXXX escape", p.pos+1)
			}
			buf = utf8.AppendRune(buf, r)
			p.pos += n
			continue
		default:
			return "", p.fail("Invalid \\escape", p.pos)
		}
		p.pos += 2
	}
}

// unicodeEscape decodes \uXXXX (and a following low surrogate) at i.
func (p *jsonParser) unicodeEscape(i int) (rune, int, bool) {
	r1, ok := hex4(p.data, i+2)
	if !ok {
		return 0, 0, false
	}
	if utf16.IsSurrogate(r1) && r1 < 0xDC00 && i+12 <= len(p.data) && p.data[i+6] == '\\' && p.data[i+7] == 'u' {
		if r2, ok := hex4(p.data, i+8); ok && r2 >= 0xDC00 && r2 <= 0xDFFF {
			return utf16.DecodeRune(r1, r2), 12, true
		}
	}
	if utf16.IsSurrogate(r1) {
		return utf8.RuneError, 6, true
	}
	return r1, 6, true
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return 0, false
		}
	}
	return r, true
}

func (p *jsonParser) number() (Value, error) {
	start := p.pos
	i := p.pos
	if p.data[i] == '-' {
		i++
	}
	if i >= len(p.data) || p.data[i] < '0' || p.data[i] > '9' {
		return Value{}, p.fail("Expecting value", start)
	}
	if p.data[i] == '0' {
		i++
	} else {
		for i < len(p.data) && p.data[i] >= '0' && p.data[i] <= '9' {
			i++
		}
	}
	isFloat := false
	if i+1 < len(p.data) && p.data[i] == '.' && p.data[i+1] >= '0' && p.data[i+1] <= '9' {
		isFloat = true
		i += 2
		for i < len(p.data) && p.data[i] >= '0' && p.data[i] <= '9' {
			i++
		}
	}
	if i < len(p.data) && (p.data[i] == 'e' || p.data[i] == 'E') {
		j := i + 1
		if j < len(p.data) && (p.data[j] == '+' || p.data[j] == '-') {
			j++
		}
		if j < len(p.data) && p.data[j] >= '0' && p.data[j] <= '9' {
			isFloat = true
			for j < len(p.data) && p.data[j] >= '0' && p.data[j] <= '9' {
				j++
			}
			i = j
		}
	}
	p.pos = i
	lit := string(p.data[start:i])
	if isFloat {
		f, err := strconv.ParseFloat(lit, 64)
		if err != nil && !math.IsInf(f, 0) {
			return Value{}, p.fail("Expecting value", start)
		}
		return Value{kind: Number, f: f, isFloat: true}, nil
	}
	if lit == "-0" {
		lit = "0"
	}
	f, _ := strconv.ParseFloat(lit, 64)
	return Value{kind: Number, s: lit, f: f}, nil
}
