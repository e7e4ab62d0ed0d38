# The portable Go plugin example (sdk/portable): one source built as a wasm
# guest and as a process plugin. Its tests build it themselves, both ways,
# so nothing here is a test dependency; `make go-anywhere` builds both for
# loading in the host.

.PHONY: go-anywhere
go-anywhere:
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o examples/go-anywhere/plugin.wasm ./examples/go-anywhere
	$(GO) build -o examples/go-anywhere/bin/go-anywhere ./examples/go-anywhere
