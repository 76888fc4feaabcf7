#!/bin/sh
# bench/run.sh full|quick — the benchmarks of ../shared/bench/WORKLOADS.md
# that exist so far; run by `make bench` / `make bench-quick` after `make all`.
#
# stdout: one JSON object per result, nothing else (redirect it to keep the
# results); progress and notes go to stderr.
#   full    W1 at the workload sizes, with the C references, then W2 and W3
#           (bench/train.lua, reading bench/data; the parsed CSVs are cached
#           in $BUILD/bench); first generates bench/data with
#           ../shared/bench/make_data.py when it is missing
#   quick   small sizes only, under 30 s, never needs ../shared (W2 and W3
#           on synthetic data made in memory)
#
# OPENBLAS_CORETYPE and MOONFORGE_NUM_THREADS are left as the environment
# sets them (the reference figures of WORKLOADS.md were measured with
# OPENBLAS_CORETYPE=Haswell); the gemm records report the core in use.
set -eu

usage() {
    echo "usage: sh bench/run.sh full|quick" >&2
    exit 2
}
[ $# -eq 1 ] || usage
MODE=$1
case $MODE in full | quick) ;; *) usage ;; esac

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CC=${CC:-cc}
OUT=$BUILD/bench
EXE=$BUILD/moonforge

note() { echo "bench: $*" >&2; }

# The data sets of the later workloads (W2..W9); bench/train.lua reads W2's and W3's.
# Generated into a temporary directory first, so that an interrupted run
# leaves no half-written bench/data behind.
make_data() {
    [ -d bench/data ] && return 0
    gen=../shared/bench/make_data.py
    if [ ! -f "$gen" ]; then
        note "bench/data missing and $gen not found: data sets not generated"
        return 0
    fi
    note "generating bench/data with $gen (~35 s, ~750 MB)"
    rm -rf bench/data.tmp
    python3 "$gen" bench/data.tmp >&2
    mv bench/data.tmp bench/data
}

# The references are small: compiled on every run (well under a second), so
# they never lag behind their sources.
ref_cc() {
    "$CC" -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra "$@"
}

build_refs() {
    mkdir -p "$OUT"
    pkg-config --exists openblas || {
        note "pkg-config cannot find openblas (make deps installs libopenblas-dev)"
        exit 1
    }
    # shellcheck disable=SC2046
    ref_cc $(pkg-config --cflags openblas) bench/gemm_ref.c -o "$OUT/gemm_ref" \
        $(pkg-config --libs openblas) -lm
    # OpenMP gives the 2-thread references; without it they run on 1 thread.
    if ! ref_cc -fopenmp bench/ref_loops.c -o "$OUT/ref_loops" -lm 2>/dev/null; then
        note "no OpenMP: C loop references at 1 thread only"
        ref_cc bench/ref_loops.c -o "$OUT/ref_loops" -lm
    fi
}

[ "$MODE" = full ] && make_data
build_refs

arg=
[ "$MODE" = quick ] && arg=quick

note "W1 gemm reference: cblas_sgemm (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})"
"$OUT/gemm_ref" $arg
note "W1 memory references: C loops"
"$OUT/ref_loops" $arg
note "W1 memory workloads: moonforge"
if [ ! -x "$EXE" ]; then
    note "$EXE not built (make all)"
    exit 1
fi
"$EXE" bench/tensor.lua $arg
"$EXE" bench/matmul.lua $arg
"$EXE" bench/math.lua $arg
[ "$MODE" = full ] && note "W7 read, W0: moonforge read_csv (bench/csv.lua)" && "$EXE" bench/csv.lua --data bench/data
[ "$MODE" = full ] && note "W4 OLS: moonforge LinearRegression (bench/ols.lua)" && "$EXE" bench/ols.lua bench/data
[ "$MODE" = full ] && note "W5, W6: moonforge LogisticRegression, LinearSVC (bench/classify.lua)" && "$EXE" bench/classify.lua bench/data
[ "$MODE" = full ] && note "SVC (no workload; peer: bench/svm_peer.py): moonforge SVC (bench/svm.lua)" && "$EXE" bench/svm.lua bench/data
note "W2, W3 MLP training: moonforge (model:fit on the C fast path)"
"$EXE" bench/train.lua $arg --cache "$OUT"
if [ "$MODE" = full ]; then
    if [ -f bench/data/sensors_raw.csv ]; then
        note "W7 cleaning chain: moonforge (bench/clean.lua; pandas: peers.py --only W7)"
        "$EXE" bench/clean.lua bench/data
    else
        note "bench/data/sensors_raw.csv missing: W7 cleaning skipped"
    fi
fi
