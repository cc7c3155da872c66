#!/usr/bin/env bash
# bench.sh - `make bench`: IOAS_MAP/IOAS_UNMAP throughput and 4 KiB latency
# of the module against a reference, measured side by side in one boot
# (selftests/bench.c; guest timings under TCG drift by about 20% between
# boots, so only ratios from the same boot are compared).
#
#   scripts/bench.sh [stock] [debug]          (default: both)
#
#   stock  Debian's 6.12 kernel, which has no iommufd of its own: the module
#          (test_abi=1, its mock domain) against VFIO type1 on QEMU's edu
#          device behind an emulated intel-iommu (a real, if emulated, IOMMU
#          domain: the reference is the VFIO path users have today)
#   debug  the debug test kernel (scripts/build-test-kernel.sh; KASAN,
#          lockdep): the kernel's own iommufd.ko with its mock domain
#          (/dev/iommu) against the module (devname=iommu_cxx test_abi=1).
#          kmemleak is switched off in the guest for the run (its scans
#          stall allocations); KASAN and lockdep stay, so absolute numbers
#          there are far below the stock kernel's: read the ratios.
#
# Environment: BENCH_STOCK_ARGS (default "-r 5 -n 2000") and
# BENCH_DEBUG_ARGS (default "-r 3 -n 500") are passed to bench (see
# selftests/bench.c: -r reps, -n 4 KiB ops, -s MiB sizes, -k kinds);
# BENCH_MEM (default 5G) is the VM's RAM; BENCH_HUGEPAGES (default 520, for
# the 1 GiB hugetlb case) the 2 MiB pages reserved in the guest;
# BENCH_TIMEOUT (seconds, default 7200) bounds each VM run.
#
# Output: the tables, also in build/bench/<stock|debug>.md (Markdown, with
# the guest's kernel and the exact bench command line); VM logs under
# build/bench/. Exit status 0 if every requested run completed without a
# kernel splat and every target worked.
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
OUT=$REPO/build/bench
MEM=${BENCH_MEM:-5G}
HUGEPAGES=${BENCH_HUGEPAGES:-520}
TIMEOUT=${BENCH_TIMEOUT:-7200}
STOCK_ARGS=${BENCH_STOCK_ARGS:--r 5 -n 2000}
DEBUG_ARGS=${BENCH_DEBUG_ARGS:--r 3 -n 500}
export MAKEFLAGS="${MAKEFLAGS:-} --no-print-directory"

