#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# run-vfio.sh - the guest side of the real-DMA VFIO test (busybox sh, run as
# /payload/run.sh by scripts/vm-run.sh; scripts/vfio-vm.sh sets it up).
#
# In one boot, with QEMU's edu devices behind the emulated intel-iommu:
#   1. bind every edu to vfio-pci (vfio, vfio_iommu_type1, vfio-pci loaded)
#   2. vfio_edu on the first edu against the kernel's vfio_iommu_type1
#      (--expect-type1)
#   3. insmod iommufd_cxx.ko: vfio_edu again, now served by the module's
#      VFIO backend (--expect-cxx); rmmod
#   4. vfio_edu once more: type1 serves again after rmmod
#   After each vfio_edu run, every IOVA it names in a "# dmar-fault 0x..."
#   line must show up in a "DMAR: [DMA Write NO_PASID] ... fault addr" kernel
#   line of that run: the device's write to an unmapped or read-only IOVA was
#   blocked by the IOMMU.
#   5. timing, if there is a second edu (a second IOMMU group) and
#      /payload/vfio.conf does not say BENCH_PASSES=0: selftests/bench.c with
#      two containers alive together, one opened before insmod iommufd_cxx.ko
#      (vfio_iommu_type1 serves it) and one after (the module serves it; bench
#      checks both in between), their map/unmap samples interleaved rep by rep
#      on the same buffers; rmmod.  BENCH_PASSES such runs, the groups'
#      roles swapped each time.  Every sample is printed as a "# raw PASS ..."
#      comment for scripts/vfio-vm.sh to pool.  Timing is never a pass/fail
#      test; only "bench ran" is.  BENCH_CALIBRATE=1: the same without the
#      insmod, so both containers are type1's (named type1 and type1b): the
#      ratios then show the noise of the method.
#
# Output: TAP.  Each vfio_edu run is a nested stream (indented four spaces)
# followed by one line for its exit status.  Exit status: 0 if the run
# completed (edu bound, module loaded and unloaded); the results are in the
# TAP.
cd /payload || exit 1
PARAMS=/sys/module/iommufd_cxx/parameters
BENCH_PASSES=3
BENCH_ARGS="-r 3 -n 500 -s 64,512 -k 4k,4k-frag,thp"
BENCH_CALIBRATE=0	# 1: no insmod, both containers type1 (the noise floor)
INSMOD_ARGS=		# extra parameters for iommufd_cxx.ko
TYPE1_ARGS=		# and for vfio_iommu_type1 (the debug kernel has no
			# interrupt remapping: allow_unsafe_interrupts=1 for both)
[ -f vfio.conf ] && . ./vfio.conf
infra=0

[ -n "${NO_TAP_HEADER:-}" ] || echo "TAP version 13"

check() { # check DESCRIPTION COMMAND...
	desc=$1
	shift
	if "$@"; then
		echo "ok - $desc"
	else
		echo "not ok - $desc"
		return 1
	fi
}

