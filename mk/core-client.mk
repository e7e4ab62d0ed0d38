# Client core (HTTP client side): fuzz the context_filters builder and the
# query-answer decoder for a while (not part of `make test`).
CORE_CLIENT_FUZZTIME ?= 30s
.PHONY: fuzz-core-client
fuzz-core-client:
	$(GO) test -run '^$$' -fuzz '^FuzzFilters$$' -fuzztime $(CORE_CLIENT_FUZZTIME) .
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeQuery$$' -fuzztime $(CORE_CLIENT_FUZZTIME) ./internal/wire
