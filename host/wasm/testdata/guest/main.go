// Command guest is the host/wasm test plugin. Built by `make wasm` (mk/wasm.mk)
// into ../guest.wasm; never committed.
//
// Its behaviour on a setting-changed event is chosen by the event's setting
// name, so that one module exercises every fault: "panic", "loop" (a pure
// wasm busy loop that calls no host function), "oom" (allocates until the
// memory limit), "error" (an error status with a message), "badptr" (calls
// every host function with out-of-range pointers), "reasons" (logs the
// errors of failing lookups, with the host's reasons), "hostile" (provokes
// refusals in a loop, with huge names), "grow" (keeps 8 MiB, to
// trigger recycling), "sandbox" (logs what it can see of files, environment,
// clock and randomness, and writes a line to stdout and one to stderr), "walk" (reads every field of the event), "noop"
// (returns at once, after the SDK's own decoding), and anything else
// looks the setting up for env=prod and logs the value.
//
// Two cases flood the host's log for as long as their call lasts (until its
// deadline or its context ends), as a hostile plugin would, for tests and
// benchmarks of the output budget: "logflood" calls the log host function
// with 17 KiB lines in a loop, and "stdoutflood" writes 1 KiB lines to
// stdout with fmt.Println in a loop, and 17 KiB ones to stderr every
// sixteenth line. "stdoutflood" also stops by itself once a lookup of the
// setting "flood_stop" succeeds (it tries every 64 lines): a test can then
// end it without closing the module in the middle of a write.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/heksher-go/heksher/internal/abi"
	"github.com/heksher-go/heksher/sdk/wasm"
)

type config struct {
	FailInit bool `json:"fail_init"`
	// BadDeclare makes init declare a setting without a name.
	BadDeclare bool `json:"bad_declare"`
	// FailRestart makes init fail if an earlier instance left a mark in
	// the granted directory /data: only the first instance starts.
	FailRestart bool `json:"fail_restart"`
	LoopInit    bool `json:"loop_init"`
	// HostileInit makes init declare settings with 64 KiB names (malformed
	// ones, and well-formed ones the host may refuse) and look such names
	// up, 50 times each.
	HostileInit bool `json:"hostile_init"`
	// Tag is echoed at init ("init tag=…") and in the default handler's log
	// line, so tests can tell that an instance was initialised with the
	// plugin's config.
	Tag string `json:"tag"`
}

var (
	prod   = wasm.NewContext("env", "prod")
	tag    string
	hog    [][]byte
	kept   []byte
	logBuf []byte
	walked int
	// blocked is set by the goroutine the "block" case starts.
	blocked bool
)

func init() {
	wasm.Init(func(raw []byte) error {
		var c config
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &c); err != nil {
				return err
			}
		}
		tag = c.Tag
		if tag != "" {
			wasm.Info("init tag=" + tag)
		}
		if c.LoopInit {
			for {
			}
		}
		if c.FailInit {
			return errors.New("init refused by config")
		}
		if c.FailRestart {
			if _, err := os.Stat("/data/started"); err == nil {
				return errors.New("refusing to start again")
			}
			if err := os.WriteFile("/data/started", nil, 0o600); err != nil {
				return err
			}
		}
		if c.HostileInit {
			// Malformed declarations with huge names, then the usual one.
			huge := strings.Repeat("h", 64<<10)
			for range 50 {
				_ = wasm.Declare(wasm.Declaration{Name: huge, ConfigurableFeatures: []string{"env"}, Default: json.RawMessage("1")})
				_ = wasm.Declare(wasm.Declaration{Name: huge, Type: "int", ConfigurableFeatures: []string{"env"}, Default: json.RawMessage("{")})
				_, _ = wasm.GetRaw(huge, wasm.NewContext(huge, huge))
				_ = wasm.Declare(wasm.Declaration{Name: huge, Type: "int", ConfigurableFeatures: []string{"env"}, Default: json.RawMessage("1")})
			}
		}
		if c.BadDeclare {
			return wasm.Declare(wasm.Declaration{Type: "int", ConfigurableFeatures: []string{"env"}, Default: json.RawMessage("1")})
		}
		// The guest reacts to changes of many settings it does not
		// declare (logflood, trap, …).
		if err := wasm.SubscribeSetting(wasm.AllSettings); err != nil {
			return err
		}
		return wasm.Declare(wasm.Declaration{Name: "answer", Type: "int", ConfigurableFeatures: []string{"env"}, Default: json.RawMessage("42")})
	})
	wasm.OnSettingChanged(onChanged)
	wasm.OnClosing(func(wasm.Delivery) error { wasm.Info("closing"); return nil })
}

