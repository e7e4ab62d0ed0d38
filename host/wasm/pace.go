package wasm

import "time"

// A call into a guest that has run for paceAfter is paced from then on:
// each time it runs the host's code (a host function, a write to stdout or
// stderr, a memory.grow) after having run for paceRun since its last pause,
// it pauses for pacePause, its goroutine parked. A runaway call that keeps
// calling the host thus uses at most about a fifth of a core until its
// deadline; a guest looping in pure wasm, never calling the host, is not
// paced (its deadline still stops it). Short calls never reach paceAfter.
//
// Why: the guest runs in the host's process, and the kernel shares the
// CPU between processes (between sessions, with autogroup), not between a
// process's threads. A guest spinning for its whole deadline makes the
// host's process always runnable, so on a machine whose cores are busy the
// host's own threads wait behind other processes' as soon as they wake:
// the lookup API's p99 beside a plugin flooding its log was 12–26 ms
// against 1.4–3.3 ms with no faulty plugin at load average 8–13, and
// 3.1–8.5 ms with the guest paced (BENCHMARKS.md, "Lookup API p99 beside a
// faulty plugin"). Lowering the thread's priority alone (nice 19) does not
// replace pacing: nice weighs threads within one process's share only, and
// with no spare Go P a thread that hardly runs holds one of the scheduler's
// Ps, so the thread is lowered only when GOMAXPROCS leaves spare Ps, as
// heksher-host sets it (threadprio.go). A parked goroutine holds no P and
// no CPU.
const (
	paceAfter = 5 * time.Millisecond
	paceRun   = time.Millisecond
	pacePause = 4 * time.Millisecond
)