runs=("$@")
((${#runs[@]})) || runs=(stock debug)
for r in "${runs[@]}"; do
	case $r in stock | debug) ;; *) echo "usage: scripts/bench.sh [stock] [debug]" >&2; exit 2 ;; esac
done
mkdir -p "$OUT"

if ! make -s -C selftests >"$OUT/selftests-build.log" 2>&1; then
	tail -20 "$OUT/selftests-build.log"
	exit 1
fi

# The guest side: reserve huge pages, load the module, find the targets,
# run bench with the arguments in /payload/bench.args.
write_guest() { # DIR KIND
	cat >"$1/run.sh" <<EOF
#!/bin/sh
# Written by scripts/bench.sh ($2 run).
cd /payload
echo $HUGEPAGES >/proc/sys/vm/nr_hugepages
EOF
	if [[ $2 == stock ]]; then
		cat >>"$1/run.sh" <<'EOF'
insmod ./iommufd_cxx.ko test_abi=1 || { echo "not ok - insmod iommufd_cxx.ko test_abi=1"; exit 1; }
targets="ours=/dev/iommu"
# VFIO type1 on the edu device (1234:11e8) behind the emulated intel-iommu.
bdf=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat $d/vendor)" = 0x1234 ] && [ "$(cat $d/device)" = 0x11e8 ] && bdf=${d##*/}
done
if [ -n "$bdf" ] && load-kmod vfio_iommu_type1 && load-kmod vfio-pci; then
	echo vfio-pci >/sys/bus/pci/devices/$bdf/driver_override
	echo $bdf >/sys/bus/pci/drivers_probe
	grp=$(readlink /sys/bus/pci/devices/$bdf/iommu_group)
	grp=${grp##*/}
	if [ -c /dev/vfio/$grp ]; then
		targets="type1=type1:/dev/vfio/$grp $targets"
	else
		echo "# no /dev/vfio/$grp: VFIO type1 reference left out"
	fi
else
	echo "# no edu device or VFIO modules: VFIO type1 reference left out"
fi
EOF
	else
		cat >>"$1/run.sh" <<'EOF'
# kmemleak's scans stall every allocation for seconds: off for timing.
[ -w /sys/kernel/debug/kmemleak ] && echo off >/sys/kernel/debug/kmemleak
insmod ./iommufd_cxx.ko devname=iommu_cxx test_abi=1 ||
	{ echo "not ok - insmod iommufd_cxx.ko devname=iommu_cxx test_abi=1"; exit 1; }
targets="kernel=/dev/iommu ours=/dev/iommu_cxx"
EOF
	fi
	cat >>"$1/run.sh" <<'EOF'
echo "Guest: Linux $(uname -r), $(nproc) vCPUs under QEMU TCG, $(awk '/MemTotal/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo), $(cat /proc/sys/vm/nr_hugepages) huge pages of 2 MiB."
echo "Command: bench $(cat bench.args) $targets"
echo
./bench $(cat bench.args) $targets
rc=$?
rmmod iommufd_cxx || rc=1
exit $rc
EOF
	chmod +x "$1/run.sh"
}

# run_bench KIND KO ARGS VM-RUN-ARGS...
run_bench() {
	local kind=$1 ko=$2 args=$3 payload=$OUT/$1-payload
	shift 3
	rm -rf "$payload" && mkdir -p "$payload"
	cp "$ko" build/selftests/bench "$payload/"
	echo "$args" >"$payload/bench.args"
	write_guest "$payload" "$kind"
	echo "== bench $kind (VM log: $OUT/$kind-vm/console.log)"
	scripts/vm-run.sh --out "$OUT/$kind-vm" --payload "$payload" --mem "$MEM" \
		--timeout "$TIMEOUT" "$@" >"$OUT/$kind.log" 2>&1
	local rc=$?
	cp "$OUT/$kind-vm/tap.txt" "$OUT/$kind.md" 2>/dev/null || : >"$OUT/$kind.md"
	cat "$OUT/$kind.md"
	((rc == 0)) || { tail -40 "$OUT/$kind.log"; echo "bench $kind: VM run failed (vm-run.sh exit $rc)"; }
	return $rc
}

status=0
for r in "${runs[@]}"; do
	if [[ $r == stock ]]; then
		if ! make -s module >"$OUT/stock-build.log" 2>&1; then
			tail -30 "$OUT/stock-build.log"
			status=1
			continue
		fi
		run_bench stock iommufd_cxx.ko "$STOCK_ARGS" \
			--qemu-args "-device intel-iommu,caching-mode=on,intremap=on -device edu" \
			--append "intel_iommu=on iommu.passthrough=0" \
			--kmods-avail "vfio-pci vfio_iommu_type1" || status=1
	else
		tk=$(scripts/build-test-kernel.sh 2>"$OUT/debug-kernel.log") || {
			tail -30 "$OUT/debug-kernel.log"
			status=1
			continue
		}
		if ! ko=$(scripts/build-debug-module.sh "$OUT/debug-src" 2>"$OUT/debug-build.log"); then
			tail -30 "$OUT/debug-build.log"
			status=1
			continue
		fi
		run_bench debug "$ko" "$DEBUG_ARGS" \
			--kernel "$tk/arch/x86/boot/bzImage" --modroot "$tk/modroot" \
			--kmods iommufd || status=1
	fi
done
exit $status
