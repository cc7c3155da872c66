#!/bin/sh
# run-upstream.sh - the guest side of `make upstream` and of the debug
# stage (busybox sh, run by scripts/vm-run.sh). Loads iommufd_cxx.ko with
# the test ABI on (test_abi=1), runs the kernel's own iommufd selftests
# built by scripts/upstream-selftests.sh (iommufd, iommufd_fail_nth), then
# unloads the module.
#
# Environment:
#   REFERENCE=1        run against the kernel's own iommufd instead (the
#                      debug kernel's iommufd.ko with IOMMUFD_TEST, placed by
#                      vm-run.sh --kmods-avail iommufd): the side-by-side
#                      reference. Its result lines start "reference: ".
#   UPSTREAM_TESTS=DIR where the two binaries are (default tests).
#   KSFT_TIMEOUT_SCALE=N stretches the harness's per-test timeout N times
#                      (selftests/ksft_timeout_scale.c; the debug kernel).
#
# Output: TAP. Each binary's kselftest TAP is nested (indented four spaces)
# and followed by one line for its exit status; the load/unload steps are
# result lines of their own.
# Exit status: 0 when the module loaded, every binary ran to its end and the
# module unloaded, whatever the tests reported; the results are in the TAP.
# So vm-run.sh's verdict means "the run completed without a kernel splat",
# and the counts come from scripts/tap-summary.sh.
cd /payload || exit 1
MOD=iommufd_cxx
PARAMS=/sys/module/$MOD/parameters
TESTS=${UPSTREAM_TESTS:-tests}
infra=0
tag=

[ -n "${NO_TAP_HEADER:-}" ] || echo "TAP version 13"

if [ "${REFERENCE:-0}" = 1 ]; then
	# The kernel's own iommufd: no test_abi parameter, IOMMUFD_TEST is
	# built in; it has no live-object counters either.
	MOD=iommufd
	tag="reference: "
	if load-kmod iommufd; then
		echo "ok - ${tag}load the kernel's iommufd.ko"
	else
		echo "not ok - ${tag}load the kernel's iommufd.ko"
		exit 1
	fi
# The module parameter test_abi turns the test ABI on. A kernel ignores a
# parameter the module does not declare (with a warning) rather than failing
# the load, so look for the parameter afterwards; if insmod refused it
# anyway, load without it. Either way say so: the results then measure a
# module without the test ABI.
elif insmod ./$MOD.ko test_abi=1; then
	echo "ok - insmod $MOD.ko test_abi=1"
	if [ ! -e $PARAMS/test_abi ]; then
		echo "# NOTE: the module has no test_abi parameter (ignored by the kernel);"
		echo "# NOTE: IOMMU_TEST_CMD is not served, so most tests cannot pass"
	fi
elif insmod ./$MOD.ko; then
	echo "ok - insmod $MOD.ko (test_abi=1 rejected; loaded without it)"
	echo "# NOTE: loaded WITHOUT test_abi=1; IOMMU_TEST_CMD is not served"
else
	echo "not ok - insmod $MOD.ko"
	exit 1
fi
if [ -c /dev/iommu ]; then
	echo "ok - ${tag}/dev/iommu is a character device"
else
	echo "not ok - ${tag}/dev/iommu is a character device"
	infra=1
fi

# MAP_HUGETLB memory: iommufd_mock_domain's hugepage variants map 4 MiB,
# iommufd_dirty_tracking's *_huge variants 128 MiB (64 pages) at once.
echo 160 >/proc/sys/vm/nr_hugepages 2>/dev/null
echo "# hugepages: $(cat /proc/sys/vm/nr_hugepages 2>/dev/null)"
[ -d /sys/kernel/debug/failslab ] ||
	echo "# no /sys/kernel/debug/failslab: iommufd_fail_nth will skip (no fault injection)"

# /payload/<binary>.args, if present, holds the binary's kselftest filter
# (-f/-F/-t/-T options) and /payload/<binary>.skip one line naming what the
# filtered-out tests need: `make check` runs the tests the module is meant
# to pass today and says which ones wait for which work.
for t in iommufd iommufd_fail_nth; do
	if [ ! -x $TESTS/$t ]; then
		echo "not ok - ${tag}$t is in the payload"
		infra=1
		continue
	fi
	args=
	[ -r $t.args ] && args=$(cat $t.args)
	[ -r $t.skip ] && echo "ok - ${tag}$t: tests left out # SKIP $(cat $t.skip)"
	{ ./$TESTS/$t $args 2>&1; echo $? >/tmp/rc; } | sed 's/^/    /'
	rc=$(cat /tmp/rc)
	# 4 is kselftest's "skip" exit code (every test skipped).
	case $rc in
	0) echo "ok - ${tag}$t exits 0" ;;
	4) echo "ok - ${tag}$t exits 4 # SKIP every test skipped" ;;
	*) echo "not ok - ${tag}$t exits $rc" ;;
	esac
done

if [ -r $PARAMS/live_objects ]; then
	echo "# live_objects=$(cat $PARAMS/live_objects) live_allocs=$(cat $PARAMS/live_allocs 2>/dev/null)"
fi
if rmmod $MOD; then
	echo "ok - ${tag}rmmod $MOD"
else
	echo "not ok - ${tag}rmmod $MOD"
	infra=1
fi
exit $infra
