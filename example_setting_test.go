package heksher_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/heksher-go/heksher"
)

// A setting is declared once, typically as a package-level variable, and read
// per request. Here a stub client supplies its rules.
func ExampleNewSetting() {
	heksher.ResetMainForTesting()
	defer heksher.ResetMainForTesting()

	cacheSize, err := heksher.NewSetting("cache_size", heksher.Int(), []string{"user", "theme"}, 50)
	if err != nil {
		fmt.Println(err)
		return
	}
	stub := heksher.NewStubClient()
	_ = stub.SetAsMain(context.Background())
	restore, _ := heksher.SetRules(stub, cacheSize,
		heksher.StubRule[int64]{Conditions: map[string]string{"user": "admin"}, Value: 200},
		heksher.StubRule[int64]{Conditions: map[string]string{"theme": "dark"}, Value: 100},
	)
	defer restore()

	ctx := context.Background()
	for _, req := range []map[string]string{
		{"user": "admin", "theme": "light"},
		{"user": "admin", "theme": "dark"}, // the later feature (theme) wins
		{"user": "guest", "theme": "light"},
	} {
		v, err := cacheSize.Get(ctx, req)
		fmt.Println(v, err)
	}
	// Output:
	// 200 <nil>
	// 100 <nil>
	// 50 <nil>
}

// Invalid input is reported when the setting is built, never at first use.
func ExampleNewSetting_errors() {
	_, err := heksher.NewSetting("s", heksher.Int(), nil, 1, heksher.WithVersion("3"))
	fmt.Println(errors.Is(err, heksher.ErrInvalidSetting))
	fmt.Println(err)
	// Output:
	// true
	// heksher: invalid setting: setting s: version "3" is not MAJOR.MINOR
}

// Lookup says where a value came from.
func ExampleSetting_Lookup() {
	heksher.ResetMainForTesting()
	defer heksher.ResetMainForTesting()
	stub := heksher.NewStubClient()
	_ = stub.SetAsMain(context.Background())

	theme, _ := heksher.NewSetting("theme", heksher.Str(), []string{"user"}, "light")
	restore, _ := heksher.SetRules(stub, theme, heksher.StubRule[string]{Conditions: map[string]string{"user": "admin"}, Value: "dark"})
	defer restore()

	r, _ := theme.Lookup(context.Background(), map[string]string{"user": "admin"})
	fmt.Println(r.Value, r.Source, r.Conditions)
	r, _ = theme.Lookup(context.Background(), map[string]string{"user": "bob"})
	fmt.Println(r.Value, r.Source)
	// Output:
	// dark rule [{user admin}]
	// light local_default
}

// Missing and non-configurable context features are errors callers can
// branch on.
func ExampleSetting_Get_errors() {
	heksher.ResetMainForTesting()
	defer heksher.ResetMainForTesting()
	stub := heksher.NewStubClient()
	_ = stub.SetAsMain(context.Background())
	limit, _ := heksher.NewSetting("limit", heksher.Int(), []string{"user", "theme"}, 7)
	restore, _ := heksher.SetRules(stub, limit, heksher.StubRule[int64]{Conditions: map[string]string{"user": "admin", "theme": "dark"}, Value: 1})
	defer restore()

	_, err := limit.Get(context.Background(), map[string]string{"user": "admin"})
	fmt.Println(errors.Is(err, heksher.ErrMissingContextFeature))
	_, err = limit.Get(context.Background(), map[string]string{"tenant": "t1"})
	fmt.Println(errors.Is(err, heksher.ErrNotConfigurable))
	// Output:
	// true
	// true
}

// Features prepares a request's values once for many reads.
func ExampleNewFeatures() {
	heksher.ResetMainForTesting()
	defer heksher.ResetMainForTesting()
	stub := heksher.NewStubClient()
	_ = stub.SetAsMain(context.Background())
	a, _ := heksher.NewSetting("a", heksher.Int(), []string{"user"}, 0)
	b, _ := heksher.NewSetting("b", heksher.Bool(), []string{"user", "theme"}, false)
	restoreA := heksher.SetValue(stub, a, 10)
	defer restoreA()
	restoreB := heksher.SetValue(stub, b, true)
	defer restoreB()

	ctx := context.Background()
	f := heksher.NewFeatures(ctx, map[string]string{"user": "admin", "theme": "dark"})
	av, _ := a.GetFor(ctx, f) // theme is not configurable for a: ignored
	bv, _ := b.GetFor(ctx, f)
	fmt.Println(av, bv)
	// Output:
	// 10 true
}

// Types render the type strings Heksher stores.
func ExampleEnum() {
	type Color int
	const (
		Red Color = iota
		Blue
	)
	colors := heksher.Enum(heksher.EnumMember[Color]{Value: Red, Wire: "red"}, heksher.EnumMember[Color]{Value: Blue, Wire: "blue"})
	fmt.Println(colors)
	fmt.Println(heksher.Sequence(colors))
	fmt.Println(heksher.Mapping(heksher.Flags("b", "a")))
	v, _, err := colors.FromWire(json.RawMessage(`"blue"`))
	fmt.Println(v == Blue, err)
	_, _, err = colors.FromWire(json.RawMessage(`"green"`))
	fmt.Println(errors.Is(err, heksher.ErrRejected))
	// Output:
	// Enum["blue","red"]
	// Sequence<Enum["blue","red"]>
	// Mapping<Flags["a","b"]>
	// true <nil>
	// true
}

// A type known only at run time handles values as wire JSON.
func ExampleParseType() {
	typ, err := heksher.ParseType(`Sequence < Flags ["b", "a"] >`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(typ)
	v, coercions, err := typ.FromWire(json.RawMessage(`[["a","z"],["b"]]`))
	fmt.Println(string(v), coercions, err)
	// Output:
	// Sequence<Flags["a","b"]>
	// [["a"],["b"]] [element 0: server sent a flag value not found in the python type (z)] <nil>
}

// Flags values are sets of names; unknown names from the server are
// dropped with a coercion.
func ExampleFlags() {
	features := heksher.Flags("beta", "dark_mode", "new_checkout")
	fmt.Println(features)

	v, coercions, err := features.FromWire(json.RawMessage(`["new_checkout","beta","retired"]`))
	fmt.Println(v, v.Has("beta"), coercions, err)

	wire, _ := features.ToWire(v.With("dark_mode"))
	fmt.Println(string(wire)) // in declaration order
	// Output:
	// Flags["beta","dark_mode","new_checkout"]
	// beta|new_checkout true [server sent a flag value not found in the python type (retired)] <nil>
	// ["beta","dark_mode","new_checkout"]
}
