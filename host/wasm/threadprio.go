package wasm

import "time"

// lowerAfter is how long a call into a guest runs before the priority of
// the OS thread running it is lowered (see [watchdog] and [lockCallThread]).
//
// Why: wazero's compiled code cannot be preempted by the Go scheduler, so a
// guest in a long call holds one OS thread, and one of the host's few
// cores, for the whole call, at the same priority as the threads serving
// the host's HTTP API. Past lowerAfter the call's thread runs at nice
// [lowNice] from the next time it runs the host's code (a host function, a
// write to stdout or stderr, a memory.grow), so the guest gets the CPU
// mostly when the host's own threads do not want it; the kernel's zeroing
// of the pages a growing guest touches runs in that thread too. A guest
// looping in pure wasm, never calling the host, keeps its priority (its
// deadline still stops it). The priority is restored when the call returns,
// on every path (result, trap, deadline, Close), before the thread serves
// any other goroutine. Short calls never reach the threshold; Linux only,
// and only where the process may raise a priority back (CAP_SYS_NICE, or
// an RLIMIT_NICE allowing it): elsewhere nothing is lowered.
const lowerAfter = 5 * time.Millisecond

// lowNice is the nice value of a thread running a call past lowerAfter.
const lowNice = 19
