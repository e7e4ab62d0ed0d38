# heksher-go build. `make run` starts the demo; `make test` runs every test.
# Each area keeps its own targets in mk/<area>.mk and adds the files its tests
# need to TEST_DEPS (built before `go test`) and the Debian packages CI needs
# to CI_APT_PACKAGES.

GO          ?= go
GOBIN_DIR   := $(CURDIR)/.bin
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(GOBIN_DIR)/staticcheck
TEST_FLAGS  ?= -race -count=1 -timeout 30m
BENCH       ?= .
BENCH_FLAGS ?= -run '^$$' -benchmem -count=1

TEST_DEPS       :=
CI_APT_PACKAGES :=

.PHONY: all build test bench lint run ci-deps fmt tidy clean
all: build

include $(wildcard mk/*.mk)

build: $(TEST_DEPS)
	$(GO) build ./...

test: $(TEST_DEPS)
	$(GO) test $(TEST_FLAGS) ./...

bench: $(TEST_DEPS)
	$(GO) test $(BENCH_FLAGS) -bench '$(BENCH)' ./...

$(STATICCHECK):
	GOBIN=$(GOBIN_DIR) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: $(STATICCHECK) $(TEST_DEPS)
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

# ci-deps installs the Debian packages the tests need (CI runs as root).
ci-deps:
	@if [ -n "$(strip $(CI_APT_PACKAGES))" ]; then \
	  missing=""; for p in $(CI_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi; \
	fi

fmt:
	gofmt -w $$(git ls-files '*.go' | grep -v '\.pb\.go$$')

tidy:
	$(GO) mod tidy
