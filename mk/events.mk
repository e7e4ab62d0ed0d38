# The host package's wasm guest for the event semantics
# (host/testdata/eventguest): selections of settings, start-up and
# unreadable marks, closing reasons. Built here, never committed, like the
# Go guests of mk/wasm.mk.

HOST_EVENT_GUEST := host/testdata/eventguest/eventguest.wasm

.PHONY: host-testdata
host-testdata: $(HOST_EVENT_GUEST)

$(HOST_EVENT_GUEST): $(wildcard host/testdata/eventguest/*.go sdk/wasm/*.go internal/abi/*.go)
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o $@ ./host/testdata/eventguest

TEST_DEPS += $(HOST_EVENT_GUEST)