func onChanged(d wasm.Delivery, e wasm.SettingChanged) error {
	switch e.Setting() {
	case "panic":
		panic("plugin bug")
	case "loop":
		for {
		}
	case "block":
		// Waits for a goroutine that never sends: what a plugin expecting
		// background work between calls would do.
		ch := make(chan int)
		go func() { blocked = true }()
		return errors.New("received " + strconv.Itoa(<-ch))
	case "oom":
		for {
			hog = append(hog, make([]byte, 1<<20))
		}
	case "error":
		return errors.New("cannot handle " + e.Setting())
	case "badptr":
		return badPointers()
	case "reasons":
		return reasons()
	case "hostile":
		return hostile()
	case "grow":
		kept = make([]byte, 8<<20)
		return nil
	case "walk":
		walk(e)
		return nil
	case "noop":
		return nil
	case "sandbox":
		return sandbox()
	case "typed":
		return typed()
	case "logflood":
		line := strings.Repeat("log flood ", 17<<10/10)
		for {
			wasm.Info(line)
		}
	case "stdoutflood":
		line := strings.Repeat("stdout flood ", 1<<10/13)
		long := strings.Repeat("stderr flood ", 17<<10/13)
		for i := 0; ; i++ {
			fmt.Println(line)
			if i%16 == 0 {
				fmt.Fprintln(os.Stderr, long)
			}
			if i%64 == 0 {
				if _, err := wasm.GetRaw("flood_stop", prod); err == nil {
					return nil
				}
			}
		}
	}
	v, err := wasm.GetRaw(e.Setting(), prod)
	if err != nil {
		return err
	}
	logBuf = append(logBuf[:0], "seq="...)
	logBuf = strconv.AppendUint(logBuf, d.Seq, 10)
	logBuf = append(logBuf, " dropped="...)
	logBuf = strconv.AppendUint(logBuf, d.Dropped, 10)
	logBuf = append(logBuf, ' ')
	logBuf = append(logBuf, e.Setting()...)
	logBuf = append(logBuf, '=')
	logBuf = append(logBuf, v...)
	if tag != "" {
		logBuf = append(logBuf, " tag="...)
		logBuf = append(logBuf, tag...)
	}
	wasm.Info(string(logBuf))
	return nil
}

// walk reads every field of the event, as a plugin that inspects the rules
// would.
func walk(e wasm.SettingChanged) {
	for _, rs := range [2]wasm.RuleSet{e.Old(), e.New()} {
		if v, ok := rs.Default(); ok {
			walked += len(v)
		}
		rules := rs.Rules()
		for r, ok := rules.Next(); ok; r, ok = rules.Next() {
			walked += int(r.ID()) + len(r.Value())
			conds := r.Conditions()
			for f, v, ok := conds.Next(); ok; f, v, ok = conds.Next() {
				walked += len(f) + len(v)
			}
		}
	}
}

// sandbox logs what the guest can see of its environment: a variable, the
// whole environment, a file in the granted directory, whether it can write
// there, a host file outside any grant, the clock and 8 random bytes. It
// also writes one line to stdout and one to stderr.
func sandbox() error {
	data, rerr := os.ReadFile("/data/in.txt")
	werr := os.WriteFile("/data/out.txt", []byte("x"), 0o600)
	_, herr := os.ReadFile("/etc/hostname")
	var rb [8]byte
	_, _ = rand.Read(rb[:])
	_, _ = os.Stdout.WriteString("sandbox says hello on stdout\n")
	_, _ = os.Stderr.WriteString("sandbox says hello on stderr\n")
	wasm.Info("sandbox: env=" + strconv.Quote(os.Getenv("GREETING")) +
		" environ=" + strconv.Quote(strings.Join(os.Environ(), ",")) +
		" read=" + strconv.Quote(string(data)) + " readErr=" + strconv.FormatBool(rerr != nil) +
		" writeErr=" + strconv.FormatBool(werr != nil) +
		" hostFileErr=" + strconv.FormatBool(herr != nil) +
		" year=" + strconv.Itoa(time.Now().Year()) +
		" rand=" + hex.EncodeToString(rb[:]))
	return nil
}

