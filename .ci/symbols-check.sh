#!/bin/sh
# symbols-check.sh LIB.a LIB.so — libmoonforge must never end the process or
# print (see core/mf_common.h): fail, naming each object and symbol, if the
# libraries have an undefined reference to a function that exits, aborts or
# writes to a standard stream, or to stdout/stderr themselves.
#
# Formatting into buffers (snprintf and its fortified __snprintf_chk /
# __vsnprintf_chk) is allowed; every other __*printf_chk is not.
# __assert_fail is forbidden too: a failed assert() prints and aborts; core/
# returns an mf_status instead (static_assert leaves no symbol).
set -eu

if [ $# -eq 0 ]; then
    echo "usage: sh .ci/symbols-check.sh libmoonforge.a libmoonforge.so" >&2
    exit 2
fi

forbidden='^(exit|_exit|_Exit|quick_exit|abort|__assert_fail|printf|vprintf|puts|putchar|fprintf|vfprintf|dprintf|vdprintf|fputs|fwrite|perror|stdout|stderr|__.*printf_chk)$'
allowed='^__v?snprintf_chk$'

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT HUP INT TERM
status=0
offended=0
for lib in "$@"; do
    if [ ! -f "$lib" ]; then
        echo "symbols-check: $lib: no such file (build it first: make all)" >&2
        status=1
        continue
    fi
    case $lib in
        *.so|*.so.*) opts='-D' ;;   # the dynamic table survives stripping
        *) opts='' ;;
    esac
    # -A prefixes each line with "archive:member:" or "file:"; the symbol is
    # the last field, "name@VERSION" in a dynamic table.
    if ! nm -A -u $opts "$lib" >"$tmp"; then
        echo "symbols-check: nm failed on $lib" >&2
        status=1
        continue
    fi
    offenders=$(awk -v bad="$forbidden" -v ok="$allowed" '
        { where = $1; sub(/:$/, "", where); sym = $NF; sub(/@.*/, "", sym)
          if (sym ~ bad && sym !~ ok) print "  " where ": " sym }' "$tmp" | sort -u)
    if [ -n "$offenders" ]; then
        echo "symbols-check: $lib references functions that end the process or print:" >&2
        echo "$offenders" >&2
        status=1
        offended=1
    fi
done

if [ $offended -ne 0 ]; then
    echo "symbols-check: FAILED (library code returns an mf_status and a message instead)" >&2
fi
if [ $status -ne 0 ]; then
    exit 1
fi
echo "symbols-check: ok"
