package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"mime"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/heksher-go/heksher/internal/htype"
)

// maxBody bounds request bodies; the reference has no limit, but a
// development server should not buffer arbitrary amounts.
const maxBody = 8 << 20

// decodeBody turns raw request bytes into the body object, the way FastAPI
// does for a model parameter: an empty body is a missing field, a body with
// a non-JSON content type is not a dict, malformed JSON is a jsondecode
// error at its character position, and a non-object is not a dict.
//
// FastAPI reports malformed JSON on its own, before looking at path and
// query parameters, while the other body problems join theirs; see
// joinBody.
func decodeBody(raw []byte, contentType string, present bool) (htype.Value, []valErr) {
	if !present || len(raw) == 0 {
		return htype.Value{}, []valErr{errMissing([]any{"body"})}
	}
	if contentType != "" && !isJSONType(contentType) {
		return htype.Value{}, []valErr{errDict([]any{"body"})}
	}
	text, ok := decodeJSONText(raw)
	if !ok {
		return htype.Value{}, []valErr{{fatal: true, unreadable: true}}
	}
	v, err := htype.ParsePythonJSON(text)
	if err != nil {
		var se *htype.SyntaxError
		if !errors.As(err, &se) {
			return htype.Value{}, []valErr{errDict([]any{"body"})}
		}
		return htype.Value{}, []valErr{{
			fatal: true,
			loc:   []any{"body", se.Pos},
			msg:   se.PythonMessage(),
			typ:   "value_error.jsondecode",
			ctx: []htype.Member{
				m("msg", str(se.Msg)), m("doc", str(string(text))), m("pos", num(int64(se.Pos))),
				m("lineno", num(int64(se.Line))), m("colno", num(int64(se.Col))),
			},
		}}
	}
	switch v.Kind() {
	case htype.Object:
		return v, nil
	case htype.Null:
		// FastAPI treats a JSON null body like no body at all.
		return htype.Value{}, []valErr{errMissing([]any{"body"})}
	}
	return htype.Value{}, []valErr{errDict([]any{"body"})}
}

// decodeJSONText turns body bytes into UTF-8 the way Python's json.loads
// does for bytes: the encoding is detected from a byte-order mark or the
// pattern of zero bytes (UTF-8, -16 or -32), and a UTF-8 BOM is dropped.
// ok is false when the bytes are not valid in that encoding; FastAPI then
// answers 400 {"detail":"There was an error parsing the body"}.
func decodeJSONText(b []byte) ([]byte, bool) {
	switch {
	case bytes.HasPrefix(b, []byte{0, 0, 0xFE, 0xFF}):
		return decodeUTF32(b[4:], binary.BigEndian)
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE, 0, 0}):
		return decodeUTF32(b[4:], binary.LittleEndian)
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return decodeUTF16(b[2:], binary.BigEndian)
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return decodeUTF16(b[2:], binary.LittleEndian)
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		b = b[3:]
	case len(b) >= 4 && b[0] == 0 && b[1] != 0:
		return decodeUTF16(b, binary.BigEndian)
	case len(b) >= 4 && b[0] == 0:
		return decodeUTF32(b, binary.BigEndian)
	case len(b) >= 4 && b[1] == 0 && (b[2] != 0 || b[3] != 0):
		return decodeUTF16(b, binary.LittleEndian)
	case len(b) >= 4 && b[1] == 0:
		return decodeUTF32(b, binary.LittleEndian)
	case len(b) == 2 && b[0] == 0:
		return decodeUTF16(b, binary.BigEndian)
	case len(b) == 2 && b[1] == 0:
		return decodeUTF16(b, binary.LittleEndian)
	}
	return b, utf8.Valid(b)
}

func decodeUTF16(b []byte, order binary.ByteOrder) ([]byte, bool) {
	if len(b)%2 != 0 {
		return nil, false
	}
	units := make([]uint16, len(b)/2)
	for i := range units {
		units[i] = order.Uint16(b[2*i:])
	}
	return []byte(string(utf16.Decode(units))), true
}

