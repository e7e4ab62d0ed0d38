// Package abi is the binary codec of the heksher wasm plugin ABI v1, shared by
// the host runtime (host/wasm) and the Go guest SDK (sdk/wasm).
//
// It holds the ABI's names and numbers (import module, export names, status
// and result codes) and the little-endian encodings of the data that crosses
// the host/guest boundary: lookup contexts, setting declarations and events.
// docs/ABI.md is the normative description; this package follows it.
//
// # Encoding and decoding
//
// Encoders append to a caller's slice (AppendX), so a caller that reuses its
// buffer encodes without allocating. Decoders never allocate: every []byte
// they return aliases the input, and lists are walked with small iterators
// over the input. A decoder checks every length against the input first, so a
// malformed or truncated payload yields [ErrMalformed], never a panic.
//
// The package compiles for GOOS=linux and GOOS=wasip1 and imports only the
// standard library and the leaf package event.
package abi
