package process

// isolation is how a plugin process tree is tied to its plugin and host.
type isolation uint8

const (
	isolateAuto      isolation = iota // the first mode the system permits
	isolatePIDNS                      // PID 1 of a new PID namespace
	isolateUserPIDNS                  // PID 1 of a new PID namespace in a new user namespace
	isolateGroup                      // a process group of its own only
)

func (i isolation) String() string {
	switch i {
	case isolatePIDNS:
		return "pid-namespace"
	case isolateUserPIDNS:
		return "user-and-pid-namespace"
	case isolateGroup:
		return "process-group"
	}
	return "auto"
}
