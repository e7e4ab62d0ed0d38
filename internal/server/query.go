package server

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"hash/maphash"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/heksher-go/heksher/internal/htype"
)

// queryCache keeps rendered query answers per normalised request until the
// state changes. Benchmarks (BENCHMARKS.md) show rendering
// 1,000 settings costs milliseconds while a cached answer costs
// microseconds, and clients poll the same query over and over.
//
// Answers are also found by the raw query string as sent: a client polls
// with the very same URL, and finding it there skips parsing and
// validating its parameters, so that a matching poll (304) costs the same
// whether it names 100 settings or 100,000: the query string is hashed
// from a sample of its bytes (rawKey) and compared once.
type queryCache struct {
	mu      sync.Mutex
	entries map[string]*cachedAnswer // by queryParams.key
	raw     map[uint64][]rawEntry    // by rawKey of the raw query string
	nraw    int
	bytes   int // keys and bodies held
}

type rawEntry struct {
	query string
	ans   *cachedAnswer
}

// rawSeed keys rawKey; random per process, so that nobody can pick
// query strings that share a key (which would only cost comparisons).
var rawSeed = maphash.MakeSeed()

// rawKey hashes a query string from its length, its first and last 512
// bytes and at most 256 bytes between: one pass over a long query string
// is left, the comparison with the cached one.
func rawKey(q string) uint64 {
	if len(q) <= 2048 {
		return maphash.String(rawSeed, q)
	}
	var h maphash.Hash
	h.SetSeed(rawSeed)
	h.WriteString(q[:512])
	h.WriteString(q[len(q)-512:])
	mid := q[512 : len(q)-512]
	step := max(len(mid)/256, 1)
	for i := 0; i < len(mid); i += step {
		h.WriteByte(mid[i])
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(q)))
	h.Write(n[:])
	return h.Sum64()
}

type cachedAnswer struct {
	body []byte
	etag string
}

// maxCacheEntries bounds the cache against clients that vary their query,
// and maxCacheBytes bounds the memory its keys and bodies hold (a query
// string may be a megabyte long). A relay serves a fleet whose clients
// each poll a query of their own, in turn: with fewer entries than such
// queries, the cache was cleared before any poll came round again, and
// every poll rendered its answer (1,000 clients with lists of their own: 4
// to 6 times fewer 304s per second, BENCHMARKS.md, "A relay under load").
// The memory bound is maxCacheBytes either way.
const (
	maxCacheEntries = 4096
	maxCacheBytes   = 256 << 20
)

func (c *queryCache) get(key string) *cachedAnswer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries[key]
}

func (c *queryCache) getRaw(rawQuery string) *cachedAnswer {
	k := rawKey(rawQuery)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.raw[k] {
		if e.query == rawQuery {
			return e.ans
		}
	}
	return nil
}

// put stores an answer under its normalised key and its raw query string.
func (c *queryCache) put(key, rawQuery string, a *cachedAnswer) {
	k := rawKey(rawQuery)
	c.mu.Lock()
	defer c.mu.Unlock()
	size := len(key) + len(rawQuery) + len(a.body)
	if c.entries == nil || len(c.entries) >= maxCacheEntries || c.nraw >= maxCacheEntries || c.bytes+size > maxCacheBytes {
		c.entries, c.raw, c.nraw, c.bytes = make(map[string]*cachedAnswer), make(map[uint64][]rawEntry), 0, 0
	}
	if _, ok := c.entries[key]; !ok {
		c.entries[key] = a
		c.bytes += len(key) + len(a.body)
	}
	for _, e := range c.raw[k] {
		if e.query == rawQuery {
			return
		}
	}
	c.raw[k] = append(c.raw[k], rawEntry{query: rawQuery, ans: c.entries[key]})
	c.nraw++
	c.bytes += len(rawQuery)
}

func (c *queryCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries, c.raw, c.nraw, c.bytes = nil, nil, 0, 0
}

// filter is a parsed context_filters: nil means everything (`*`);
// otherwise feature → allowed values (nil slice: any value).
type filter map[string][]string

// queryParams is a validated GET /query request, its values as sent.
type queryParams struct {
	hasSettings bool   // false: every setting
	settings    string // the settings parameter
	filters     string // context_filters; "*" when absent
	withMeta    bool
}

