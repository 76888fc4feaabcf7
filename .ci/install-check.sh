#!/bin/sh
# install-check.sh — run by `make install-check` (after `make all`).
#
# Installs moonforge the ways a user would and then uses each install from
# outside the checkout:
#   A. `make install PREFIX=<tmp>/usr`: headers, libmoonforge.a/.so with their
#      symlinks, moonforge.pc; a C host program built with
#      `pkg-config --cflags --libs moonforge`, linked statically and
#      dynamically; the installed `moonforge` executable; plain lua5.4 with
#      LUA_PATH/LUA_CPATH set to the install. Then
#      `make install PREFIX=/opt/mf DESTDIR=<tmp>/stage`, which must put every
#      file under <tmp>/stage/opt/mf and nothing elsewhere.
#   B. `luarocks --lua-version 5.4 make --tree <tmp>/rocks moonforge-scm-1.rockspec`
#      in this checkout, then the same uses through `luarocks path`.
#
# The rockspec builds in build-rock/ (BUILD=build-rock), so B never touches
# the objects of build/; this script checks that. LuaRocks runs with a
# config that lists no rock servers, so it cannot download anything.
# Prints "install-check: ok" at the end; any failure exits non-zero with the
# reason (and the log of the failing command). The temporary directory is
# removed on success and kept on failure.
set -eu

