package server

import "regexp"

// pattern is a validation regex and the text the reference shows for it.
type pattern struct {
	re   *regexp.Regexp
	text string
}

func (p *pattern) match(s string) bool { return p.re.MatchString(s) }

// The reference's patterns (API §1.2); Go anchors them at both ends.
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
// (API §10 #2); the fixed variant takes the whole validated name.
var (
	filterItemsLower = regexp.MustCompile(`([a-z]+):(\(([^)]+)\)|\*)`)
	filterItemsFixed = regexp.MustCompile(`([a-zA-Z_0-9]+):(\(([^)]+)\)|\*)`)
)
