package server

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// exchange is one request of the recorded transcript and the reference's
// answer.
type exchange struct {
	n       int
	method  string
	target  string            // path and query
	headers map[string]string // "" value: header removed
	body    *string
	status  int
	rheader map[string]string
	rbody   string
}

var (
	reExchange = regexp.MustCompile(`^\*\*\[(\d+)\]\*\*`)
	reQuoted   = regexp.MustCompile(`'([^']*)'`)
)

// loadTranscript parses testdata/heksher-0.5.7-transcript.md, the
// reference server's recorded answers (its header names the version and
// date).
func loadTranscript(t *testing.T) []exchange {
	t.Helper()
	f, err := os.Open("testdata/heksher-0.5.7-transcript.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []exchange
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	for i := 0; i < len(lines); i++ {
		mt := reExchange.FindStringSubmatch(lines[i])
		if mt == nil {
			continue
		}
		n, _ := strconv.Atoi(mt[1])
		for !strings.HasPrefix(lines[i], "$ curl") {
			i++
		}
		ex := exchange{n: n, headers: map[string]string{}, rheader: map[string]string{}}
		cmd := lines[i]
		fields := strings.Fields(cmd)
		ex.method = fields[4]
		quoted := reQuoted.FindAllStringSubmatchIndex(cmd, -1)
		for qi, q := range quoted {
			val := cmd[q[2]:q[3]]
			flag := strings.TrimSpace(cmd[:q[0]])
			flag = flag[strings.LastIndex(flag, " ")+1:]
			switch {
			case qi == 0:
				ex.target = strings.TrimPrefix(val, "http://127.0.0.1:8765")
			case flag == "-H":
				k, v, _ := strings.Cut(val, ":")
				ex.headers[k] = strings.TrimSpace(v)
			case flag == "-d":
				b := val
				ex.body = &b
			}
		}
		i++
		status := strings.Fields(lines[i])
		ex.status, _ = strconv.Atoi(status[1])
		for i++; lines[i] != ""; i++ {
			k, v, _ := strings.Cut(lines[i], ": ")
			ex.rheader[k] = v
		}
		var body []string
		for i++; lines[i] != "```"; i++ {
			body = append(body, lines[i])
		}
		ex.rbody = strings.Join(body, "\n")
		out = append(out, ex)
	}
	return out
}

// deviations are the transcript answers this server deliberately does not
// reproduce (docs/DEVSERVER.md, "Reference bugs"): the expected status and body.
var deviations = map[int]struct {
	status int
	body   string
}{
	3:  {204, ""},                                                                                                                                                                         // #9: the first context feature can be added
	9:  {422, `{"detail":[{"loc":["body","context_feature"],"msg":"string does not match regex \"[a-zA-Z_0-9]+$\"","type":"value_error.str.regex","ctx":{"pattern":"[a-zA-Z_0-9]+$"}}]}`}, // #10
	10: {404, ""},                                                                                                                                                                         // follows from #10: the bad name was never added
	36: {422, `{"detail":[{"loc":["body","configurable_features"],"msg":"the list has duplicated items","type":"value_error.list.unique_items"}]}`},                                       // #8
}

// dbDown lists the exchanges recorded while the reference's database was
// stopped; the engine plays them with SetDatabaseDown(true).
var dbDown = map[int]bool{127: true, 128: true}

func TestTranscript(t *testing.T) {
	eng, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(eng.Handler())
	defer srv.Close()
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	exchanges := loadTranscript(t)
	if len(exchanges) != 130 {
		t.Fatalf("parsed %d exchanges, want 130", len(exchanges))
	}
	for _, ex := range exchanges {
		eng.SetDatabaseDown(dbDown[ex.n])
		var body io.Reader
		if ex.body != nil {
			body = strings.NewReader(*ex.body)
		}
		req, err := http.NewRequest(ex.method, srv.URL+ex.target, body)
		if err != nil {
			t.Fatalf("[%d] %v", ex.n, err)
		}
		if ex.body != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // curl -d's default
		}
		for k, v := range ex.headers {
			if v == "" {
				req.Header.Del(k)
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("[%d] %v", ex.n, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantStatus, wantBody := ex.status, ex.rbody
		if d, ok := deviations[ex.n]; ok {
			wantStatus, wantBody = d.status, d.body
		}
		if resp.StatusCode != wantStatus || string(got) != wantBody {
			t.Errorf("[%d] %s %s:\n got %d %s\nwant %d %s", ex.n, ex.method, ex.target, resp.StatusCode, got, wantStatus, wantBody)
			continue
		}
		if _, ok := deviations[ex.n]; ok {
			continue
		}
		for _, h := range []string{"content-type", "etag", "location"} {
			want := ex.rheader[h]
			if h == "location" {
				want = strings.Replace(want, "http://127.0.0.1:8765", srv.URL, 1)
			}
			if gotH := resp.Header.Get(h); gotH != want {
				t.Errorf("[%d] header %s = %q, want %q", ex.n, h, gotH, want)
			}
		}
	}
}
