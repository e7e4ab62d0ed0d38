# The host package's own wasm test guest (host/testdata/initguest): values
# at init and declaration conflicts. Built here, never committed, like the
# Go guests of mk/wasm.mk.

HOST_TEST_GUESTS := host/testdata/initguest.wasm

.PHONY: host-testdata
host-testdata: $(HOST_TEST_GUESTS)

# mk/wasm.mk is read after this file: its variables are not set yet here.
host/testdata/initguest.wasm: $(wildcard host/testdata/initguest/*.go sdk/wasm/*.go internal/abi/*.go)
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o $@ ./host/testdata/initguest

TEST_DEPS += $(HOST_TEST_GUESTS)
