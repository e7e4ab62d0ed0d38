package event

// Source says where a resolved value came from. The client core
// (heksher.Source), the plugin contract (pluginapi.Source) and the plugin
// runtimes all use this one type.
type Source uint8

// The sources of a value, from the most to the least specific.
const (
	SourceRule          Source = iota + 1 // a rule matched
	SourceServerDefault                   // no rule matched; the server's default
	SourceLocalDefault                    // no rule matched and no server default was accepted
)

// String returns "rule", "server_default" or "local_default".
func (s Source) String() string {
	switch s {
	case SourceRule:
		return "rule"
	case SourceServerDefault:
		return "server_default"
	case SourceLocalDefault:
		return "local_default"
	}
	return "unknown"
}

// MarshalText encodes s as its String.
func (s Source) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
