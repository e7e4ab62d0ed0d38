package server

import "strings"

// version is a parsed MAJOR.MINOR. The halves are kept as decimal strings
// without leading zeros, so arbitrarily large numbers compare correctly.
type version struct{ major, minor string }

// parseVersion reads a string already checked against the version pattern.
func parseVersion(s string) version {
	a, b, _ := strings.Cut(s, ".")
	return version{trimZeros(a), trimZeros(b)}
}

func trimZeros(s string) string {
	s = strings.TrimLeft(s, "0")
	if s == "" {
		return "0"
	}
	return s
}

func cmpDecimal(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// cmp orders versions numerically: (1, 10) > (1, 9).
func (v version) cmp(o version) int {
	if c := cmpDecimal(v.major, o.major); c != 0 {
		return c
	}
	return cmpDecimal(v.minor, o.minor)
}

// pair renders the version as the reference's Python tuple: "(1, 0)".
func (v version) pair() string { return "(" + v.major + ", " + v.minor + ")" }
