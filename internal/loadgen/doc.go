// Package loadgen drives HTTP load from inside a Go test or command and
// measures it: simulated clients that poll a server on a schedule, each
// with its own URL and its own ETag, or a closed loop that sends as fast as
// the answers come back.
//
// # Quick start
//
//	res, err := loadgen.Run(ctx, loadgen.Config{
//		URLs:     urls,        // one simulated client per URL
//		Interval: time.Second, // each polls once a second
//		Duration: 10 * time.Second,
//		Workers:  32, // requests in flight at most, and connections
//	})
//	fmt.Println(res) // requests=… errors=… rate=…/s p50=… p90=… p99=… max=…
//
// # Polling clients
//
// With an Interval, client i polls at i×Interval/len(URLs) past the start
// and every Interval after, so the load is spread evenly over the interval,
// as a fleet of clients started at random times spreads it. Each client
// keeps the ETag of its last 200 and sends it as If-None-Match, as the
// Heksher clients do, so a server answering from its cache answers 304. A
// client never has two polls in flight: a poll that falls due while the
// previous one is still running is skipped and counted ([Result.Skipped]),
// and a poll that no worker could start on time is counted late
// ([Result.Late]); both say that the generator, not only the server, was
// the bottleneck.
//
// # Closed loop
//
// With no Interval, each worker sends its next request as soon as the last
// one was answered, going through its share of the clients in turn: the
// requests per second ([Result.Rate]) are the server's maximum throughput
// for that mix at that concurrency. Drive two servers with the same Config
// in the same run to compare them.
//
// # Bounds
//
// Run starts Workers goroutines and one scheduler, never more, and opens at
// most Workers connections; every request has a timeout; latencies are kept
// per worker and merged once at the end. It returns after Duration (or when
// ctx is done) once every request in flight has ended.
//
// # Concurrency
//
// Run may be called concurrently; a [Result] is not changed after Run
// returns.
package loadgen
