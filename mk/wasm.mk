# WebAssembly plugins: the Go guests (test guest and examples) and the WAT
# modules. The Go guests are built here and not committed. The WAT modules are
# committed beside their .wat sources (generated code, like sdk/proto's), so
# that `make test` and `make run` need nothing but Go; `make wat` regenerates
# them with wabt's wat2wasm and `make wat-check` (part of `make lint`) fails
# when one differs from its source or is not committed.

WASM_GOBUILD := GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared
WASM_SDK_SRC := $(wildcard sdk/wasm/*.go internal/abi/*.go)

WASM_GO_GUESTS := host/wasm/testdata/guest.wasm \
	host/wasm/testdata/escape.wasm \
	examples/wasm-changes/plugin.wasm \
	examples/wasm-errorhandler/plugin.wasm
WASM_WAT_MODULES := examples/wasm-wat/plugin.wasm \
	$(patsubst %.wat,%.wasm,$(wildcard host/wasm/testdata/wat/*.wat))

.PHONY: wasm
wasm: $(WASM_GO_GUESTS) $(WASM_WAT_MODULES)

host/wasm/testdata/guest.wasm: $(wildcard host/wasm/testdata/guest/*.go) $(WASM_SDK_SRC)
	$(WASM_GOBUILD) -o $@ ./host/wasm/testdata/guest

host/wasm/testdata/escape.wasm: $(wildcard host/wasm/testdata/escape/*.go) $(WASM_SDK_SRC)
	$(WASM_GOBUILD) -o $@ ./host/wasm/testdata/escape

examples/%/plugin.wasm: examples/%/main.go $(WASM_SDK_SRC)
	$(WASM_GOBUILD) -o $@ ./examples/$*

# With wat2wasm installed, an edited .wat is assembled again before the tests;
# without it the committed .wasm is used, and only a missing one stops the
# build, with one line saying what to install.
WAT2WASM := $(shell command -v wat2wasm 2>/dev/null)
ifneq ($(WAT2WASM),)
%.wasm: %.wat
	wat2wasm -o $@ $<
else
%.wasm: %.wat
	@[ -f $@ ] || { echo "$@ is missing and wat2wasm is not installed: install wabt (apt-get install wabt) and run make wat"; exit 1; }
endif

# The committed modules are checked with this wabt version (Debian bookworm's);
# another version may encode the same text differently.
WAT2WASM_VERSION := 1.0.32

.PHONY: wat wat-check wat2wasm-version
wat: wat2wasm-version
	@for f in $(WASM_WAT_MODULES); do echo "wat2wasm -o $$f $${f%.wasm}.wat"; wat2wasm -o $$f $${f%.wasm}.wat || exit 1; done

wat2wasm-version:
	$(call install-or-name,wat2wasm:wabt)
	@v=$$(wat2wasm --version 2>/dev/null); [ "$$v" = "$(WAT2WASM_VERSION)" ] || \
	  { echo "wat: need wat2wasm $(WAT2WASM_VERSION) from wabt (mk/wasm.mk), have: $${v:-none}"; exit 1; }

# wat-check assembles every .wat into a temporary directory and fails when
# the committed .wasm beside it differs or is not tracked by git.
wat-check: wat2wasm-version
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  for f in $(WASM_WAT_MODULES); do \
	    wat2wasm -o $$tmp/out.wasm $${f%.wasm}.wat && \
	    cmp -s $$tmp/out.wasm $$f && git ls-files --error-unmatch $$f >/dev/null 2>&1 || \
	    { echo "wat-check: $$f is stale or not committed; run make wat and commit it"; exit 1; }; \
	  done

lint: wat-check

TEST_DEPS += $(WASM_GO_GUESTS) $(WASM_WAT_MODULES)
CI_APT_PACKAGES += wabt
