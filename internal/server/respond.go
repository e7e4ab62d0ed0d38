package server

import (
	"net/http"
	"strconv"

	"github.com/heksher-go/heksher/internal/htype"
)

// response is a complete answer, built by the engine under its lock and
// written by the handler after it is released.
type response struct {
	status int
	ctype  string // empty: no Content-Type header
	body   []byte
	header map[string]string
}

const (
	ctypeJSON = "application/json"
	ctypeText = "text/plain; charset=utf-8"
)

// jsonResp answers with a compact JSON body.
func jsonResp(status int, body []byte) *response {
	return &response{status: status, ctype: ctypeJSON, body: body}
}

// valueResp answers with the JSON rendering of v.
func valueResp(status int, v htype.Value) *response {
	return jsonResp(status, v.AppendJSON(nil))
}

// textResp answers with a text/plain message (error kind T).
func textResp(status int, msg string) *response {
	return &response{status: status, ctype: ctypeText, body: []byte(msg)}
}

// detailResp answers {"detail": msg} (error kind D).
func detailResp(status int, msg string) *response {
	return valueResp(status, obj(m("detail", str(msg))))
}

// emptyResp answers with no body: 204, or a 404 of error kind E.
func emptyResp(status int) *response { return &response{status: status} }

var noContent = emptyResp(http.StatusNoContent)

// internalError is error kind X.
func internalError() *response {
	return textResp(http.StatusInternalServerError, "Internal Server Error")
}

func (r *response) write(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range r.header {
		h.Set(k, v)
	}
	if r.ctype != "" {
		h.Set("Content-Type", r.ctype)
	}
	if r.status != http.StatusNoContent && r.status != http.StatusNotModified {
		h.Set("Content-Length", strconv.Itoa(len(r.body)))
	}
	w.WriteHeader(r.status)
	if len(r.body) > 0 && r.status != http.StatusNotModified {
		_, _ = w.Write(r.body) // the client went away; nothing to do
	}
}

// Short builders for htype values, used for response bodies.

func str(s string) htype.Value { return htype.StringValue(s) }

func num(i int64) htype.Value { return htype.IntValue(i) }

func m(k string, v htype.Value) htype.Member { return htype.Member{Key: k, Value: v} }

func obj(ms ...htype.Member) htype.Value { return htype.ObjectValue(ms) }

func arr(vs ...htype.Value) htype.Value {
	if vs == nil {
		vs = []htype.Value{}
	}
	return htype.ArrayValue(vs)
}

func strArr(ss []string) htype.Value {
	vs := make([]htype.Value, len(ss))
	for i, s := range ss {
		vs[i] = str(s)
	}
	return arr(vs...)
}

func metaValue(ms []htype.Member) htype.Value {
	if ms == nil {
		ms = []htype.Member{}
	}
	return htype.ObjectValue(ms)
}
