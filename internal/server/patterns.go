package server

import "regexp"

// pattern is a validation regex and the text the reference shows for it.
type pattern struct {
	re   *regexp.Regexp
	text string
}

func (p *pattern) match(s string) bool { return p.re.MatchString(s) }

// The reference's patterns; Go anchors them at both ends.
var (
	patSettingName = &pattern{regexp.MustCompile(`^[a-zA-Z_0-9.]+$`), `[a-zA-Z_0-9.]+$`}
	patFeatureName = &pattern{regexp.MustCompile(`^[a-zA-Z_0-9]+$`), `[a-zA-Z_0-9]+$`}
	patFeatureVal  = &pattern{regexp.MustCompile(`^[a-zA-Z_0-9]+$`), `[a-zA-Z_0-9]+$`}
	patMetadataKey = &pattern{regexp.MustCompile(`^[a-zA-Z0-9_-]+$`), `[a-zA-Z0-9_-]+$`}
	patVersion     = &pattern{regexp.MustCompile(`^[0-9]+\.[0-9]+$`), `^[0-9]+\.[0-9]+$`}
	patSettingList = &pattern{regexp.MustCompile(`^([a-zA-Z_0-9.]+(,[a-zA-Z_0-9.]+)*)?$`), `([a-zA-Z_0-9.]+(,[a-zA-Z_0-9.]+)*)?$`}
	patSearchFV    = &pattern{regexp.MustCompile(`^[a-zA-Z_0-9]+:[a-zA-Z_0-9]+(,[a-zA-Z_0-9]+:[a-zA-Z_0-9]+)*$`),
		`[a-zA-Z_0-9]+:[a-zA-Z_0-9]+(,[a-zA-Z_0-9]+:[a-zA-Z_0-9]+)*$`}
	patFilters = &pattern{
		regexp.MustCompile(`^(\*|[a-zA-Z_0-9]+:(\*|\([a-zA-Z_0-9]+(,[a-zA-Z_0-9]+)*\))(,[a-zA-Z_0-9]+:(\*|\([a-zA-Z_0-9]+(,[a-zA-Z_0-9]+)*\)))*)?$`),
		filtersPatternText,
	}
)

// filtersPatternText is the reference's verbose context_filters regex,
// quoted verbatim in its validation errors.
const filtersPatternText = "(?x)\n(\n    \\*  # we allow an explicit global wildcard\n    |\n    [a-zA-Z_0-9]+:  # context feature name\n    (\n        \\*  # accept any value\n        |\n        \\(\n            [a-zA-Z_0-9]+  # value\n            (,[a-zA-Z_0-9]+)*  # additional values\n        \\)\n    )\n    (\n    ,[a-zA-Z_0-9]+: (\\* | \\([a-zA-Z_0-9]+ (,[a-zA-Z_0-9]+)*\\))  # additional filters\n    )*\n)?  # we also allow empty string to signify no rules could match\n$\n"

// Filter keys: the reference extracts them with a lower-case-only pattern
// (reference bug 2); the fixed variant takes the whole validated name.
var (
	filterItemsLower = regexp.MustCompile(`([a-z]+):(\(([^)]+)\)|\*)`)
	filterItemsFixed = regexp.MustCompile(`([a-zA-Z_0-9]+):(\(([^)]+)\)|\*)`)
)

// validSettingList is patSettingList.match without the regexp: names of
// [a-zA-Z_0-9.] separated by single commas, or the empty string. A list
// of 100,000 names takes a regexp milliseconds and this loop far less.
func validSettingList(s string) bool {
	prevComma := true // at the start, as after a comma: a name must follow
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ',':
			if prevComma {
				return false
			}
			prevComma = true
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '.':
			prevComma = false
		default:
			return false
		}
	}
	return s == "" || !prevComma
}
