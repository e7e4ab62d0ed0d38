package httpguard

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strings"
)

// ErrNeedToken is returned by [Guard] for a listener that is not on a
// loopback address when no token is configured.
var ErrNeedToken = errors.New("httpguard: a listener on a non-loopback address needs a token")

// Guard returns a middleware that enforces the access rules of the package
// documentation for a listener on addr ("host:port", as configured or as
// bound) with the given token ("" for none). realm names the server in the
// WWW-Authenticate header of a 401 ("" for "heksher").
//
// # Errors
//
// [ErrNeedToken] (wrapped, naming addr) when token is empty and addr is not
// a loopback address.
func Guard(addr, token, realm string) (func(http.Handler) http.Handler, error) {
	if token == "" && !IsLoopbackAddr(addr) {
		return nil, fmt.Errorf("%w: %q", ErrNeedToken, addr)
	}
	if realm == "" {
		realm = "heksher"
	}
	g := &guard{token: []byte(token), realm: realm, cop: http.NewCrossOriginProtection()}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.serve(next, w, r) })
	}, nil
}

type guard struct {
	token []byte
	realm string
	cop   *http.CrossOriginProtection
}

func (g *guard) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	if len(g.token) > 0 {
		if !g.authorized(r.Header.Get("Authorization")) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+g.realm+`"`)
			refuse(w, http.StatusUnauthorized, "unauthorized: this server needs \"Authorization: Bearer <token>\"")
			return
		}
	} else if !IsLoopbackHost(r.Host) {
		refuse(w, http.StatusMisdirectedRequest, fmt.Sprintf(
			"host %q is not served here: without a token this server answers only requests for localhost, 127.0.0.0/8 or [::1]", r.Host))
		return
	}
	if safeMethod(r.Method) {
		next.ServeHTTP(w, r)
		return
	}
	if err := g.cop.Check(r); err != nil {
		refuse(w, http.StatusForbidden, "cross-origin request refused: "+err.Error())
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && isFormType(ct) {
		refuse(w, http.StatusUnsupportedMediaType, fmt.Sprintf(
			"content type %q refused for a %s request: send JSON (application/json) or no body", ct, r.Method))
		return
	}
	next.ServeHTTP(w, r)
}

// authorized reports whether header is "Bearer <token>" with the scheme in
// any case, comparing the token in constant time.
func (g *guard) authorized(header string) bool {
	scheme, cred, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	cred = strings.TrimLeft(cred, " ")
	return subtle.ConstantTimeCompare([]byte(cred), g.token) == 1
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// isFormType reports whether ct is one of the types a page may send to
// another site without a preflight (an HTML form or a "simple" fetch). A
// type that does not parse counts as one: it cannot be JSON either.
func isFormType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return true
	}
	switch mt {
	case "application/x-www-form-urlencoded", "multipart/form-data", "text/plain":
		return true
	}
	return false
}

func refuse(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

// IsLoopbackAddr reports whether addr ("host:port") names a loopback
// address: "localhost" or a loopback IP. An empty host (":8765", every
// interface) is not loopback.
func IsLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	return isLoopbackName(host)
}

// IsLoopbackHost reports whether a request's Host ("name" or "name:port")
// is "localhost", an address in 127.0.0.0/8 or the IPv6 loopback
// ("[::1]"), with any port.
func IsLoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	return isLoopbackName(host)
}

func isLoopbackName(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
