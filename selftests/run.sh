#!/bin/sh
# run.sh - the guest side of the VM suite (busybox sh, run as /payload/run.sh
# by scripts/vm-run.sh).  Loads iommufd_cxx.ko, runs every test binary in
# /payload/tests (each prints its own TAP), then checks that closing every
# file left no object or heap block behind and that rmmod succeeds.  Then
# the same again with the module loaded with test_abi=1 (mock domains,
# MD_CHECK_REFS, ...); that pass's own lines start "test_abi=1:".  Last, the
# no-IOMMU VFIO tests in a load of their own (lines "enable_unsafe_...:").
# Output: TAP result lines ("ok - ..." / "not ok - ..."), one per check and
# one per test case of each binary.
cd /payload || exit 1
PARAMS=/sys/module/iommufd_cxx/parameters
failed=0

check() { # check DESCRIPTION COMMAND...
	desc=$1
	shift
	if "$@"; then
		echo "ok - $desc"
	else
		echo "not ok - $desc"
		failed=1
	fi
}

param_is() { [ "$(cat $PARAMS/$1 2>/dev/null)" = "$2" ]; }

[ -n "${NO_TAP_HEADER:-}" ] || echo "TAP version 13"

# Huge pages for the MAP_HUGETLB cases (iommufd_pages, and the upstream
# suite's hugepage variants, up to 128 MiB): 160 x 2 MiB of the VM's RAM.
echo 160 >/proc/sys/vm/nr_hugepages 2>/dev/null
echo "# hugepages: $(cat /proc/sys/vm/nr_hugepages 2>/dev/null)"

# pass [MODULE-PARAMS]: load, run every binary, check nothing is left, unload.
pass() {
	tag=${1:+$1: }
	check "${tag}insmod iommufd_cxx.ko${1:+ $*}" insmod ./iommufd_cxx.ko "$@"
	check "${tag}/dev/iommu is a character device" test -c /dev/iommu
	check "${tag}no objects alive after load" param_is live_objects 0

	# Each binary's TAP is a subtest: indented, then one line for its exit status.
	for t in tests/*; do
		[ -x "$t" ] || continue
		{ "./$t" 2>&1; echo $? >/tmp/rc; } | sed 's/^/    /'
		check "${tag}$(basename "$t") exits 0" [ "$(cat /tmp/rc)" = 0 ]
	done

	check "${tag}no objects alive after every file closed" param_is live_objects 0
	check "${tag}no heap blocks held after every file closed" param_is live_allocs 0
	check "${tag}rmmod iommufd_cxx" rmmod iommufd_cxx
	check "${tag}module gone after rmmod" test ! -e /sys/module/iommufd_cxx
	check "${tag}/dev/iommu gone after rmmod" test ! -e /dev/iommu
}

pass
pass test_abi=1

# Our own /dev/vfio/vfio (no vfio.ko in this boot): there by default, not
# with vfio_node=0.
vfio_node() {
	check "vfio_node: insmod iommufd_cxx.ko" insmod ./iommufd_cxx.ko
	check "vfio_node: /dev/vfio/vfio is a character device (misc minor 196)" \
		[ -c /dev/vfio/vfio -a "$(cat /sys/class/misc/iommufd_cxx_vfio/dev 2>/dev/null)" = 10:196 ]
	check "vfio_node: rmmod iommufd_cxx" rmmod iommufd_cxx
	check "vfio_node=0: insmod iommufd_cxx.ko vfio_node=0" insmod ./iommufd_cxx.ko vfio_node=0
	check "vfio_node=0: no /dev/vfio/vfio" [ ! -e /dev/vfio/vfio ]
	check "vfio_node=0: rmmod iommufd_cxx" rmmod iommufd_cxx
}
vfio_node

# No-IOMMU VFIO containers: iommufd_vfio's noiommu tests skip in the passes
# above and run here, in a load with enable_unsafe_noiommu_mode=1 (and the
# test ABI).  Entering the mode taints the kernel 'U' for the rest of the
# boot, so this goes last and the VM stages accept that taint (check.sh
# --ok-taint U).
noiommu() {
	tag="enable_unsafe_noiommu_mode=1: "
	check "${tag}insmod iommufd_cxx.ko" insmod ./iommufd_cxx.ko enable_unsafe_noiommu_mode=1 test_abi=1
	{ ./tests/iommufd_vfio -f noiommu 2>&1; echo $? >/tmp/rc; } | sed 's/^/    /'
	check "${tag}iommufd_vfio -f noiommu exits 0" [ "$(cat /tmp/rc)" = 0 ]
	check "${tag}no objects alive after every file closed" param_is live_objects 0
	check "${tag}no heap blocks held after every file closed" param_is live_allocs 0
	check "${tag}rmmod iommufd_cxx" rmmod iommufd_cxx
}
[ -x tests/iommufd_vfio ] && noiommu
exit $failed
