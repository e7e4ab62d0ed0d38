package abi

import "errors"

// ErrMalformed reports a payload that is truncated, has a length running past
// its end, or holds a value out of range. Decoders return it unwrapped so that
// they never allocate.
var ErrMalformed = errors.New("abi: malformed payload")
