package server

import (
	"net/http"
	"slices"
	"strings"
)

type handlerFunc func(e *Engine, rq *request) *response

// route is one path pattern ("{x}" matches one non-empty segment) and the
// handlers by method.
type route struct {
	segs    []string
	methods map[string]handlerFunc
	allow   string
}

func newRoute(pattern string, methods map[string]handlerFunc) route {
	var names []string
	for m := range methods {
		names = append(names, m)
	}
	if _, ok := methods[http.MethodGet]; ok {
		names = append(names, http.MethodHead)
	}
	slices.Sort(names)
	return route{segs: strings.Split(strings.TrimPrefix(pattern, "/"), "/"), methods: methods, allow: strings.Join(names, ", ")}
}

// routes follows the reference's routing order: a fixed segment registered
// before a parameter wins (GET /rules/search is not rule "search").
var routes = []route{
	newRoute("/api/health", map[string]handlerFunc{"GET": (*Engine).health}),
	newRoute("/api/v1/context_features", map[string]handlerFunc{"GET": (*Engine).listFeatures, "POST": (*Engine).addFeature}),
	newRoute("/api/v1/context_features/{name}", map[string]handlerFunc{"GET": (*Engine).getFeature, "DELETE": (*Engine).deleteFeature}),
	newRoute("/api/v1/context_features/{name}/index", map[string]handlerFunc{"PATCH": (*Engine).moveFeature}),
	newRoute("/api/v1/settings/declare", map[string]handlerFunc{"POST": (*Engine).declare}),
	newRoute("/api/v1/settings", map[string]handlerFunc{"GET": (*Engine).listSettings}),
	newRoute("/api/v1/settings/{name}", map[string]handlerFunc{"GET": (*Engine).getSetting, "DELETE": (*Engine).deleteSetting}),
	newRoute("/api/v1/settings/{name}/type", map[string]handlerFunc{"PUT": (*Engine).putType}),
	newRoute("/api/v1/settings/{name}/name", map[string]handlerFunc{"PUT": (*Engine).putName}),
	newRoute("/api/v1/settings/{name}/configurable_features", map[string]handlerFunc{"PUT": (*Engine).putFeatures}),
	newRoute("/api/v1/settings/{name}/metadata", map[string]handlerFunc{
		"GET": (*Engine).getSettingMeta, "POST": (*Engine).mergeSettingMeta,
		"PUT": (*Engine).replaceSettingMeta, "DELETE": (*Engine).clearSettingMeta,
	}),
	newRoute("/api/v1/settings/{name}/metadata/{key}", map[string]handlerFunc{
		"PUT": (*Engine).putSettingMetaKey, "DELETE": (*Engine).deleteSettingMetaKey,
	}),
	newRoute("/api/v1/rules", map[string]handlerFunc{"POST": (*Engine).addRule}),
	newRoute("/api/v1/rules/search", map[string]handlerFunc{"GET": (*Engine).searchRule}),
	newRoute("/api/v1/rules/{rule_id}", map[string]handlerFunc{
		"GET": (*Engine).getRule, "DELETE": (*Engine).deleteRule, "PATCH": (*Engine).putRuleValue,
	}),
	newRoute("/api/v1/rules/{rule_id}/value", map[string]handlerFunc{"PUT": (*Engine).putRuleValue}),
	newRoute("/api/v1/rules/{rule_id}/metadata", map[string]handlerFunc{
		"GET": (*Engine).getRuleMeta, "POST": (*Engine).mergeRuleMeta,
		"PUT": (*Engine).replaceRuleMeta, "DELETE": (*Engine).clearRuleMeta,
	}),
	newRoute("/api/v1/rules/{rule_id}/metadata/{key}", map[string]handlerFunc{
		"PUT": (*Engine).putRuleMetaKey, "DELETE": (*Engine).deleteRuleMetaKey,
	}),
	newRoute("/api/v1/query", map[string]handlerFunc{"GET": (*Engine).query}),
}

// match returns the path parameters when path fits the route.
func (rt *route) match(path string) (map[string]string, bool) {
	if !strings.HasPrefix(path, "/") {
		return nil, false
	}
	segs := strings.Split(path[1:], "/")
	if len(segs) != len(rt.segs) {
		return nil, false
	}
	var params map[string]string
	for i, s := range rt.segs {
		if strings.HasPrefix(s, "{") {
			if segs[i] == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[s[1:len(s)-1]] = segs[i]
			continue
		}
		if s != segs[i] {
			return nil, false
		}
	}
	return params, true
}

// route dispatches like Starlette: the first route matching path and
// method wins; a path match with another method is a 405; no match at all
// tries the path with its trailing slash toggled and redirects (307); then
// 404.
func (e *Engine) route(rq *request) *response {
	method := rq.method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	var partial *route
	for i := range routes {
		rt := &routes[i]
		params, ok := rt.match(rq.path)
		if !ok {
			continue
		}
		if h, ok := rt.methods[method]; ok {
			rq.params = params
			return h(e, rq)
		}
		if partial == nil {
			partial = rt
		}
	}
	if partial != nil {
		resp := detailResp(http.StatusMethodNotAllowed, "Method Not Allowed")
		resp.header = map[string]string{"Allow": partial.allow}
		return resp
	}
	if rq.path != "/" {
		alt := rq.path + "/"
		if strings.HasSuffix(rq.path, "/") {
			alt = strings.TrimSuffix(rq.path, "/")
		}
		for i := range routes {
			if _, ok := routes[i].match(alt); ok {
				return redirect(rq, alt)
			}
		}
	}
	return detailResp(http.StatusNotFound, "Not Found")
}

func redirect(rq *request, path string) *response {
	scheme := "http"
	if rq.tls {
		scheme = "https"
	}
	loc := scheme + "://" + rq.host + path
	if rq.rawQuery != "" {
		loc += "?" + rq.rawQuery
	}
	return &response{status: http.StatusTemporaryRedirect, header: map[string]string{"Location": loc}}
}