func decodeUTF32(b []byte, order binary.ByteOrder) ([]byte, bool) {
	if len(b)%4 != 0 {
		return nil, false
	}
	out := make([]byte, 0, len(b)/4)
	for i := 0; i < len(b); i += 4 {
		r := rune(order.Uint32(b[i:]))
		if r > unicode.MaxRune {
			return nil, false
		}
		out = utf8.AppendRune(out, r)
	}
	return out, true
}

// isJSONType follows Python's email parsing of Content-Type as FastAPI
// uses it: application/json or application/*+json; a malformed header
// counts as text/plain.
func isJSONType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	}
	if strings.Count(mt, "/") != 1 {
		return false
	}
	main, sub, _ := strings.Cut(mt, "/")
	return main == "application" && (sub == "json" || strings.HasSuffix(sub, "+json"))
}

// fields validates the members of a body object the way pydantic v1 does,
// collecting every problem before the handler decides.
type fields struct {
	obj  htype.Value
	base []any
	errs []valErr
	// params are path and query parameter problems, reported with the
	// body's (joinBody).
	params []valErr
	// undecoded marks a body that is not a JSON object: errs holds why,
	// and reads find nothing and record nothing more.
	undecoded bool
}

func newFields(body htype.Value) *fields { return &fields{obj: body, base: []any{"body"}} }

// bodyFields decodes the request body for a handler to read its members
// from; paramErrs are the parameter problems found so far. Reading goes
// on even when the body could not be decoded, so a handler reads its
// members and then asks [fields.invalid] once for the answer.
func bodyFields(rq *request, paramErrs []valErr) *fields {
	body, errs := decodeBody(rq.body, rq.contentType, rq.hasBody)
	f := newFields(body)
	f.params = paramErrs
	if errs != nil {
		f.errs, f.undecoded = errs, true
	}
	return f
}

// invalid returns the validation answer for every problem recorded (422,
// or FastAPI's 400 for undecodable bytes), or nil when there is none.
func (f *fields) invalid() *response { return joinBody(f.params, f.errs) }

func (f *fields) add(e valErr) { f.errs = append(f.errs, e) }

func (f *fields) ok() bool { return len(f.errs) == 0 }

// get returns the raw member, recording a missing error when required.
func (f *fields) get(name string, required bool) (htype.Value, bool) {
	if f.undecoded {
		return htype.Value{}, false
	}
	v, ok := f.obj.Get(name)
	if !ok && required {
		f.add(errMissing(locOf(f.base, name)))
	}
	return v, ok
}

// coerceStr applies pydantic v1's str coercion: numbers and booleans become
// their Python str(); other kinds are an error.
func coerceStr(v htype.Value) (string, bool) {
	switch v.Kind() {
	case htype.String:
		return v.Str(), true
	case htype.Number, htype.Boolean:
		return pyStr(v), true
	}
	return "", false
}

// strAt validates v (found at loc) as a constrained str.
func (f *fields) strAt(loc []any, v htype.Value, p *pattern) (string, bool) {
	if v.Kind() == htype.Null {
		f.add(errNone(loc))
		return "", false
	}
	s, ok := coerceStr(v)
	if !ok {
		f.add(errStr(loc))
		return "", false
	}
	if p != nil && !p.match(s) {
		f.add(errRegex(loc, p))
		return "", false
	}
	return s, true
}

// str validates a required (or optional, nullable) str member.
func (f *fields) str(name string, required bool, p *pattern) (s string, set bool) {
	v, ok := f.get(name, required)
	if !ok {
		return "", false
	}
	if !required && v.Kind() == htype.Null {
		return "", false
	}
	return f.strAt(locOf(f.base, name), v, p)
}

// version validates the version member; def is used when it is absent.
func (f *fields) version(name string, required bool, def string) (string, bool) {
	v, ok := f.get(name, required)
	if !ok {
		return def, !required
	}
	return f.strAt(locOf(f.base, name), v, patVersion)
}

