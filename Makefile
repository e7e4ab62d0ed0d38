# heksher-go build. `make run` starts the demo; `make test` runs every test.
# Each area keeps its own targets in mk/<area>.mk and adds the files its tests
# need to TEST_DEPS (built before `go test`), the commands its tests run to
# TEST_TOOLS, and the Debian packages CI needs to CI_APT_PACKAGES.
#
# `make run` needs nothing but Go and make. `make test` also needs the
# commands in TEST_TOOLS: run as root on Debian it installs the missing ones
# with apt-get (waiting for another apt-get or dpkg to finish); otherwise it
# stops with one line naming what to install.

GO          ?= go
GOBIN_DIR   := $(CURDIR)/.bin
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(GOBIN_DIR)/staticcheck
TEST_FLAGS  ?= -race -count=1 -timeout 30m
BENCH       ?= .
BENCH_FLAGS ?= -run '^$$' -benchmem -count=1

TEST_DEPS       :=
CI_APT_PACKAGES :=
# TEST_TOOLS holds COMMAND:PACKAGE pairs: a command the tests run (several
# spellings separated by commas) and the Debian package that provides it.
TEST_TOOLS      :=
# The race detector needs cgo, so a C compiler (without one, go test -race
# stops with "-race requires cgo").
ifneq ($(findstring -race,$(TEST_FLAGS)),)
TEST_TOOLS      += cc,gcc:gcc
endif

# The version the commands print (internal/version): `make VERSION=v1.2.3`,
# else `git describe` when git is there, else what Go records in the binary's
# build information. A VERSION from the environment is ignored.
ifneq ($(origin VERSION),command line)
VERSION    := $(shell git describe --tags --always --dirty 2>/dev/null)
endif
GO_LDFLAGS := $(if $(VERSION),-ldflags '-X github.com/heksher-go/heksher/internal/version.Version=$(VERSION)')

.PHONY: all build test test-tools bench lint run ci-deps fmt tidy clean
all: build

include $(wildcard mk/*.mk)

build: $(TEST_DEPS)
	$(GO) build ./...

test: test-tools $(TEST_DEPS)
	$(GO) test $(TEST_FLAGS) ./...

# install-or-name installs (as root, with apt-get) or names in one line the
# packages of the missing commands of a COMMAND:PACKAGE list. The checks of
# `make lint` use it for their tools too (protoc, wat2wasm).
define install-or-name
@missing=""; for t in $(1); do found=""; \
  for c in $$(echo "$${t%%:*}" | tr , ' '); do command -v "$$c" >/dev/null 2>&1 && found=1; done; \
  [ -n "$$found" ] || missing="$$missing $${t#*:}"; done; \
  [ -z "$$missing" ] || sh mk/apt-install.sh $$missing
endef

test-tools:
	$(call install-or-name,$(TEST_TOOLS))

bench: $(TEST_DEPS)
	$(GO) test $(BENCH_FLAGS) -bench '$(BENCH)' ./...

$(STATICCHECK):
	GOBIN=$(GOBIN_DIR) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: $(STATICCHECK) $(TEST_DEPS)
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

# ci-deps installs the Debian packages that the tests and the linters need
# (CI runs as root), waiting for the package lock when another apt-get or
# dpkg holds it (mk/apt-install.sh).
ci-deps:
	@sh mk/apt-install.sh $(CI_APT_PACKAGES)

fmt:
	gofmt -w $$(git ls-files '*.go' | grep -v '\.pb\.go$$')

tidy:
	$(GO) mod tidy
