package heksher_test

import (
	"context"
	"fmt"

	"github.com/heksher-go/heksher"
)

// Scoped stubs give each (parallel) test its own values for the same
// setting: a read sees the values of the stub whose context it is given.
func ExampleNewScopedStub() {
	// A fresh main slot, so that this example's setting is not handed to
	// a client of another test in this package.
	heksher.ResetMainForTesting()
	defer heksher.ResetMainForTesting()
	limit, _ := heksher.NewSetting("example_scoped_limit", heksher.Int(), nil, 3)
	one, two := heksher.NewScopedStub(), heksher.NewScopedStub()
	restoreOne := heksher.SetValue(one, limit, 10)
	defer restoreOne()
	restoreTwo := heksher.SetValue(two, limit, 20)
	defer restoreTwo()

	read := func(ctx context.Context) int64 { v, _ := limit.Get(ctx, nil); return v }
	fmt.Println(read(one.Context(context.Background())))
	fmt.Println(read(two.Context(context.Background())))
	fmt.Println(read(context.Background()))
	// Output:
	// 10
	// 20
	// 3
}
