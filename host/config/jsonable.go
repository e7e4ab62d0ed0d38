package config

import "fmt"

// JSONable returns v, a value the YAML decoder produced (a default, a
// plugin's config), in a form encoding/json can write: maps with
// non-string keys (map[any]any) become map[string]any, at every depth.
func JSONable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = JSONable(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = JSONable(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = JSONable(e)
		}
		return out
	}
	return v
}