# ---- bind edu -----------------------------------------------------------------
edus=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat $d/vendor)" = 0x1234 ] && [ "$(cat $d/device)" = 0x11e8 ] && edus="$edus ${d##*/}"
done
set -- $edus
bdf=${1:-}
check "edu device (1234:11e8) present:$edus" [ -n "$bdf" ] || exit 1
check "load vfio_iommu_type1 $TYPE1_ARGS" load-kmod vfio_iommu_type1 $TYPE1_ARGS || exit 1
check "load vfio-pci" load-kmod vfio-pci || exit 1
groups=
for b in $edus; do
	echo vfio-pci >/sys/bus/pci/devices/$b/driver_override
	echo $b >/sys/bus/pci/drivers_probe
	drv=$(readlink /sys/bus/pci/devices/$b/driver)
	g=$(readlink /sys/bus/pci/devices/$b/iommu_group)
	g=${g##*/}
	check "edu $b bound to vfio-pci, group $g" [ "${drv##*/}" = vfio-pci -a -c /dev/vfio/$g ] || exit 1
	echo "# group $g: $(ls /sys/kernel/iommu_groups/$g/devices), domain type $(cat /sys/kernel/iommu_groups/$g/type 2>/dev/null)"
	groups="$groups $g"
done
check "/dev/vfio/vfio exists" [ -c /dev/vfio/vfio ] || exit 1

# ---- vfio_edu -----------------------------------------------------------------
# edu LABEL VFIO_EDU-ARGS...: one run, nested, then its DMAR fault check.
# The kernel log is cleared before each run (the console keeps it all), so
# only this run's fault lines count.  The DMAR fault handler's ratelimit
# (10 messages per 5 s, three per fault) would swallow the fault lines of a
# run that starts right after another: runs are kept apart (vfio_edu keeps
# its two sessions apart itself, --dmar-gap).
runs=0
edu() {
	label=$1
	shift
	[ $runs = 0 ] || sleep 5
	runs=$((runs + 1))
	dmesg -c >/dev/null
	{ ./vfio_edu --bdf $bdf "$@" "vfio_edu $label" 2>&1; echo $? >/tmp/rc; } | tee /tmp/edu.out | sed 's/^/    /'
	check "vfio_edu $label exits 0" [ "$(cat /tmp/rc)" = 0 ]
	# Faults are reported by interrupt: give the last one a moment.
	sleep 1
	dmesg >/tmp/dmesg.$label
	for a in $(sed -n 's/^# dmar-fault //p' /tmp/edu.out); do
		n=$(grep -c "DMAR: \[DMA Write NO_PASID\] .* fault addr $a " /tmp/dmesg.$label)
		check "vfio_edu $label: DMAR fault logged for the blocked write to $a ($n lines)" \
			[ "$n" -gt 0 ]
	done
	grep 'DMAR: \[DMA' /tmp/dmesg.$label | sed 's/^/# /'
}

edu type1 --expect-type1
# vfio_backend_first=0: registered, but vfio_iommu_type1 (loaded) keeps
# serving TYPE1 containers.
if check "insmod iommufd_cxx.ko vfio_backend_first=0 $INSMOD_ARGS" \
	insmod ./iommufd_cxx.ko vfio_backend_first=0 $INSMOD_ARGS; then
	edu type1-preferred --expect-type1 --iommu v2
	check "vfio_backend_first=0: no container served by the module" \
		[ "$(cat $PARAMS/vfio_containers 2>/dev/null)" = 0 ]
	check "rmmod iommufd_cxx (vfio_backend_first=0)" rmmod iommufd_cxx || infra=1
else
	infra=1
fi
# vfio_backend=0: not registered with vfio.ko at all; type1 serves.
if check "insmod iommufd_cxx.ko vfio_backend=0 $INSMOD_ARGS" \
	insmod ./iommufd_cxx.ko vfio_backend=0 $INSMOD_ARGS; then
	edu no-backend --expect-type1 --iommu v2
	check "vfio_backend=0: no container served by the module" \
		[ "$(cat $PARAMS/vfio_containers 2>/dev/null)" = 0 ]
	check "rmmod iommufd_cxx (vfio_backend=0)" rmmod iommufd_cxx || infra=1
else
	infra=1
fi
check "insmod iommufd_cxx.ko $INSMOD_ARGS" insmod ./iommufd_cxx.ko $INSMOD_ARGS || infra=1
if [ $infra = 0 ]; then
	echo "# iommufd_cxx parameters: $(cd $PARAMS && for p in vfio_backend vfio_backend_first vfio_containers allow_unsafe_interrupts; do printf '%s=%s ' $p "$(cat $p 2>/dev/null || echo absent)"; done)"
	check "vfio_containers parameter is 0 after load" [ "$(cat $PARAMS/vfio_containers 2>/dev/null)" = 0 ]
	edu cxx --expect-cxx
	check "rmmod iommufd_cxx" rmmod iommufd_cxx || infra=1
fi
edu type1-after-rmmod --expect-type1

# ---- timing -------------------------------------------------------------------
# bench's Markdown and raw lines become TAP comments; only whether it ran
# is a test.
set -- $groups
if [ $# -lt 2 ]; then
	[ "$BENCH_PASSES" = 0 ] || echo "ok - timing # SKIP needs a second edu device (IOMMU group)"
	BENCH_PASSES=0
fi
[ $infra = 0 ] || BENCH_PASSES=0
ga=$1 gb=${2:-}
t1ref=/sys/module/vfio_iommu_type1/refcnt
if [ "$BENCH_CALIBRATE" = 1 ]; then
	# A/A: the second container is type1's too.
	name2=type1b hook="!true" after="!grep -qx 2 $t1ref"
else
	# Before the insmod exactly one container holds vfio_iommu_type1 (the
	# type1 target's); after the second open the module serves one.
	name2=ours hook="!insmod ./iommufd_cxx.ko $INSMOD_ARGS"
	after="!grep -qx 1 $t1ref && grep -qx 1 $PARAMS/vfio_containers"
fi
echo "# timing: $BENCH_PASSES passes of: bench -R -A $BENCH_ARGS type1=type1:/dev/vfio/A '$hook' $name2=type1:/dev/vfio/B (A, B: groups $ga and $gb, swapped each pass)"
i=1
while [ $i -le "$BENCH_PASSES" ]; do
	./bench -R -A $BENCH_ARGS type1=type1:/dev/vfio/$ga "!grep -qx 1 $t1ref" \
		"$hook" $name2=type1:/dev/vfio/$gb "$after" >/tmp/bench.out 2>&1
	rc=$?
	sed "s/^raw /raw $i /; s/^/# /" /tmp/bench.out
	check "bench pass $i: both containers open (type1 on group $ga, $name2 on $gb) and every MAP_DMA/UNMAP_DMA worked" [ $rc = 0 ]
	if [ "$BENCH_CALIBRATE" != 1 ]; then
		check "bench pass $i: rmmod iommufd_cxx" rmmod iommufd_cxx || { infra=1; break; }
	fi
	g=$ga ga=$gb gb=$g
	i=$((i + 1))
done
exit $infra
