//go:build !linux

package process

import (
	"hash"
	"io"
)

// memfdCopy: memfd is Linux's; elsewhere the copy is a file.
func memfdCopy(io.Reader, hash.Hash) (*executable, error) { return nil, errNoMemfd }