// parseQueryParams validates GET /query's parameters.
func parseQueryParams(rq *request) (queryParams, []valErr) {
	var q queryParams
	var hasFilters bool
	var errs []valErr
	q.settings, q.hasSettings = rq.queryParam("settings")
	if q.hasSettings && !validSettingList(q.settings) {
		errs = append(errs, errRegex([]any{"query", "settings"}, patSettingList))
	}
	q.filters, hasFilters = rq.queryParam("context_filters")
	if !hasFilters {
		q.filters = "*"
	}
	if !patFilters.match(q.filters) {
		errs = append(errs, errRegex([]any{"query", "context_filters"}, patFilters))
	}
	if raw, ok := rq.queryParam("include_metadata"); ok {
		b, ok := parseBool(raw)
		if !ok {
			errs = append(errs, errBool([]any{"query", "include_metadata"}))
		}
		q.withMeta = b
	}
	return q, errs
}

// key identifies a query by its parameters as sent.
func (q queryParams) key() string {
	mode, settings := "s", q.settings
	if !q.hasSettings {
		mode, settings = "a", ""
	}
	return mode + strconv.FormatBool(q.withMeta) + "\x00" + settings + "\x00" + q.filters
}

// query implements GET /query, held first when it asks for a watch
// (watch.go).
func (e *Engine) query(rq *request) *response {
	return e.watchQuery(rq, func() *response { return e.queryNow(rq) })
}

// queryNow answers GET /query at once.
func (e *Engine) queryNow(rq *request) *response {
	// A query string seen before is valid and answered from the cache
	// while the state is unchanged (the cache is emptied by every change).
	if !e.dbDown.Load() {
		if resp := e.cachedByRaw(rq); resp != nil {
			return resp
		}
	}
	q, errs := parseQueryParams(rq)
	if errs != nil {
		return validationResp(errs)
	}
	return e.withState(reading, func() *response { return e.answerQuery(q, rq.rawQuery, rq.ifNoneMatch) })
}

// cachedByRaw answers from the cache by the raw query string, or returns
// nil.
func (e *Engine) cachedByRaw(rq *request) *response {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if ans := e.cache.getRaw(rq.rawQuery); ans != nil {
		return e.answer(ans, rq.ifNoneMatch)
	}
	return nil
}

// answerQuery answers a valid query, from the cache when it can. e.mu must
// be held.
func (e *Engine) answerQuery(q queryParams, rawQuery string, ifNoneMatch []string) *response {
	// The answer depends only on the state and these parameters, so a
	// repeated request is answered from the cache without resolving
	// anything.
	key := q.key()
	if ans := e.cache.get(key); ans != nil {
		e.cache.put(key, rawQuery, ans)
		return e.answer(ans, ifNoneMatch)
	}

	// Which settings, by canonical name.
	var settings []*setting
	switch {
	case !q.hasSettings:
		settings = e.st.sortedSettings()
	case q.settings == "":
	default:
		var missing []string
		settings = make([]*setting, 0, strings.Count(q.settings, ",")+1)
		for rest := q.settings; ; {
			n, tail, more := strings.Cut(rest, ",")
			if s := e.st.resolve(n); s != nil {
				settings = append(settings, s)
			} else if !slices.Contains(missing, n) {
				missing = append(missing, n)
			}
			if !more {
				break
			}
			rest = tail
		}
		if len(missing) > 0 {
			return textResp(http.StatusNotFound, "the following are not setting names: "+pyStrList(missing))
		}
		// An alias and its canonical name (or a repeated name) are one
		// setting: sorted by canonical name, repeats are neighbours.
		slices.SortFunc(settings, func(a, b *setting) int { return strings.Compare(a.name, b.name) })
		settings = slices.Compact(settings)
	}

	// Which rules.
	var flt filter
	if q.filters != "*" {
		re := filterItemsLower
		if e.opts.Fix.LowercaseFilterKeys {
			re = filterItemsFixed
		}
		flt = filter{}
		for _, mt := range re.FindAllStringSubmatch(q.filters, -1) {
			key := mt[1]
			if _, dup := flt[key]; dup {
				return textResp(http.StatusBadRequest, "context name repeated in context filter: "+key)
			}
			var vals []string
			if mt[2] != "*" {
				vals = strings.Split(mt[3], ",")
			}
			flt[key] = vals
		}
		for k := range flt {
			if e.st.featureIndex(k) < 0 {
				// Unknown features are dropped, as the reference does (it
				// only logs them).
				e.log.Debug("query: ignoring unknown context feature in filter", "feature", k)
				delete(flt, k)
			}
		}
	}

	body := e.renderQuery(settings, flt, q.withMeta)
	sum := md5.Sum(body)
	ans := &cachedAnswer{body: body, etag: `"` + hex.EncodeToString(sum[:]) + `"`}
	e.cache.put(key, rawQuery, ans)
	return e.answer(ans, ifNoneMatch)
}

