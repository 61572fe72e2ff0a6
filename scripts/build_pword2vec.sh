#!/bin/sh
# Build Intel's pWord2Vec (github.com/IntelLabs/pWord2Vec, Apache-2.0) for scripts/bench.py to
# compare with. pWord2Vec is no dependency of w2v and its source is never copied into this
# repository: give the path of a clone (or of a bare mirror, whose HEAD is read) and a directory
# for the binary.
#
#   scripts/build_pword2vec.sh SOURCE OUTDIR [--mkl PREFIX]
#
# With --mkl its matrix products are MKL's cblas_sgemm, sequential, as its own makefile builds it
# (icpc -D USE_MKL -mkl=sequential): the tool as published. PREFIX holds include/mkl.h and
# lib/libmkl_*.so*, e.g. a virtual environment made by
#   python3 -m venv /tmp/mkl && /tmp/mkl/bin/pip install mkl-devel      # then --mkl /tmp/mkl
# Without --mkl it builds its #ifndef USE_MKL branches: plain loops that g++ leaves scalar (they
# are marked with Intel's `#pragma simd`, which g++ ignores), several times slower than the MKL
# build, so not the tool as its authors measured it. bench.py says which build it ran.
#
# g++ is the compiler (icpc is gone); the three -include flags supply what icpc's headers brought
# in implicitly (FILE, atoi, _mm_malloc).
set -eu

usage() {
    echo "usage: $0 SOURCE OUTDIR [--mkl PREFIX]" >&2
    exit 2
}
[ $# -eq 2 ] || [ $# -eq 4 ] || usage
source_dir=$1
out_dir=$2
mkl=
if [ $# -eq 4 ]; then
    [ "$3" = "--mkl" ] || usage
    mkl=$4
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -f "$source_dir/pWord2Vec.cpp" ]; then
    cp "$source_dir/pWord2Vec.cpp" "$work/"
elif git -C "$source_dir" cat-file -e HEAD:pWord2Vec.cpp 2>/dev/null; then
    git -C "$source_dir" show HEAD:pWord2Vec.cpp > "$work/pWord2Vec.cpp"
else
    echo "$0: no pWord2Vec.cpp in $source_dir (a clone of IntelLabs/pWord2Vec, or a git mirror of it)" >&2
    exit 1
fi

flags="-std=c++11 -fopenmp -O3 -march=native -include cstdio -include cstdlib -include mm_malloc.h"
if [ -n "$mkl" ]; then
    lib=$mkl/lib
    if [ ! -f "$mkl/include/mkl.h" ]; then
        echo "$0: no include/mkl.h under $mkl (pip install mkl-devel into a virtual environment, give its path)" >&2
        exit 1
    fi
    # the pip wheels ship libmkl_*.so.N without the unversioned name the linker's -l looks for
    mkl_libs=
    for name in mkl_intel_lp64 mkl_sequential mkl_core; do
        found=$(ls "$lib"/lib$name.so "$lib"/lib$name.so.* 2>/dev/null | head -n 1)
        if [ -z "$found" ]; then
            echo "$0: no lib$name.so* under $lib" >&2
            exit 1
        fi
        mkl_libs="$mkl_libs $found"
    done
    # shellcheck disable=SC2086  # the flags are words
    g++ $flags -DUSE_MKL -I"$mkl/include" "$work/pWord2Vec.cpp" -o "$work/pWord2Vec" \
        -Wl,-rpath,"$lib" $mkl_libs -lpthread -lm -ldl
else
    # shellcheck disable=SC2086
    g++ $flags "$work/pWord2Vec.cpp" -o "$work/pWord2Vec"
fi
mkdir -p "$out_dir"
mv "$work/pWord2Vec" "$out_dir/pWord2Vec"
echo "$out_dir/pWord2Vec${mkl:+ (MKL from $mkl)}"
