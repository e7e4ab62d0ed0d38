package process

import "runtime"

// starter runs process starts on one OS thread that lives as long as the
// plugin. On Linux a child started with Pdeathsig gets its signal when the
// *thread* that forked it exits, not the process; an ordinary goroutine may
// fork from a thread the runtime later retires, which would kill a healthy
// plugin. Locking the starter to its thread for its whole life makes
// Pdeathsig mean "the host died".
type starter struct {
	jobs chan func()
	done chan struct{}
}

func newStarter() *starter {
	s := &starter{jobs: make(chan func()), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		// Never unlocked: when the goroutine ends the runtime ends the
		// thread, by then every child of this plugin has been stopped.
		runtime.LockOSThread()
		for f := range s.jobs {
			f()
		}
	}()
	return s
}

// do runs f on the starter's thread and waits for it.
func (s *starter) do(f func()) {
	ran := make(chan struct{})
	s.jobs <- func() { defer close(ran); f() }
	<-ran
}

// stop ends the starter; do must not be called afterwards.
func (s *starter) stop() {
	close(s.jobs)
	<-s.done
}