// answer is 200 with the body and its ETag, or 304 with the ETag alone.
func (e *Engine) answer(ans *cachedAnswer, ifNoneMatch []string) *response {
	hdr := map[string]string{"ETag": ans.etag}
	if etagMatches(ifNoneMatch, ans.etag, e.opts.Fix.ETagMatching) {
		return &response{status: http.StatusNotModified, header: hdr}
	}
	resp := jsonResp(http.StatusOK, ans.body)
	resp.header = hdr
	return resp
}

// etagMatches reproduces the reference: `*` or the quoted ETag anywhere in
// the header value (reference bug 1, docs/DEVSERVER.md). The reference
// reads one header value (Starlette's headers.get gives the first line
// when a request repeats If-None-Match), so later lines are ignored. With fix, every line is read
// as a list of entity tags compared weakly (RFC 9110 §13.1.2).
func etagMatches(headers []string, etag string, fix bool) bool {
	if len(headers) == 0 {
		return false
	}
	if !fix {
		h := headers[0]
		return h == "*" || strings.Contains(h, etag)
	}
	h := strings.Join(headers, ", ")
	for _, tag := range strings.Split(h, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
			return true
		}
	}
	return false
}

func (f filter) allows(r *rule) bool {
	if f == nil {
		return true
	}
	for _, c := range r.list {
		feat, val := c[0], c[1]
		vals, ok := f[feat]
		if !ok {
			return false
		}
		if vals != nil && !slices.Contains(vals, val) {
			return false
		}
	}
	return true
}

// renderQuery writes the answer body directly, in the reference's key
// order: settings by canonical name, rules by id.
func (e *Engine) renderQuery(settings []*setting, flt filter, withMeta bool) []byte {
	// Size the buffer from the size per setting of the last answer, so a
	// big answer is not copied over and over while it grows.
	buf := make([]byte, 0, 64+len(settings)*int(min(max(e.bytesPerSetting.Load(), 128), 4096)))
	buf = append(buf, `{"settings":{`...)
	for i, s := range settings {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = htype.AppendJSONString(buf, s.name)
		buf = append(buf, `:{"default_value":`...)
		buf = s.def.AppendJSON(buf)
		buf = append(buf, `,"rules":[`...)
		first := true
		for _, r := range s.rules {
			if !flt.allows(r) {
				continue
			}
			if !first {
				buf = append(buf, ',')
			}
			first = false
			buf = append(buf, `{"value":`...)
			buf = r.value.AppendJSON(buf)
			buf = append(buf, `,"context_features":[`...)
			n := 0
			for _, f := range e.st.features { // hierarchy order
				v, ok := r.conds[f]
				if !ok {
					continue
				}
				if n > 0 {
					buf = append(buf, ',')
				}
				n++
				buf = append(buf, '[')
				buf = htype.AppendJSONString(buf, f)
				buf = append(buf, ',')
				buf = htype.AppendJSONString(buf, v)
				buf = append(buf, ']')
			}
			buf = append(buf, ']')
			buf = append(buf, `,"rule_id":`...)
			buf = strconv.AppendInt(buf, r.id, 10)
			if withMeta {
				buf = append(buf, `,"metadata":`...)
				buf = metaValue(r.meta).AppendJSON(buf)
			}
			buf = append(buf, '}')
		}
		buf = append(buf, "]}"...)
	}
	buf = append(buf, "}}"...)
	if len(settings) > 0 {
		e.bytesPerSetting.Store(int64(len(buf)/len(settings)) + 8)
	}
	return buf
}