cd "$(dirname "$0")/.."
ROOT=$(pwd)
MAKE=${MAKE:-make}
LUAROCKS=${LUAROCKS:-luarocks}
LUA_BIN=${LUA:-lua5.4}
VERSION=$(sed -n 's/^#define MF_VERSION_STRING "\(.*\)"/\1/p' core/mf_common.h)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/moonforge-install-check.XXXXXX")
cleanup() {
    st=$?
    if [ $st -eq 0 ]; then
        rm -rf "$TMP"
    else
        echo "install-check: files kept in $TMP" >&2
    fi
    exit $st
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

say() { echo "install-check: $*"; }
fail() {
    echo "install-check: FAILED: $*" >&2
    exit 1
}
# run LOGNAME CMD...: runs CMD with its output in $TMP/LOGNAME.log, shown
# only when it fails.
run() {
    log="$TMP/$1.log"
    shift
    if ! "$@" >"$log" 2>&1; then
        echo "install-check: command failed: $*" >&2
        echo "----- output ($log) -----" >&2
        tail -n 60 "$log" >&2
        echo "-------------------------" >&2
        fail "$*"
    fi
}
need_file() { [ -f "$1" ] || fail "missing file $1"; }
need_exe() { if [ ! -f "$1" ] || [ ! -x "$1" ]; then fail "missing executable $1"; fi; }
need_link() {   # need_link PATH TARGET
    [ -L "$1" ] || fail "$1 is not a symlink"
    [ "$(readlink "$1")" = "$2" ] || fail "$1 points to $(readlink "$1"), expected $2"
}
# Nothing of the developer's Lua setup may leak into the runs below.
unset LUA_PATH LUA_CPATH LUA_PATH_5_4 LUA_CPATH_5_4 LUA_INIT LUA_INIT_5_4 || true

[ -n "$VERSION" ] || fail "cannot read MF_VERSION_STRING from core/mf_common.h"
for tool in pkg-config "$LUA_BIN" "$LUAROCKS" "${CC:-cc}" readelf; do
    command -v "$tool" >/dev/null 2>&1 ||
        fail "'$tool' not found (make deps installs what is needed)"
done
CC=${CC:-cc}

# ------------------------------------------------------------------ helpers
# The host program of the C API is the documented example: everything a C
# user needs is in moonforge.h.
cp examples/host.c "$TMP/host.c"

# check_c_api PKGCONFIG_DIR LIBDIR TAG: builds the host program against the
# moonforge.pc in PKGCONFIG_DIR, linked dynamically and statically, and runs
# both from $TMP.
check_c_api() {
    pcdir=$1 libdir=$2 tag=$3
    PKG_CONFIG_PATH=$pcdir
    export PKG_CONFIG_PATH
    run "$tag-pc" pkg-config --exists --print-errors moonforge
    v=$(pkg-config --modversion moonforge)
    [ "$v" = "$VERSION" ] || fail "pkg-config --modversion moonforge is '$v', expected $VERSION"
    cflags=$(pkg-config --cflags moonforge)
    libs=$(pkg-config --libs moonforge)
    # The static link names the archive explicitly (-l:libmoonforge.a) and
    # takes libmoonforge's own dependencies from Libs.private.
    slibs=$(pkg-config --static --libs moonforge | sed 's/-lmoonforge\b/-l:libmoonforge.a/')
    unset PKG_CONFIG_PATH

    # Strict flags: the public headers must compile cleanly in a user's build.
    # shellcheck disable=SC2086
    run "$tag-cc-dynamic" $CC -std=c11 -Wall -Wextra -Werror $cflags \
        "$TMP/host.c" -o "$TMP/$tag-host-dynamic" $libs
    # shellcheck disable=SC2086
    run "$tag-cc-static" $CC -std=c11 -Wall -Wextra -Werror $cflags \
        "$TMP/host.c" -o "$TMP/$tag-host-static" $slibs

    readelf -d "$TMP/$tag-host-dynamic" | grep -q 'NEEDED.*\[libmoonforge\.so\.0\]' ||
        fail "$tag: the dynamic host program does not link libmoonforge.so.0"
    if readelf -d "$TMP/$tag-host-static" | grep -q 'NEEDED.*libmoonforge'; then
        fail "$tag: the static host program still needs libmoonforge.so"
    fi
    (cd "$TMP" && LD_LIBRARY_PATH=$libdir "./$tag-host-dynamic") >"$TMP/$tag-dyn.out" 2>&1 ||
        { cat "$TMP/$tag-dyn.out" >&2; fail "$tag: the dynamically linked host program failed"; }
    (cd "$TMP" && env -u LD_LIBRARY_PATH "./$tag-host-static") >"$TMP/$tag-static.out" 2>&1 ||
        { cat "$TMP/$tag-static.out" >&2; fail "$tag: the statically linked host program failed"; }
    cmp -s "$TMP/$tag-dyn.out" "$TMP/$tag-static.out" ||
        fail "$tag: static and dynamic host programs printed different text"
    grep -q 'shape=\[3x2\], dtype=float32)' "$TMP/$tag-dyn.out" &&
        grep -q 'error in argument 2: shape \[4x2\] is invalid' "$TMP/$tag-dyn.out" ||
        { cat "$TMP/$tag-dyn.out" >&2; fail "$tag: the host program printed unexpected text"; }
    say "$tag: C host program (pkg-config, static and dynamic) prints:"
    sed 's/^/    /' "$TMP/$tag-dyn.out"
}

# check_exe EXE TAG: the installed executable, run from outside the checkout.
check_exe() {
    exe=$1 tag=$2
    need_exe "$exe"
    out=$(cd "$TMP" && "$exe" -e 'print(require("moonforge").version)' 2>&1) ||
        { echo "$out" >&2; fail "$tag: $exe -e ... failed"; }
    [ "$out" = "$VERSION" ] || fail "$tag: '$exe -e' printed '$out', expected $VERSION"
    if [ -f "$ROOT/scripts/info.lua" ]; then
        out=$(cd "$TMP" && "$exe" info 2>&1) ||
            { echo "$out" >&2; fail "$tag: '$exe info' failed"; }
        [ -n "$out" ] || fail "$tag: '$exe info' printed nothing"
        say "$tag: moonforge info: ok"
    else
        say "$tag: SKIPPED 'moonforge info': scripts/info.lua does not exist yet"
    fi
    say "$tag: $exe -e: ok"
}

# check_lua LUADIR CLIBDIR TAG: plain lua5.4 finds the installed modules
# (and not others) through the paths given in LUA_PATH/LUA_CPATH.
check_lua() {
    luadir=$1 clibdir=$2 tag=$3
    out=$(cd "$TMP" &&
        LUA_PATH="$luadir/?.lua;$luadir/?/init.lua;;" LUA_CPATH="$clibdir/?.so;;" \
        "$LUA_BIN" -e '
            local mf = require "moonforge"
            local lua_file = package.searchpath("moonforge", package.path)
            local c_file = package.searchpath("moonforge.core", package.cpath)
            print(mf.version, lua_file, c_file)' 2>&1) ||
        { echo "$out" >&2; fail "$tag: lua5.4 -e 'require \"moonforge\"' failed"; }
    # print() separates with tabs.
    got_version=$(printf '%s\n' "$out" | cut -f1)
    got_lua=$(printf '%s\n' "$out" | cut -f2)
    got_c=$(printf '%s\n' "$out" | cut -f3)
    [ "$got_version" = "$VERSION" ] || fail "$tag: lua5.4 reports version '$got_version', expected $VERSION"
    [ "$got_lua" = "$luadir/moonforge/init.lua" ] || fail "$tag: lua5.4 loaded moonforge from '$got_lua'"
    [ "$got_c" = "$clibdir/moonforge/core.so" ] || fail "$tag: lua5.4 loaded moonforge.core from '$got_c'"
    say "$tag: lua5.4 require \"moonforge\": ok"
}

# check_c_files PREFIX: the C library under PREFIX.
check_c_files() {
    p=$1
    for h in core/*.h; do
        need_file "$p/include/moonforge/$(basename "$h")"
    done
    need_file "$p/lib/libmoonforge.a"
    need_file "$p/lib/libmoonforge.so.$VERSION"
    [ ! -L "$p/lib/libmoonforge.so.$VERSION" ] || fail "$p/lib/libmoonforge.so.$VERSION should be the file itself"
    need_link "$p/lib/libmoonforge.so.0" "libmoonforge.so.$VERSION"
    need_link "$p/lib/libmoonforge.so" "libmoonforge.so.0"
    readelf -d "$p/lib/libmoonforge.so.$VERSION" | grep -q 'SONAME.*\[libmoonforge\.so\.0\]' ||
        fail "$p/lib/libmoonforge.so.$VERSION has no SONAME libmoonforge.so.0"
    need_file "$p/lib/pkgconfig/moonforge.pc"
}

# check_tree PREFIX TAG: the files of a `make install` under PREFIX.
check_tree() {
    p=$1 tag=$2
    check_c_files "$p"
    for lm in lua/moonforge/*.lua; do
        need_file "$p/share/lua/5.4/moonforge/$(basename "$lm")"
    done
    need_file "$p/lib/lua/5.4/moonforge/core.so"
    need_exe "$p/bin/moonforge"
    for s in scripts/*.lua; do
        [ -f "$s" ] || continue
        need_file "$p/share/lua/5.4/moonforge/scripts/$(basename "$s")"
        need_file "$p/share/moonforge/scripts/$(basename "$s")"
    done
    say "$tag: installed files: ok"
}

# ------------------------------------------------------------------ A. make install
say "A. make install PREFIX=$TMP/usr"
P=$TMP/usr
run make-install "$MAKE" --no-print-directory install PREFIX="$P"
check_tree "$P" A
grep -qx "prefix=$P" "$P/lib/pkgconfig/moonforge.pc" ||
    fail "moonforge.pc does not say prefix=$P"
check_c_api "$P/lib/pkgconfig" "$P/lib" A
check_exe "$P/bin/moonforge" A
check_lua "$P/share/lua/5.4" "$P/lib/lua/5.4" A

say "A. make install PREFIX=/opt/mf DESTDIR=$TMP/stage"
existed=no
[ -e /opt/mf ] && existed=yes
run make-install-destdir "$MAKE" --no-print-directory install PREFIX=/opt/mf DESTDIR="$TMP/stage"
check_tree "$TMP/stage/opt/mf" A-destdir
stray=$(cd "$TMP/stage" && find . -mindepth 1 ! -path ./opt ! -path './opt/mf' ! -path './opt/mf/*')
[ -z "$stray" ] || fail "DESTDIR staging wrote outside DESTDIR/opt/mf: $stray"
[ $existed = yes ] || [ ! -e /opt/mf ] || fail "DESTDIR staging created /opt/mf itself"
grep -qx 'prefix=/opt/mf' "$TMP/stage/opt/mf/lib/pkgconfig/moonforge.pc" ||
    fail "staged moonforge.pc must say prefix=/opt/mf (the final PREFIX, without DESTDIR)"
say "A-destdir: everything under DESTDIR/opt/mf, moonforge.pc says prefix=/opt/mf: ok"

# ------------------------------------------------------------------ B. luarocks make
R=$TMP/rocks
say "B. luarocks --lua-version 5.4 make --tree $R moonforge-scm-1.rockspec"
# No rock servers: the only dependency (lua) is provided by the VM, and
# LuaRocks must not reach for the network. LUAROCKS_CONFIG replaces the
# user's config only; the system one still applies.
printf 'rocks_servers = {}\n' >"$TMP/luarocks-config.lua"
touch "$TMP/before-rock"
sleep 1   # mtime granularity of some filesystems
# Run as a user would, outside make: no jobserver or variables of this make.
run luarocks-make env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
    LUAROCKS_CONFIG="$TMP/luarocks-config.lua" \
    "$LUAROCKS" --lua-version 5.4 make --tree "$R" moonforge-scm-1.rockspec
if [ -d build ]; then
    changed=$(find build -newer "$TMP/before-rock" | head -n 5)
    [ -z "$changed" ] || fail "luarocks make modified build/: $changed"
fi
luarocks_() {
    env LUAROCKS_CONFIG="$TMP/luarocks-config.lua" "$LUAROCKS" --lua-version 5.4 --tree "$R" "$@"
}
rockdir=$(luarocks_ show --rock-dir moonforge) || fail "luarocks show --rock-dir moonforge failed"
rockprefix=$rockdir/libmoonforge
for f in "$R/share/lua/5.4/moonforge/init.lua" "$R/lib/lua/5.4/moonforge/core.so"; do
    need_file "$f"
done
for s in scripts/*.lua; do
    [ -f "$s" ] || continue
    need_file "$R/share/lua/5.4/moonforge/scripts/$(basename "$s")"
done
leaked=$(find "$R/lib/lua" "$R/share/lua" "$R/bin" -name 'libmoonforge*' -o -name '*.h' -o -name '*.pc' | head -n 5)
[ -z "$leaked" ] || fail "the C library leaked into the Lua tree: $leaked"
check_c_files "$rockprefix"
say "B: the C library is in the rock directory, $rockprefix"

# `luarocks path` is what users eval; check_lua gets the same directories,
# and the eval'd paths are checked on their own here.
out=$(cd "$TMP" && eval "$(luarocks_ path)" && "$LUA_BIN" -e '
    local mf = require "moonforge"
    print(mf.version, package.searchpath("moonforge.core", package.cpath))') ||
    fail "B: eval \$(luarocks path) && lua5.4 -e 'require \"moonforge\"' failed"
[ "$out" = "$(printf '%s\t%s' "$VERSION" "$R/lib/lua/5.4/moonforge/core.so")" ] ||
    fail "B: with luarocks path, lua5.4 printed '$out'"
say "B: eval \$(luarocks path); lua5.4 require \"moonforge\": ok"
check_lua "$R/share/lua/5.4" "$R/lib/lua/5.4" B
check_exe "$R/bin/moonforge" B
check_c_api "$rockprefix/lib/pkgconfig" "$rockprefix/lib" B

run luarocks-remove luarocks_ remove moonforge
for f in "$R/bin/moonforge" "$R/share/lua/5.4/moonforge/init.lua" "$R/lib/lua/5.4/moonforge/core.so"; do
    [ ! -e "$f" ] || fail "luarocks remove left $f"
done
say "B: luarocks remove moonforge: ok"

say "ok"
