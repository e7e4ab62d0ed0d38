package heksher_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/heksher-go/heksher"
)

// maxUploads would normally be a package-level variable initialised with
// NewSetting; here it is created after the main slot was reset, so that it
// is not handed to the clients other tests of this package start.
var maxUploads *heksher.Setting[int64]

func declareMaxUploads() {
	maxUploads, _ = heksher.NewSetting("max_uploads", heksher.Int(), []string{"tenant"}, 3)
}

// uploadsAllowed is the code under test: it reads a setting.
func uploadsAllowed(ctx context.Context, tenant string) int64 {
	v, err := maxUploads.Get(ctx, map[string]string{"tenant": tenant})
	if err != nil {
		return 0
	}
	return v
}

// TestUploads shows the test double: a stub client made main, and values
// patched for the duration of the test.
func TestUploads(t *testing.T) {
	heksher.ResetMainForTesting()
	t.Cleanup(heksher.ResetMainForTesting)
	declareMaxUploads()
	stub := heksher.NewStubClient()
	if err := stub.SetAsMain(context.Background()); err != nil {
		t.Fatal(err)
	}
	heksher.PatchRules(t, stub, maxUploads,
		heksher.StubRule[int64]{Value: 5},
		heksher.StubRule[int64]{Conditions: map[string]string{"tenant": "big"}, Value: 50},
	)
	if got := uploadsAllowed(context.Background(), "big"); got != 50 {
		t.Errorf("big tenant: %d", got)
	}
	if got := uploadsAllowed(context.Background(), "small"); got != 5 {
		t.Errorf("small tenant: %d", got)
	}
}

// The stub: SetValue applies at once and returns a restore function.
func ExampleStubClient() {
	heksher.ResetMainForTesting()
	defer heksher.ResetMainForTesting()
	declareMaxUploads()
	stub := heksher.NewStubClient()
	_ = stub.SetAsMain(context.Background())

	restore := heksher.SetValue(stub, maxUploads, 10)
	fmt.Println(uploadsAllowed(context.Background(), "t1"))
	restore()
	fmt.Println(uploadsAllowed(context.Background(), "t1"))
	_ = stub.Reload(context.Background())
	fmt.Printf("%+v\n", stub.Calls())
	// Output:
	// 10
	// 3
	// {Reload:1 Close:0 Ping:0}
}