// typed logs a lookup through each of the SDK's getters for env=prod, then
// the error of a lookup of the wrong type, of an unknown setting and with a
// feature the settings do not know.
func typed() error {
	i, ierr := wasm.GetInt("answer", prod)
	f, ferr := wasm.GetFloat("answer", prod)
	b, berr := wasm.GetBool("enabled", prod)
	s, serr := wasm.GetString("greeting", prod)
	var j struct{ Greeting string }
	jerr := wasm.GetJSON("greeting_json", prod, &j)
	if err := errors.Join(ierr, ferr, berr, serr, jerr); err != nil {
		return err
	}
	_, typeErr := wasm.GetBool("answer", prod)
	_, missErr := wasm.GetInt("no_such_setting", prod)
	_, ctxErr := wasm.GetInt("answer", wasm.NewContext("zone", "eu"))
	wasm.Info("typed: int=" + strconv.FormatInt(i, 10) +
		" float=" + strconv.FormatFloat(f, 'g', -1, 64) +
		" bool=" + strconv.FormatBool(b) +
		" string=" + strconv.Quote(s) +
		" json=" + strconv.Quote(j.Greeting) +
		" type=" + strconv.FormatBool(errors.Is(typeErr, wasm.ErrType)) +
		" missing=" + strconv.FormatBool(errors.Is(missErr, wasm.ErrNotFound)) +
		" context=" + strconv.FormatBool(errors.Is(ctxErr, wasm.ErrBadContext)))
	return nil
}

// Raw host imports, to pass pointers the SDK never would.

//go:wasmimport heksher_v1 get_setting
func rawGetSetting(namePtr, nameLen, ctxPtr, ctxLen, bufPtr, bufCap uint32) int32

//go:wasmimport heksher_v1 set_error
func rawSetError(ptr, n uint32)

//go:wasmimport heksher_v1 log
func rawLog(level int32, ptr, n uint32)

//go:wasmimport heksher_v1 declare
func rawDeclare(ptr, n uint32) int32

//go:wasmimport heksher_v1 subscribe
func rawSubscribe(kinds uint32) int32

//go:wasmimport heksher_v1 last_error
func rawLastError(bufPtr, bufCap uint32) int32

// reasons logs the errors of failing lookups, which carry the host's
// reasons: a context naming a feature the setting is not configurable by,
// an unknown setting, a context that does not decode (through the raw
// import, since the SDK encodes contexts correctly) and a 1 MiB name.
func reasons() error {
	_, err := wasm.GetInt("answer", wasm.NewContext("colour", "red"))
	wasm.Info("reasons: bad context: " + errText(err))
	_, err = wasm.GetInt("no_such_setting", prod)
	wasm.Info("reasons: not found: " + errText(err))
	name := "answer"
	garbage := []byte{9, 0, 0, 0, 1, 2}
	var buf [2048]byte
	n := rawGetSetting(uint32(uintptr(unsafe.Pointer(unsafe.StringData(name)))), uint32(len(name)),
		uint32(uintptr(unsafe.Pointer(&garbage[0]))), uint32(len(garbage)), 0, 0)
	m := rawLastError(uint32(uintptr(unsafe.Pointer(&buf[0]))), uint32(len(buf)))
	wasm.Info("reasons: malformed " + strconv.Itoa(int(n)) + ": " + string(buf[:max(m, 0)]))
	huge := strings.Repeat("n", 1<<20)
	_, err = wasm.GetRaw(huge, prod)
	wasm.Info("reasons: huge name: " + strconv.Itoa(len(errText(err))) + " bytes, reason " + strconv.Itoa(int(rawLastError(0, 0))) + " bytes")
	return nil
}

// hostile does, 100 times, what a hostile or broken plugin might to make
// the host log: lookups with a context the setting does not take, with a
// 64 KiB name the host fails on ("internal_…"), with a context that does
// not decode, declarations after init, and log calls with bad pointers;
// then it fails with a 1 MiB error message.
func hostile() error {
	bad := wasm.NewContext("colour", "red")
	long := "internal_" + strings.Repeat("x", 64<<10)
	name := "answer"
	garbage := []byte{9, 0, 0, 0, 1, 2}
	np := uint32(uintptr(unsafe.Pointer(unsafe.StringData(name))))
	gp := uint32(uintptr(unsafe.Pointer(&garbage[0])))
	for range 100 {
		_, _ = wasm.GetRaw("answer", bad)
		_, _ = wasm.GetRaw(long, prod)
		rawGetSetting(np, uint32(len(name)), gp, uint32(len(garbage)), 0, 0)
		rawDeclare(gp, uint32(len(garbage)))
		rawLog(8, 0xFFFF_FF00, 100)
	}
	return errors.New(strings.Repeat("e", 1<<20))
}

