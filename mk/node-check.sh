#!/bin/sh
# node-check.sh [-q]: exits 0 when node (NODE, default node on the PATH) is
# at least NODE_MIN_MAJOR (20) and npm at least NPM_MIN_MAJOR (10); otherwise
# prints one line naming what to install (unless -q) and exits 1. Tests and
# make targets that need Node share it.
node=${NODE:-node}
npm=${NPM:-npm}
need_node=${NODE_MIN_MAJOR:-20}
need_npm=${NPM_MIN_MAJOR:-10}
quiet=""
[ "${1:-}" = "-q" ] && quiet=1

fail() {
	[ -n "$quiet" ] || echo "node-check: $1; install Node.js $need_node or newer with npm $need_npm or newer (Debian bookworm's nodejs package is 18, too old)" >&2
	exit 1
}

command -v "$node" >/dev/null 2>&1 || fail "no $node on the PATH"
v=$("$node" --version 2>/dev/null) || fail "$node --version failed"
major=${v#v}
major=${major%%.*}
case $major in '' | *[!0-9]*) fail "cannot read the version of $node ($v)" ;; esac
[ "$major" -ge "$need_node" ] || fail "$node is $v"
command -v "$npm" >/dev/null 2>&1 || fail "no $npm on the PATH"
nv=$("$npm" --version 2>/dev/null) || fail "$npm --version failed"
nmajor=${nv%%.*}
case $nmajor in '' | *[!0-9]*) fail "cannot read the version of $npm ($nv)" ;; esac
[ "$nmajor" -ge "$need_npm" ] || fail "$npm is $nv"
exit 0
