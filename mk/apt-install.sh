#!/bin/sh
# apt-install.sh PACKAGE...: installs the Debian packages that are not
# installed yet, waiting for another apt-get or dpkg (an unattended upgrade, a
# second build) to finish instead of failing at once.
#
# apt-get install waits for the dpkg lock by itself (DPkg::Lock::Timeout);
# apt-get update (apt 2.6) does not wait for the package lists' lock, so it is
# tried again while another process holds that lock. APT_LOCK_TIMEOUT (seconds,
# default 600) bounds both waits.
set -eu

timeout=${APT_LOCK_TIMEOUT:-600}
missing=""
for p in "$@"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "missing:$missing; install them (Debian: sudo apt-get install$missing) and run make again" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
deadline=$(($(date +%s) + timeout))
while :; do
	if out=$(apt-get -o DPkg::Lock::Timeout="$timeout" update -qq 2>&1); then
		break
	fi
	case $out in
	*"Could not get lock"*)
		if [ "$(date +%s)" -ge "$deadline" ]; then
			printf '%s\n' "$out" >&2
			echo "apt-install: the package lists stayed locked for ${timeout}s" >&2
			exit 1
		fi
		sleep 2
		;;
	*)
		printf '%s\n' "$out" >&2
		exit 1
		;;
	esac
done
echo "apt-get install$missing"
# shellcheck disable=SC2086 # one word per package
apt-get -o DPkg::Lock::Timeout="$timeout" install -y -qq $missing
