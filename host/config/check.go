package config

import (
	"cmp"
	"fmt"
	"os"
	"slices"
)

// LoadAll is [Load] for heksher-host -check: instead of the first problem it
// reports every problem of the file's values, each an [*Error] with its
// line, in the order of the file. A file that cannot be read or decoded is
// one error, and the Config is then empty. Otherwise the Config is returned
// with its relative paths resolved (and no defaults) even when some values
// are wrong, with the positions of its fields, so that the caller can check
// more of it (files, modules, types) and say where each problem comes from.
func LoadAll(path string) (Config, Positions, []error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, nil, []error{fmt.Errorf("config: %w", err)}
	}
	c, pos, err := Parse(path, data)
	if err != nil {
		return Config{}, nil, []error{err}
	}
	c = c.resolvePaths(dirOf(path))
	v := c.check(path, pos)
	errs := make([]error, 0, len(v.errs))
	slices.SortStableFunc(v.errs, func(a, b *Error) int { return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column)) })
	for _, e := range v.errs {
		errs = append(errs, e)
	}
	return c, pos, errs
}
