package wasm

// lowNice is the nice value of the OS thread of a call into a guest that
// has run for [paceAfter].
//
// Why: wazero's compiled code cannot be preempted by the Go scheduler, so a
// guest in a long call holds one OS thread for the whole call, at the
// priority of the threads serving the host's HTTP API. Past paceAfter the
// call's thread runs at nice lowNice from the next time it runs the host's
// code (a host function, a write to stdout or stderr, a memory.grow), so the
// kernel prefers the host's other threads to it. A thread at low priority
// still holds its Go P while it runs the guest: the host raises GOMAXPROCS
// above the number of cores (cmd/heksher-host) so that the P it holds is
// not one the host's goroutines need. The priority is restored when the call
// returns, on every path, before the thread serves any other goroutine.
// Linux only, and only where the process may raise a priority back
// (CAP_SYS_NICE, or an RLIMIT_NICE allowing it).
const lowNice = 19
