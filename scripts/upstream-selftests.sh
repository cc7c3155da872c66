#!/usr/bin/env bash
# upstream-selftests.sh - build the kernel's own iommufd selftests
# (tools/testing/selftests/iommu/iommufd.c and iommufd_fail_nth.c) from
# Debian's linux-source-6.12 tree (scripts/ksrc.sh), unmodified, as static
# binaries that use this project's ABI headers instead of the tree's, with
# alarm() wrapped at link time so the debug kernel can stretch the harness's
# timeout (selftests/ksft_timeout_scale.c).
#
# Usage: scripts/upstream-selftests.sh [OUTDIR]     (default build/upstream)
# Writes OUTDIR/bin/iommufd and OUTDIR/bin/iommufd_fail_nth; compiler output
# goes to stderr. Exit status non-zero if either binary fails to build.
#
# How the includes are redirected. The tests include two ABI headers:
#   <linux/iommufd.h>                                   from the include path
#   "../../../../drivers/iommu/iommufd/iommufd_test.h"  relative to
#                                                       tools/testing/selftests/iommu/
# The compiler looks a quoted include up relative to the directory of the
# file as it was named, symlinks not resolved. So OUTDIR/tree/ mirrors the
# few paths of the kernel tree the tests touch, as symlinks:
#   tree/tools/testing/selftests/iommu/{iommufd.c,iommufd_fail_nth.c,
#         iommufd_utils.h}          -> the Debian tree's files (unmodified)
#   tree/tools/testing/selftests/{kselftest_harness.h,kselftest.h}
#                                   -> the Debian tree's files
#   tree/drivers/iommu/iommufd/iommufd_test.h -> our uapi/iommufd_test.h
#   tree/drivers/iommu/iommufd/iommufd.h      -> our uapi/iommufd.h (the test
#         header includes it as its sibling "iommufd.h")
#   include/linux/iommufd.h                   -> our uapi/iommufd.h
# and the sources are compiled through the mirror with -I OUTDIR/include.
# Every other header (<linux/vfio.h>, <linux/types.h>, libc) comes from the
# system. Nothing of the tree is copied into the repository or changed.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$REPO/build/upstream}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
KSRC=$("$REPO/scripts/ksrc.sh")
CC=${CC:-gcc}

ST=tools/testing/selftests
MIRROR=$OUT/tree
rm -rf "$MIRROR" "$OUT/include"
mkdir -p "$MIRROR/$ST/iommu" "$MIRROR/drivers/iommu/iommufd" "$OUT/include/linux" "$OUT/bin"

link() { # link TARGET LINKNAME: TARGET must exist
	[[ -e $1 ]] || { echo "upstream-selftests: $1 is missing" >&2; exit 1; }
	ln -s "$1" "$2"
}
for f in iommufd.c iommufd_fail_nth.c iommufd_utils.h; do
	link "$KSRC/$ST/iommu/$f" "$MIRROR/$ST/iommu/$f"
done
for f in kselftest_harness.h kselftest.h; do
	link "$KSRC/$ST/$f" "$MIRROR/$ST/$f"
done
link "$REPO/uapi/iommufd_test.h" "$MIRROR/drivers/iommu/iommufd/iommufd_test.h"
link "$REPO/uapi/iommufd.h" "$MIRROR/drivers/iommu/iommufd/iommufd.h"
link "$REPO/uapi/iommufd.h" "$OUT/include/linux/iommufd.h"

# The flags of the tree's selftests/iommu/Makefile (and lib.mk's -D_GNU_SOURCE),
# with our include directory in place of KHDR_INCLUDES, linked statically for
# the busybox initramfs. -pthread: the harness and fail_nth use threads.
CFLAGS=(-static -O2 -g -Wall -Wno-unused-function -D_GNU_SOURCE -pthread -I"$OUT/include")
# Link-time only: alarm() goes through selftests/ksft_timeout_scale.c, which
# stretches the harness's per-test timeout when the guest sets
# KSFT_TIMEOUT_SCALE (the debug kernel); unset, nothing changes.
WRAP=(-Wl,--wrap=alarm "$REPO/selftests/ksft_timeout_scale.c")

status=0
for t in iommufd iommufd_fail_nth; do
	if "$CC" "${CFLAGS[@]}" -o "$OUT/bin/$t" "$MIRROR/$ST/iommu/$t.c" "${WRAP[@]}"; then
		echo "upstream-selftests: built $OUT/bin/$t"
	else
		echo "upstream-selftests: $t failed to build" >&2
		status=1
	fi
done
# The sources really are the tree's: fail loudly if a mirror link was replaced.
for f in iommufd.c iommufd_fail_nth.c iommufd_utils.h; do
	cmp -s "$MIRROR/$ST/iommu/$f" "$KSRC/$ST/iommu/$f" || {
		echo "upstream-selftests: $f differs from the tree" >&2
		status=1
	}
done
exit $status