// any returns a required member of any JSON kind (null included).
func (f *fields) any(name string) (htype.Value, bool) {
	return f.get(name, true)
}

// metadata validates a Dict[MetadataKey, Any] member.
func (f *fields) metadata(name string, required bool) ([]htype.Member, bool) {
	v, ok := f.get(name, required)
	if !ok {
		return nil, !required
	}
	loc := locOf(f.base, name)
	switch v.Kind() {
	case htype.Null:
		f.add(errNone(loc))
		return nil, false
	case htype.Object:
	default:
		f.add(errDict(loc))
		return nil, false
	}
	good := true
	for _, mem := range v.Members() {
		if !patMetadataKey.match(mem.Key) {
			f.add(errRegex(locOf(loc, "__key__"), patMetadataKey))
			good = false
		}
	}
	return jsonbMembers(v.Members()), good
}

// strList validates a List[str] member with item pattern p and at least
// minItems items.
func (f *fields) strList(name string, p *pattern, minItems int) ([]string, bool) {
	v, ok := f.get(name, true)
	if !ok {
		return nil, false
	}
	loc := locOf(f.base, name)
	switch v.Kind() {
	case htype.Null:
		f.add(errNone(loc))
		return nil, false
	case htype.Array:
	default:
		f.add(errList(loc))
		return nil, false
	}
	items := v.Items()
	out := make([]string, 0, len(items))
	good := true
	for i, it := range items {
		s, ok := f.strAt(locOf(loc, i), it, p)
		good = good && ok
		out = append(out, s)
	}
	if good && len(out) < minItems {
		f.add(valErr{loc: loc, msg: "ensure this value has at least 1 items", typ: "value_error.list.min_items",
			ctx: []htype.Member{m("limit_value", num(int64(minItems)))}})
		return nil, false
	}
	return out, good
}

// settingType validates a SettingType member.
func (f *fields) settingType(name string) (*htype.Type, bool) {
	v, ok := f.get(name, true)
	if !ok {
		return nil, false
	}
	loc := locOf(f.base, name)
	switch v.Kind() {
	case htype.Null:
		f.add(errNone(loc))
		return nil, false
	case htype.String:
	default:
		f.add(errValue(loc, "expected string, got "+pyTypeName(v)))
		return nil, false
	}
	t, err := htype.Parse(v.Str())
	if err != nil {
		f.add(typeParseErr(loc, v.Str(), err))
		return nil, false
	}
	return t, true
}

// typeParseErr reports an invalid type string with the message and error
// type of the exception the reference raises for it.
func typeParseErr(loc []any, s string, err error) valErr {
	var te *htype.TypeError
	if errors.As(err, &te) {
		switch te.Cause {
		case htype.CauseOptionsJSON:
			return valErr{loc: loc, msg: te.Reason, typ: "value_error.jsondecode"}
		case htype.CauseNotArray:
			return valErr{loc: loc, msg: "expected list, got <class '" + pyTypeName(te.Offending) + "'>", typ: "type_error"}
		case htype.CauseNotPrimitive:
			return valErr{loc: loc, msg: "expected a primitive type, got <class '" + pyTypeName(te.Offending) + "'>", typ: "type_error"}
		}
		if te.Part != "" {
			s = te.Part
		}
	}
	return errValue(loc, "cannot resolve setting type "+s)
}

// joinBody combines path or query parameter errors with body errors the
// way FastAPI reports them: a JSON syntax error alone, otherwise parameter
// errors first. It returns nil when there is nothing to report.
func joinBody(paramErrs, bodyErrs []valErr) *response {
	if len(bodyErrs) > 0 && bodyErrs[0].fatal {
		return validationResp(bodyErrs)
	}
	all := append(paramErrs[:len(paramErrs):len(paramErrs)], bodyErrs...)
	if len(all) == 0 {
		return nil
	}
	return validationResp(all)
}