func errText(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// badPointers calls every host function with pointers and lengths outside
// memory and fails unless each one answers INVALID_MEMORY (or NOT_ALLOWED
// after init) instead of trapping.
func badPointers() error {
	name := "answer"
	np := uint32(uintptr(unsafe.Pointer(unsafe.StringData(name))))
	var buf [64]byte
	bp := uint32(uintptr(unsafe.Pointer(&buf[0])))
	const far = 0xFFFF_FF00
	cases := []struct {
		what string
		got  int32
		want int32
	}{
		{"name ptr", rawGetSetting(far, 6, 0, 0, bp, 64), -4},
		{"name len", rawGetSetting(np, 0xFFFF_FFFF, 0, 0, bp, 64), -4},
		{"ctx ptr", rawGetSetting(np, 6, far, 19, bp, 64), -4},
		{"buf ptr", rawGetSetting(np, 6, 0, 0, far, 64), -4},
		{"buf cap", rawGetSetting(np, 6, 0, 0, bp, 0xFFFF_FFFF), -4},
		{"ctx garbage", rawGetSetting(np, 6, bp, 64, bp, 64), -5},
		{"declare after init", rawDeclare(far, 10), -6},
		{"subscribe after init", rawSubscribe(1 << 4), -6},
		{"last_error ptr", rawLastError(far, 64), -4},
		{"last_error cap", rawLastError(bp, 0xFFFF_FFFF), -4},
	}
	// After those failures last_error answers the last one's reason, and
	// writes it only into a buffer large enough.
	var why [abi.MaxReason]byte
	wp := uint32(uintptr(unsafe.Pointer(&why[0])))
	n := rawLastError(wp, abi.MaxReason)
	if n <= 0 || n > abi.MaxReason || !strings.HasPrefix(string(why[:max(n, 0)]), "subscribe: ") {
		return errors.New("badptr: last_error after subscribe answered " + strconv.Itoa(int(n)) + ": " + string(why[:max(n, 0)]))
	}
	why[0] = 0
	if m := rawLastError(wp, uint32(n-1)); m != n || why[0] != 0 {
		return errors.New("badptr: last_error into a short buffer answered " + strconv.Itoa(int(m)) + " or wrote")
	}
	rawSetError(far, 100)
	rawLog(0, far, 100)
	rawLog(0, 0, 0xFFFF_FFFF)
	for _, c := range cases {
		if c.got != c.want {
			return errors.New("badptr: " + c.what + ": got " + strconv.Itoa(int(c.got)) + ", want " + strconv.Itoa(int(c.want)))
		}
	}
	wasm.Info("badptr: host answered every bad call")
	return nil
}

// benchLookups performs n lookups of "answer" for env=prod and returns the
// nanoseconds they took, measured inside the guest with the clock the host
// granted.
//
//go:wasmexport bench_lookups
func benchLookups(n uint32) int64 {
	start := time.Now()
	for range n {
		if _, err := wasm.GetRaw("answer", prod); err != nil {
			return -1
		}
	}
	return int64(time.Since(start))
}

func main() {}

// benchDecode decodes the payload at ptr n times inside one call and
// returns the nanoseconds taken (needs the clock grant).
//
//go:wasmexport bench_decode
func benchDecode(ptr unsafe.Pointer, size uint32, n uint32) int64 {
	b := unsafe.Slice((*byte)(ptr), size)
	start := time.Now()
	for range n {
		_, body, err := abi.DecodeHeader(b)
		if err != nil {
			return -1
		}
		if _, err := abi.DecodeSettingChanged(body); err != nil {
			return -1
		}
	}
	return int64(time.Since(start))
}

// hookFloor has a hook's signature and does nothing: the floor of a call
// into a Go guest.
//
//go:wasmexport bench_hook_floor
func hookFloor(ptr unsafe.Pointer, size uint32) int32 { return 0 }

// Getters measured by lookup_mallocs, by number.
var getters = [...]func() error{
	func() error { _, err := wasm.GetRaw("answer", prod); return err },
	func() error { _, err := wasm.GetInt("answer", prod); return err },
	func() error { _, err := wasm.GetFloat("answer", prod); return err },
	func() error { _, err := wasm.GetBool("enabled", prod); return err },
	func() error { _, err := wasm.GetString("greeting", prod); return err },
	func() error {
		// A context built per lookup in a reused builder.
		_, err := wasm.GetInt("answer", builder.Reset().Add("env", "prod").Add("user", "ann").Context())
		return err
	},
}

var builder wasm.ContextBuilder

// lookupMallocs performs n lookups with getter number kind (after one to
// warm up) and returns the number of heap allocations they made, as counted
// by the guest's Go runtime, or -1 if a lookup failed.
//
//go:wasmexport lookup_mallocs
func lookupMallocs(kind, n uint32) int64 {
	if int(kind) >= len(getters) {
		return -1
	}
	get := getters[kind]
	if get() != nil {
		return -1
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		if get() != nil {
			return -1
		}
	}
	runtime.ReadMemStats(&after)
	return int64(after.Mallocs - before.Mallocs)
}
