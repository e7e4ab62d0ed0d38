# Process plugins: protobuf generation for sdk/proto and the plugin binaries
# the host/process tests and examples load.

# protoc comes from Debian (CI_APT_PACKAGES); its version is written into the
# generated files' headers, so `make proto` insists on this one.
PROTOC_VERSION             := 3.21.12
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
PROTOC_GEN_GO              := $(GOBIN_DIR)/protoc-gen-go-$(PROTOC_GEN_GO_VERSION)
PROTOC_GEN_GO_GRPC         := $(GOBIN_DIR)/protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION)
PROTO_DIR                  := sdk/proto
PROTO_FILES                := $(PROTO_DIR)/pluginv1/plugin.proto

CI_APT_PACKAGES += protobuf-compiler

# The generators are installed under versioned names so that a version bump
# here reinstalls them.
$(PROTOC_GEN_GO):
	@mkdir -p $(GOBIN_DIR)/tmp-protoc-gen-go
	GOBIN=$(GOBIN_DIR)/tmp-protoc-gen-go $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	mv $(GOBIN_DIR)/tmp-protoc-gen-go/protoc-gen-go $@ && rmdir $(GOBIN_DIR)/tmp-protoc-gen-go

$(PROTOC_GEN_GO_GRPC):
	@mkdir -p $(GOBIN_DIR)/tmp-protoc-gen-go-grpc
	GOBIN=$(GOBIN_DIR)/tmp-protoc-gen-go-grpc $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	mv $(GOBIN_DIR)/tmp-protoc-gen-go-grpc/protoc-gen-go-grpc $@ && rmdir $(GOBIN_DIR)/tmp-protoc-gen-go-grpc

# protoc-gen runs protoc with the pinned generators into directory $(1).
define protoc-gen
	protoc -I $(PROTO_DIR) \
	  --plugin=protoc-gen-go=$(PROTOC_GEN_GO) --go_out=$(1) --go_opt=paths=source_relative \
	  --plugin=protoc-gen-go-grpc=$(PROTOC_GEN_GO_GRPC) --go-grpc_out=$(1) --go-grpc_opt=paths=source_relative \
	  $(patsubst $(PROTO_DIR)/%,%,$(PROTO_FILES))
endef

.PHONY: proto proto-check protoc-version process-plugins
proto: protoc-version $(PROTOC_GEN_GO) $(PROTOC_GEN_GO_GRPC)
	$(call protoc-gen,$(PROTO_DIR))

protoc-version:
	$(call install-or-name,protoc:protobuf-compiler)
	@v=$$(protoc --version) && [ "$$v" = "libprotoc $(PROTOC_VERSION)" ] || \
	  { echo "proto: need protoc $(PROTOC_VERSION) (mk/process.mk), have: $$v"; exit 1; }

# proto-check regenerates into a temporary directory and fails when the
# committed code differs. It needs the pinned protoc too: another version
# writes another header and may generate other code.
proto-check: protoc-version $(PROTOC_GEN_GO) $(PROTOC_GEN_GO_GRPC)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  $(call protoc-gen,$$tmp) && \
	  for f in $(patsubst $(PROTO_DIR)/%.proto,%,$(PROTO_FILES)); do \
	    diff -u $(PROTO_DIR)/$$f.pb.go $$tmp/$$f.pb.go && \
	    diff -u $(PROTO_DIR)/$${f}_grpc.pb.go $$tmp/$${f}_grpc.pb.go || \
	    { echo "proto-check: generated code is stale; run make proto"; exit 1; }; \
	  done

lint: proto-check

# Plugin binaries the tests load. `go build` is incremental, so they are
# rebuilt on every make run (FORCE) and cost nothing when nothing changed.
PROCESS_TESTDATA := host/process/testdata
PROCESS_PLUGINS  := $(PROCESS_TESTDATA)/bin/testplugin $(PROCESS_TESTDATA)/bin/garbage \
                    $(PROCESS_TESTDATA)/bin/wrongversion $(PROCESS_TESTDATA)/bin/minihost \
                    $(PROCESS_TESTDATA)/bin/nowatch $(PROCESS_TESTDATA)/bin/forker \
                    $(PROCESS_TESTDATA)/bin/flood \
                    examples/process-alerter/bin/process-alerter examples/process-changes/bin/process-changes

$(PROCESS_TESTDATA)/bin/%: FORCE
	$(GO) build -o $@ ./$(PROCESS_TESTDATA)/$*

examples/process-alerter/bin/process-alerter examples/process-changes/bin/process-changes: FORCE
	$(GO) build -o $@ ./$(patsubst %/bin/,%,$(dir $@))

process-plugins: $(PROCESS_PLUGINS)

TEST_DEPS += $(PROCESS_PLUGINS)

.PHONY: FORCE
FORCE:
