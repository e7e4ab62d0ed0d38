package abi

import "encoding/binary"

// AppendU8 appends one byte.
func AppendU8(b []byte, v uint8) []byte { return append(b, v) }

// AppendBool appends 1 for true, 0 for false.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// AppendU16 appends a little-endian uint16.
func AppendU16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }

// AppendU32 appends a little-endian uint32.
func AppendU32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }

// AppendU64 appends a little-endian uint64.
func AppendU64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

// AppendI64 appends a little-endian two's-complement int64.
func AppendI64(b []byte, v int64) []byte { return AppendU64(b, uint64(v)) }

// maxStr is the longest str: its length must fit the u32 prefix. Longer
// strings exist only where int is 64 bits; the truncations below are
// written without a constant index so that they compile where it is 32.
const maxStr = uint64(0xFFFFFFFF)

// AppendStr appends a str: the u32 length of s, then s. Strings longer than
// 4 GiB cannot occur in a wasm32 guest and are truncated to keep the encoding
// well formed.
func AppendStr(b []byte, s string) []byte {
	if uint64(len(s)) > maxStr {
		s = s[:len(s)-int(uint64(len(s))-maxStr)]
	}
	b = AppendU32(b, uint32(len(s)))
	return append(b, s...)
}

// AppendBytes appends a str holding p.
func AppendBytes(b []byte, p []byte) []byte {
	if uint64(len(p)) > maxStr {
		p = p[:len(p)-int(uint64(len(p))-maxStr)]
	}
	b = AppendU32(b, uint32(len(p)))
	return append(b, p...)
}
