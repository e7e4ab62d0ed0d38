package admin

import "errors"

// ErrNotLoopback is returned by [New] for a listen address that is not
// loopback when no token is configured.
var ErrNotLoopback = errors.New("admin: refusing a non-loopback listen address without a token")
