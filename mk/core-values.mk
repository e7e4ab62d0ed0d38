# Client core (settings side): fuzz the type-string parser and the server-value
# conversions for a while (not part of `make test`), and run the read-path
# benchmarks whose figures are in BENCHMARKS.md.
CORE_VALUES_FUZZTIME ?= 30s
.PHONY: fuzz-core-values bench-core-values
fuzz-core-values:
	$(GO) test -run '^$$' -fuzz '^FuzzParseType$$' -fuzztime $(CORE_VALUES_FUZZTIME) .
	$(GO) test -run '^$$' -fuzz '^FuzzFromWire$$' -fuzztime $(CORE_VALUES_FUZZTIME) .
	$(GO) test -run '^$$' -fuzz '^FuzzTypedFromWire$$' -fuzztime $(CORE_VALUES_FUZZTIME) .
	$(GO) test -run '^$$' -fuzz '^FuzzLookup$$' -fuzztime $(CORE_VALUES_FUZZTIME) ./internal/resolve

bench-core-values:
	$(GO) test -run '^$$' -bench 'Setting_|NewFeatures' -benchmem -count 5 .
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./internal/resolve
