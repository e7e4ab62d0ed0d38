# WebAssembly plugins: the Go guests (test guest and examples) and the WAT
# modules. None of the .wasm files are committed; `make wasm` builds them all.

WASM_GOBUILD := GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared
WASM_SDK_SRC := $(wildcard sdk/wasm/*.go internal/abi/*.go)

WASM_GO_GUESTS := host/wasm/testdata/guest.wasm \
	examples/wasm-changes/plugin.wasm \
	examples/wasm-errorhandler/plugin.wasm
WASM_WAT_MODULES := examples/wasm-wat/plugin.wasm \
	$(patsubst %.wat,%.wasm,$(wildcard host/wasm/testdata/wat/*.wat))

.PHONY: wasm
wasm: $(WASM_GO_GUESTS) $(WASM_WAT_MODULES)

host/wasm/testdata/guest.wasm: $(wildcard host/wasm/testdata/guest/*.go) $(WASM_SDK_SRC)
	$(WASM_GOBUILD) -o $@ ./host/wasm/testdata/guest

examples/%/plugin.wasm: examples/%/main.go $(WASM_SDK_SRC)
	$(WASM_GOBUILD) -o $@ ./examples/$*

%.wasm: %.wat
	wat2wasm -o $@ $<

TEST_DEPS += $(WASM_GO_GUESTS) $(WASM_WAT_MODULES)
CI_APT_PACKAGES += wabt
