// Package outbudget bounds what one plugin may write to the host's log.
//
// A plugin reaches the host's log through several doors: a wasm guest's log
// host function and its stdout and stderr, a process plugin's stdout and
// stderr and its hclog records. Each plugin gets one [Budget] that all of its
// doors share, so that a plugin flooding any of them costs the host at most
// the budget's rate in log output, and the host's time to find line ends
// and drop the rest.
//
// # The budget
//
// A [Budget] is a token bucket in bytes: it fills at [Config.Rate] bytes per
// second up to [Config.Burst]. A line is accepted when the bucket holds its
// cost (its length plus [LineOverhead], the time, level and attributes the
// host's handler adds), which is then taken; otherwise the whole line is
// dropped. A line longer than [Config.MaxLine] is cut to MaxLine bytes and
// logged with a [TruncatedKey] attribute holding the number of bytes cut.
// Nothing is ever queued or waited for: a writer over its budget loses
// output, never time.
//
// Dropped lines and bytes (cut tails included) are counted ([Budget.Stats]),
// and the budget logs one summary line (at warning level) per
// [Config.Interval] in which anything was lost, plus a last one when it is
// closed. The defaults (1 MiB/s, a 256 KiB burst, 16 KiB lines) let one
// plugin write at most about 10.3 MiB in 10 s.
//
// # Lines
//
// [LineWriter] is an io.Writer that splits a byte stream (a guest's stdout,
// a process's pipe) into lines and logs each accepted one; [Budget.Line] is
// the same decision for a line that arrives whole (a log call).
//
// # Concurrency and cost
//
// A Budget is safe for concurrent use; so is a LineWriter. Deciding on a
// line allocates nothing: a dropped line costs a mutex and a clock read, and
// only an accepted one is formatted.
package outbudget
