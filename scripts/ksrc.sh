#!/usr/bin/env bash
# ksrc.sh - print the path of Debian's linux-source-6.12 tree, extracting the
# tarball once into a cache outside the repo, keyed by the package version.
# The selftests take kselftest_harness.h from it; the debug kernel and the
# kernel's own iommufd selftests are built from it.
set -euo pipefail
cache=${IOMMUFD_CXX_CACHE:-/var/cache/iommufd-cxx}
tarball=/usr/src/linux-source-6.12.tar.xz
[[ -f $tarball ]] || { echo "ksrc: $tarball missing (run scripts/deps.sh)" >&2; exit 1; }
ver=$(dpkg-query -W -f '${Version}' linux-source-6.12)
dir=$cache/linux-source-$ver
if [[ ! -f $dir/.complete ]]; then
	rm -rf "$dir" && mkdir -p "$dir"
	tar -xJf "$tarball" -C "$dir" --strip-components=1
	touch "$dir/.complete"
fi
echo "$dir"
