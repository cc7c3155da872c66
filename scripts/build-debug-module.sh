#!/usr/bin/env bash
# build-debug-module.sh DIR - iommufd_cxx.ko built against the debug test
# kernel (scripts/build-test-kernel.sh: cached, built on first use).
# kbuild builds in the source tree, so the sources are copied to DIR (build
# products of the repo's own stock build left out, so they neither mislead
# kbuild nor get overwritten); DIR keeps its objects between runs, so later
# builds are incremental.  Build output goes to stderr; prints the .ko's
# path.  Exit status non-zero if the kernel or the module fails to build.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
(($# == 1)) || { echo "usage: build-debug-module.sh DIR" >&2; exit 2; }
tk=$("$REPO/scripts/build-test-kernel.sh")
mkdir -p "$1"
tar -C "$REPO" --exclude=./build --exclude=./.git --exclude='*.o' --exclude='*.ko' \
	--exclude='.*.cmd' --exclude='*.mod' --exclude='*.mod.c' \
	--exclude=Module.symvers --exclude=modules.order -cf - . | tar -C "$1" -xf -
make -C "$1" module KDIR="$tk" >&2
echo "$(cd "$1" && pwd)/iommufd_cxx.ko"
