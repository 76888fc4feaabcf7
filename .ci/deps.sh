#!/bin/sh
# deps.sh PKG... — makes sure the Debian packages PKG... are installed.
#
# Idempotent: when every package is present it installs nothing and prints
# nothing, so `make test` can call it on every run. As root it installs what
# is missing; otherwise it prints the command to run and fails, because a
# build without its packages would only fail later with a less clear message.
set -eu

if [ "$#" -eq 0 ]; then
    exit 0
fi
if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps.sh: dpkg-query not found; install these packages by hand: $*" >&2
    exit 1
fi

missing=
for pkg in "$@"; do
    # A removed package keeps a status ("deinstall ok config-files"), so only
    # a status ending in " installed" counts as present.
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    case $status in
        *" installed") ;;
        *) missing="$missing $pkg" ;;
    esac
done

if [ -z "$missing" ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: missing packages:$missing" >&2
    echo "run:" >&2
    echo "sudo apt-get install -y --no-install-recommends$missing"
    exit 1
fi

echo "deps.sh: installing$missing"
# The package lists of a fresh container are empty, so update first; a failed
# update (e.g. offline with warm lists) is left to apt-get install to judge.
apt-get update -qq || echo "deps.sh: apt-get update failed; trying the install anyway" >&2
# $missing is a space-separated list of package names: split it on purpose.
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
