package process

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/heksher-go/heksher/internal/outbudget"
	"github.com/heksher-go/heksher/pluginapi"
)

// byteCounter is a slog.Handler that formats every record as a text
// handler would and counts the bytes without keeping them. It notes which
// of the given message prefixes it saw, whether a record was marked
// truncated, and counts the output budget's summary lines.
type byteCounter struct {
	s     *counterState
	attrs []slog.Attr
}

type counterState struct {
	bytes, summaries atomic.Int64
	truncated        atomic.Bool
	mu               sync.Mutex
	prefixes         map[string]bool // prefix -> seen
}

func newByteCounter(prefixes ...string) *byteCounter {
	s := &counterState{prefixes: map[string]bool{}}
	for _, p := range prefixes {
		s.prefixes[p] = false
	}
	return &byteCounter{s: s}
}

func (h *byteCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (h *byteCounter) Handle(ctx context.Context, r slog.Record) error {
	var buf bytes.Buffer
	_ = slog.NewTextHandler(&buf, nil).WithAttrs(h.attrs).Handle(ctx, r)
	h.s.bytes.Add(int64(buf.Len()))
	if strings.Contains(r.Message, "over its budget") && strings.Contains(buf.String(), "plugin=flood") {
		h.s.summaries.Add(1)
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == outbudget.TruncatedKey {
			h.s.truncated.Store(true)
		}
		return true
	})
	h.s.mu.Lock()
	for p, seen := range h.s.prefixes {
		if !seen && strings.HasPrefix(r.Message, p) {
			h.s.prefixes[p] = true
		}
	}
	h.s.mu.Unlock()
	return nil
}
func (h *byteCounter) WithAttrs(as []slog.Attr) slog.Handler {
	return &byteCounter{s: h.s, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}
func (h *byteCounter) WithGroup(string) slog.Handler { return h }

func (h *byteCounter) unseen() []string {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	var out []string
	for p, seen := range h.s.prefixes {
		if !seen {
			out = append(out, p)
		}
	}
	return out
}

// A process plugin that floods its stdout and stderr (its own descriptors
// and those go-plugin forwards), or its log, from its Init on gets each of
// those lines to the host's log, but no more of them than its output
// budget; the rest is dropped, counted in its status and summed up once per
// interval; and the plugin still closes within 5 s.
func TestOutputFloodStaysInBudget(t *testing.T) {
	cases := []struct {
		mode  string
		doors []string // a message prefix of each door's lines
		long  bool     // a line past MaxLine is logged cut, and marked
	}{
		{"stdio", []string{"raw stdout", "raw stderr", "raw stderr long", "forwarded stdout", "forwarded stderr"}, true},
		{"hclog", []string{"hclog flood"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.mode, func(t *testing.T) {
			counter := newByteCounter(tc.doors...)
			const interval = 500 * time.Millisecond
			budget := outbudget.Config{Interval: interval}.WithDefaults()
			cfgJSON, _ := json.Marshal(map[string]string{"mode": tc.mode})
			p, err := Start(context.Background(), Config{
				Name: "flood", Path: bin(t, "flood"), Config: cfgJSON,
				Logger: slog.New(counter), Output: pluginapi.OutputBudget{Interval: interval},
			}, newMemSettings())
			if err != nil {
				t.Fatal(err)
			}
			closed := false
			t.Cleanup(func() {
				if !closed {
					_ = p.Close(context.Background())
				}
			})
			floodStart := time.Now()
			before := counter.s.bytes.Load() // the bucket holds at most Burst now

			deadline := time.Now().Add(60 * time.Second)
			for time.Since(floodStart) < 3*time.Second || counter.s.summaries.Load() < 2 || len(counter.unseen()) > 0 {
				if time.Now().After(deadline) {
					t.Fatalf("within 60 s: %d summaries, lines never logged from %q, %d bytes logged, status %+v",
						counter.s.summaries.Load(), counter.unseen(), counter.s.bytes.Load(), p.Status())
				}
				time.Sleep(20 * time.Millisecond)
			}
			st := p.Status()
			if st.State != pluginapi.StateRunning {
				t.Errorf("state %v during the flood, want running", st.State)
			}
			if st.OutputDroppedLines == 0 || st.OutputDroppedBytes < 1<<20 {
				t.Errorf("status counts %d lines and %d bytes dropped, want the flood's excess", st.OutputDroppedLines, st.OutputDroppedBytes)
			}
			if tc.long && !counter.s.truncated.Load() {
				t.Error("no line was marked truncated")
			}

			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			closed = true
			if err := p.Close(ctx); err != nil {
				t.Fatalf("Close during a flood: %v", err)
			}
			elapsed := time.Since(floodStart)
			got := counter.s.bytes.Load() - before
			limit := int64(elapsed.Seconds()*float64(budget.Rate)) + budget.Burst + 64<<10
			t.Logf("%s: %d bytes logged in %v (limit %d); %d lines, %d bytes dropped", tc.mode, got,
				elapsed.Round(time.Millisecond), limit, st.OutputDroppedLines, st.OutputDroppedBytes)
			if got > limit {
				t.Errorf("the host's handler got %d bytes in %v, over the budget's %d", got, elapsed, limit)
			}
			if n, most := counter.s.summaries.Load(), int64(elapsed/interval)+2; n > most {
				t.Errorf("%d summary lines in %v, more than one per %v", n, elapsed, interval)
			}
		})
	}
}

// The stderr filter logs the hclog records the host logs itself, with
// their attributes in order and groups as groups (go-plugin, which logged
// them before, decodes them into a map: random order, g=map[...]), passes
// on to go-plugin only a record that does not decode, and logs every other
// line itself at the level go-plugin would have chosen.
func TestStderrFilter(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil)) // info and above
	o := &output{log: log, b: outbudget.New(log, outbudget.Config{MaxLine: 64})}
	defer o.close()
	in := strings.Join([]string{
		`{"@level":"info","@message":"m","z":1,"g":{"b":2,"a":1}}`,
		`{"@level":"warn","@message":"broken",}`,
		`{"@level":"debug","@message":"hidden record"}`,
		`{"not":"a record"}`,
		`plain line`,
		`[DEBUG] hidden debug`,
		`[ERROR] prefixed error`,
		`{"@level":"info","@message":"` + strings.Repeat("x", 100) + `"}`,
		`panic: boom`,
		`goroutine 1 [running]:`,
	}, "\n") + "\n"
	f := &stderrFilter{ReadCloser: io.NopCloser(strings.NewReader(in)), o: o, logger: "bin"}
	f.lines = outbudget.NewLineFunc(o.b, f.line)
	passed, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"@level":"warn","@message":"broken",}` + "\n"; string(passed) != want {
		t.Errorf("passed on %q, want only the record that does not decode", passed)
	}
	logged := buf.String()
	for _, want := range []string{
		`level=INFO msg=m logger=bin z=1 g.b=2 g.a=1` + "\n",
		`level=WARN msg="{\"not\":\"a record\"}" stream=stderr`,
		`level=WARN msg="plain line" stream=stderr`,
		`level=ERROR msg="[ERROR] prefixed error" stream=stderr`,
		`level=WARN msg="{\"@level\":\"info\",\"@message\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" stream=stderr truncated_bytes=`,
		`level=ERROR msg="panic: boom" stream=stderr`,
		`level=ERROR msg="goroutine 1 [running]:" stream=stderr`,
	} {
		if !strings.Contains(logged, want) {
			t.Errorf("log lacks %s:\n%s", want, logged)
		}
	}
	if strings.Contains(logged, "hidden") {
		t.Errorf("a line below the host's level was logged:\n%s", logged)
	}
}

// The stdout tap hands go-plugin the handshake line alone and logs the rest.
func TestStdoutTap(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	b := outbudget.New(log, outbudget.Config{})
	defer b.Close()
	in := "1|1|unix|/sock|grpc|cert\nafter the handshake\nand more"
	tap := &stdoutTap{ReadCloser: io.NopCloser(iotest.OneByteReader(strings.NewReader(in))), w: outbudget.NewLineWriter(b, log, slog.LevelInfo, "stdout")}
	passed, err := io.ReadAll(tap)
	if err != nil {
		t.Fatal(err)
	}
	if string(passed) != "1|1|unix|/sock|grpc|cert\n" {
		t.Errorf("passed on %q, want the handshake line", passed)
	}
	for _, want := range []string{`msg="after the handshake" stream=stdout`, `msg="and more" stream=stdout`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, buf.String())
		}
	}
}
