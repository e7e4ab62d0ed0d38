# AssemblyScript plugins: the SDK (sdk/assemblyscript), its test guest and
# the example (examples/wasm-assemblyscript). Like the WAT modules
# (mk/wasm.mk), the built modules are committed beside their sources
# (generated code), so that `make test` needs nothing but Go: with Node 20+
# and npm 10+ (mk/node-check.sh) an edited source is compiled again before
# the tests, with the compiler pinned in sdk/assemblyscript/package-lock.json
# (`npm ci`); without Node the committed modules are used. `make as` rebuilds
# them, `make as-check` (part of `make lint`) fails when one differs from its
# sources or is not committed, and `make as-test` (part of `make test`) runs
# the SDK's Node tests. Without Node, as-check and as-test say so in one line
# and pass, except in CI (CI set), where they fail.

AS_DIR     := sdk/assemblyscript
AS_NPM_OK  := $(AS_DIR)/node_modules/.package-lock.json
AS_ASC     := $(AS_DIR)/node_modules/.bin/asc
AS_FLAGS   := --config $(AS_DIR)/asconfig.json
AS_SDK_SRC := $(wildcard $(AS_DIR)/assembly/*.ts) $(AS_DIR)/asconfig.json $(AS_DIR)/package-lock.json
# module:source pairs, compiled from the repository root (asconfig.json's
# --use paths are relative to it).
AS_MODULES := examples/wasm-assemblyscript/plugin.wasm:examples/wasm-assemblyscript/plugin.ts \
	$(AS_DIR)/testdata/guest.wasm:$(AS_DIR)/testdata/guest.ts
AS_WASM    := $(foreach m,$(AS_MODULES),$(firstword $(subst :, ,$(m))))
AS_NODE    := $(shell sh mk/node-check.sh -q && echo yes)

$(AS_NPM_OK): $(AS_DIR)/package.json $(AS_DIR)/package-lock.json
	@sh mk/node-check.sh
	cd $(AS_DIR) && npm ci --no-audit --no-fund --loglevel=error

ifeq ($(AS_NODE),yes)
examples/wasm-assemblyscript/plugin.wasm: examples/wasm-assemblyscript/plugin.ts $(AS_SDK_SRC) | $(AS_NPM_OK)
	$(AS_ASC) $< $(AS_FLAGS) -o $@
$(AS_DIR)/testdata/guest.wasm: $(AS_DIR)/testdata/guest.ts $(AS_SDK_SRC) | $(AS_NPM_OK)
	$(AS_ASC) $< $(AS_FLAGS) -o $@
else
$(AS_WASM):
	@[ -f $@ ] || { sh mk/node-check.sh; echo "$@ is missing: install Node as above and run make as"; exit 1; }
endif

.PHONY: as as-check as-test
as: $(AS_NPM_OK)
	@for m in $(AS_MODULES); do echo "$(AS_ASC) $${m#*:} $(AS_FLAGS) -o $${m%%:*}"; \
	  $(AS_ASC) $${m#*:} $(AS_FLAGS) -o $${m%%:*} || exit 1; done

ifeq ($(AS_NODE),yes)
# as-check compiles every module into a temporary directory and fails when
# the committed one differs or is not tracked by git.
as-check: $(AS_NPM_OK)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  for m in $(AS_MODULES); do f=$${m%%:*}; \
	    $(AS_ASC) $${m#*:} $(AS_FLAGS) -o $$tmp/out.wasm && \
	    cmp -s $$tmp/out.wasm $$f && git ls-files --error-unmatch $$f >/dev/null 2>&1 || \
	    { echo "as-check: $$f is stale or not committed; run make as and commit it"; exit 1; }; \
	  done

# as-test runs the SDK's tests with Node's test runner: they check the
# modules' imports (nothing AssemblyScript's runtime would add) and drive the
# test guest against a host written in JavaScript.
as-test: $(AS_WASM) $(AS_NPM_OK)
	cd $(AS_DIR) && node --test test/
else
as-check as-test:
	@sh mk/node-check.sh; if [ -n "$$CI" ]; then exit 1; fi; echo "$@: skipped (no suitable Node)"
endif

lint: as-check
test: as-test

TEST_DEPS += $(AS_WASM)
