# The plugin host: the heksher-host binary, the first-party plugins, the demo
# plugins, and `make run`.

HOST_BIN          := cmd/heksher-host/bin/heksher-host
HOST_PLUGIN_BINS  := plugins/webhook-alerter/bin/webhook-alerter plugins/audit-log/bin/audit-log \
                     examples/demo/banner/bin/banner
HOST_WASM_PLUGINS := examples/demo/discount/plugin.wasm
HOST_SRC          := $(shell find host cmd/heksher-host event dispatch internal sdk -name '*.go' 2>/dev/null) $(wildcard *.go)

# The status page check runs Debian's chromium headless.
CI_APT_PACKAGES += chromium
TEST_TOOLS      += chromium,chromium-browser:chromium

.PHONY: host-plugins
host-plugins: $(HOST_BIN) $(HOST_PLUGIN_BINS) $(HOST_WASM_PLUGINS)

$(HOST_BIN): $(HOST_SRC)
	$(GO) build $(GO_LDFLAGS) -o $@ ./cmd/heksher-host

plugins/webhook-alerter/bin/webhook-alerter: $(wildcard plugins/webhook-alerter/*.go) $(HOST_SRC)
	$(GO) build $(GO_LDFLAGS) -o $@ ./plugins/webhook-alerter

plugins/audit-log/bin/audit-log: $(wildcard plugins/audit-log/*.go) $(HOST_SRC)
	$(GO) build $(GO_LDFLAGS) -o $@ ./plugins/audit-log

examples/demo/banner/bin/banner: $(wildcard examples/demo/banner/*.go) $(HOST_SRC)
	$(GO) build -o $@ ./examples/demo/banner

examples/demo/discount/plugin.wasm: $(wildcard examples/demo/discount/*.go) $(HOST_SRC)
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o $@ ./examples/demo/discount

TEST_DEPS += $(HOST_BIN) $(HOST_PLUGIN_BINS) $(HOST_WASM_PLUGINS)

# run builds the host and the demo's plugins and starts the demo: an embedded
# Heksher server seeded with demo settings, a wasm and a process plugin.
run: host-plugins
	@echo
	@echo "  heksher-host demo"
	@echo "  status page:   http://127.0.0.1:7070/"
	@echo "  change a rule (the plugins log the new values within a second):"
	@echo
	@echo "    curl -X POST http://127.0.0.1:7071/api/v1/rules -H 'Content-Type: application/json' \\"
	@echo "         -d '{\"setting\": \"banner\", \"feature_values\": {\"user\": \"alice\"}, \"value\": \"winter sale\"}'"
	@echo
	@echo "  look a value up:  curl 'http://127.0.0.1:7070/api/v1/lookup/banner?user=alice'"
	@echo "  stop: Ctrl-C"
	@echo
	cd examples/demo && exec ../../$(HOST_BIN) -config host.yaml
