#!/bin/sh
# run-debug.sh - the guest side of the debug stage (scripts/check.sh debug),
# on the debug test kernel: KASAN, lockdep, kmemleak, fault injection, KUnit.
#   1. the module's KUnit suites: insmod kunit=1 runs them inside the load
#      and prints KTAP to the kernel log (scripts/ktap-to-tap.sh reads it
#      from the console afterwards); then rmmod;
#   2. our VM suite (selftests/run.sh, in the payload as run-vm.sh: every
#      binary in tests/, the stress test among them, without and with
#      test_abi=1);
#   3. the kernel's own iommufd and iommufd_fail_nth selftests against the
#      module (run-upstream.sh; binaries in upstream/);
#   4. the VFIO backend with real DMA: run-vfio.sh (the vfio stage's edu
#      test through vfio.ko, type1 and the module in turn; no timing),
#      when the boot has an edu device behind an IOMMU;
#   5. kmemleak: with the module gone, a scan must find nothing.
# Every kselftest harness timeout (ours and upstream's) is stretched as many
# times as /payload/timeout-scale says (KSFT_TIMEOUT_SCALE).
# Output: TAP (the sub-scripts' lines, in order). Exit status 0 when every
# step ran to its end; what the tests reported is in the TAP.
cd /payload || exit 1
KL=/sys/kernel/debug/kmemleak
infra=0

echo "TAP version 13"

# Periodic scans would run for minutes under TCG in the middle of the
# tests: scan once now and forget what the boot left (not ours), once at
# the end.
if [ -w $KL ]; then
	echo scan=off >$KL
	echo scan >$KL
	echo clear >$KL
	echo "ok - kmemleak is on; the boot's own reports cleared"
else
	echo "not ok - kmemleak is on (no $KL)"
	infra=1
fi

# 1. KUnit
P=/sys/module/iommufd_cxx/parameters
if insmod ./iommufd_cxx.ko kunit=1; then
	echo "ok - kunit: insmod iommufd_cxx.ko kunit=1"
	if [ "$(cat $P/live_objects)" = 0 ] && [ "$(cat $P/live_allocs)" = 0 ]; then
		echo "ok - kunit: nothing alive after the suites"
	else
		echo "not ok - kunit: nothing alive after the suites (objects $(cat $P/live_objects), heap blocks $(cat $P/live_allocs))"
	fi
	if rmmod iommufd_cxx; then
		echo "ok - kunit: rmmod iommufd_cxx"
	else
		echo "not ok - kunit: rmmod iommufd_cxx"
		infra=1
	fi
else
	echo "not ok - kunit: insmod iommufd_cxx.ko kunit=1"
	infra=1
fi

# 2. our suite; 3. upstream's. Both use the kselftest harness, whose
# per-test timeouts are stretched (selftests/ksft_timeout_scale.c).
KSFT_TIMEOUT_SCALE=$(cat timeout-scale 2>/dev/null || echo 10)
export KSFT_TIMEOUT_SCALE
NO_TAP_HEADER=1 sh ./run-vm.sh || infra=1
NO_TAP_HEADER=1 UPSTREAM_TESTS=upstream sh ./run-upstream.sh || infra=1

# 4. the VFIO backend (vfio.conf: no timing, the kernel's parameters).
if [ -f run-vfio.sh ]; then
	NO_TAP_HEADER=1 sh ./run-vfio.sh || infra=1
fi

# 5. kmemleak: two scans (an object is reported once it is old enough and
# was unreferenced in a scan).
if [ -w $KL ]; then
	echo scan >$KL
	sleep 6
	echo scan >$KL
	n=$(grep -c '^unreferenced object' $KL)
	if [ "$n" = 0 ]; then
		echo "ok - kmemleak: no unreferenced object after every test and rmmod"
	else
		echo "not ok - kmemleak: $n unreferenced objects"
		sed 's/^/# /' $KL
	fi
fi
exit $infra
