# server area: the Heksher-compatible server, hekshertest and heksher-devserver.
.PHONY: devserver devserver-run bench-server

devserver:
	$(GO) build $(GO_LDFLAGS) -o $(GOBIN_DIR)/heksher-devserver ./cmd/heksher-devserver

# devserver-run serves the example seed on 127.0.0.1:8765 until Ctrl-C.
devserver-run:
	$(GO) run ./cmd/heksher-devserver -addr 127.0.0.1:8765 -seed cmd/heksher-devserver/testdata/seed.yaml

bench-server:
	$(GO) test $(BENCH_FLAGS) -bench . ./internal/server/ ./hekshertest/
