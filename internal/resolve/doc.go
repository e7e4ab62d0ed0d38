// Package resolve collates the rules of one Heksher setting and answers which
// rule wins for a namespace of context-feature values.
//
// # Collation
//
// A setting has an ordered list of configurable features F = [f0 … fn-1].
// A rule is a set of exact-match conditions (feature = value) on some of
// them. The reference client collates rules into a tree of uniform depth n
// whose level d is keyed by the value of fd or by a wildcard, and resolves a
// namespace by walking both the exact and the wildcard branch at every level,
// preferring the deeper last exact match and, on a tie, the exact branch.
//
// That preference depends only on which features a rule conditions on (its
// mask), never on the values: the winner is the matching rule whose mask is
// greatest under the order (index of its last exact feature, e0, e1, …),
// where ei is 1 when the rule conditions on fi. [Build] therefore groups the
// rules by mask, sorts the masks once by that order, and stores every rule in
// one open-addressing hash table keyed by its mask and condition values.
// [Table.Lookup] probes the masks in order and stops at the first hit: a few
// integer operations per mask, no allocation and no lock. A table of at most
// 8 rules, what most settings have, keeps no hash table: comparing each rule
// costs less, and the table takes a third less memory.
//
// # The missing-feature error
//
// The reference raises "configurable context feature is missing" only when
// its traversal actually reaches a level whose feature has no value. With m
// the first feature (in F order) that has no value, that happens exactly when
// m is 0 or some rule's conditions on f0 … fm-1 all match the namespace;
// [Table.Lookup] checks precisely that, and only when a value is missing. A
// small table scans its rules for it; a large one (64 rules or more) keeps,
// built on the first lookup that needs it, a second hash table of every
// rule's conditions below each depth, and probes it once per distinct
// prefix mask, fewest features first, until one matches, so the check costs
// the same at 100,000 rules as at 10.
//
// # Large tables
//
// A table of 64 rules or more also keeps the set of (feature, value) pairs
// its rules name. A lookup first finds which of the namespace's values
// some rule names and skips every mask on another feature, a word of masks
// at a time: with rules in all 255 combinations of 8 features, a namespace
// whose values no rule names costs a few probes, not 255. The
// missing-feature check asks the set about a feature only when a prefix on
// it comes up, so a namespace that a rule without conditions below the
// missing feature reaches costs one probe.
//
// # Hashing
//
// Values are hashed with [Hash] (hash/maphash with one process-wide random
// seed), so that a caller can hash a request's values once and reuse the
// hashes for every setting it reads.
//
// # Concurrency
//
// A *Table is immutable once built and safe for concurrent use.
package resolve
