package server

import (
	"net/http"

	"github.com/heksher-go/heksher/internal/htype"
)

// valErr is one entry of a FastAPI validation answer (error kind V).
type valErr struct {
	loc []any // string or int path elements
	msg string
	typ string
	ctx []htype.Member
	// fatal marks a JSON syntax error, which FastAPI reports before (and
	// instead of) any parameter error.
	fatal bool
	// unreadable marks a body whose bytes are not text in the detected
	// encoding: not a validation answer but FastAPI's 400.
	unreadable bool
}

// validationResp answers 422 {"detail": [...]}.
func validationResp(errs []valErr) *response {
	if len(errs) > 0 && errs[0].unreadable {
		return detailResp(http.StatusBadRequest, "There was an error parsing the body")
	}
	items := make([]htype.Value, len(errs))
	for i, e := range errs {
		loc := make([]htype.Value, len(e.loc))
		for j, l := range e.loc {
			switch x := l.(type) {
			case int:
				loc[j] = num(int64(x))
			case string:
				loc[j] = str(x)
			}
		}
		ms := []htype.Member{m("loc", arr(loc...)), m("msg", str(e.msg)), m("type", str(e.typ))}
		if e.ctx != nil {
			ms = append(ms, m("ctx", obj(e.ctx...)))
		}
		items[i] = obj(ms...)
	}
	return valueResp(http.StatusUnprocessableEntity, obj(m("detail", arr(items...))))
}

func locOf(base []any, more ...any) []any {
	out := make([]any, 0, len(base)+len(more))
	out = append(out, base...)
	return append(out, more...)
}

func errMissing(loc []any) valErr {
	return valErr{loc: loc, msg: "field required", typ: "value_error.missing"}
}

func errNone(loc []any) valErr {
	return valErr{loc: loc, msg: "none is not an allowed value", typ: "type_error.none.not_allowed"}
}

func errDict(loc []any) valErr {
	return valErr{loc: loc, msg: "value is not a valid dict", typ: "type_error.dict"}
}

func errList(loc []any) valErr {
	return valErr{loc: loc, msg: "value is not a valid list", typ: "type_error.list"}
}

func errStr(loc []any) valErr {
	return valErr{loc: loc, msg: "str type expected", typ: "type_error.str"}
}

func errRegex(loc []any, p *pattern) valErr {
	return valErr{loc: loc, msg: `string does not match regex "` + p.text + `"`, typ: "value_error.str.regex",
		ctx: []htype.Member{m("pattern", str(p.text))}}
}

func errValue(loc []any, msg string) valErr {
	return valErr{loc: loc, msg: msg, typ: "value_error"}
}
