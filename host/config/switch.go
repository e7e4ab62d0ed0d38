package config

import "fmt"

// Switch is an on/off value whose zero value means the field's default,
// written in the file as true or false.
type Switch uint8

// The values of a Switch.
const (
	SwitchDefault Switch = iota // not set: the field's default
	SwitchOn                    // true
	SwitchOff                   // false
)

// Enabled reports whether s is on, def when it is not set.
func (s Switch) Enabled(def bool) bool {
	switch s {
	case SwitchOn:
		return true
	case SwitchOff:
		return false
	}
	return def
}

// String is "true", "false" or "default".
func (s Switch) String() string {
	switch s {
	case SwitchOn:
		return "true"
	case SwitchOff:
		return "false"
	}
	return "default"
}

func (s *Switch) decodeScalar(v string) error {
	switch v {
	case "true", "True", "TRUE":
		*s = SwitchOn
	case "false", "False", "FALSE":
		*s = SwitchOff
	default:
		return fmt.Errorf("want true or false, got %q", v)
	}
	return nil
}
