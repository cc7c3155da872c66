#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# vfio-vm.sh - real DMA through the VFIO container API, the kernel's
# vfio_iommu_type1 and iommufd_cxx.ko's VFIO backend side by side, in ONE
# boot of Debian's 6.12 kernel under QEMU (q35, intel-iommu with
# caching-mode and interrupt remapping, two of QEMU's edu DMA devices, each
# its own IOMMU group).  The guest side is selftests/run-vfio.sh: edu bound
# to vfio-pci, selftests/vfio_edu against type1, then with the module loaded
# (served by it), then type1 again after rmmod; DMAR fault lines for the
# blocked writes; then the MAP_DMA/UNMAP_DMA timing (selftests/bench.c): one
# container per backend, both open at once (one group each), samples
# interleaved rep by rep on the same buffers.
#
#   scripts/vfio-vm.sh [--no-build] [--ko FILE] [--out DIR] [--tap FILE]
#                      [--bench-md FILE] [--passes N] [--bench-args "..."]
#                      [--calibrate] [--timeout SECS] [--mem SIZE]
#
#   --no-build    use the built module and selftests as they are (default:
#                 `make module` and `make -C selftests` first)
#   --ko FILE     the module to load (default ./iommufd_cxx.ko)
#   --out DIR     payload and VM logs (default build/vfio)
#   --tap FILE    the guest's TAP plus the timing table as comments
#                 (default DIR/vfio.tap)
#   --bench-md    the timing table (default build/results/vfio-bench.md)
#   --passes N    timing passes, one bench run each (default 3; 0: none)
#   --bench-args  arguments of each bench run (default
#                 "-r 3 -n 500 -s 64,512 -k 4k,4k-frag,thp"): with 3 passes,
#                 every median pools 9 samples per backend (the 4 KiB single
#                 row: the median of the passes' medians)
#   --calibrate   timing without the module: both containers are type1's
#                 ("type1" and "type1b"), so the ratios show the method's
#                 noise floor (the DMA tests run as usual)
#
# Timing is never pass/fail (TCG drifts by about 20%); the ratios are
# ours over type1 throughput (>1: ours faster).  Exit status: that of
# scripts/vm-run.sh (0: the guest run completed and the console has no
# kernel splat); then the TAP counts (scripts/tap-summary.sh) are printed.
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

BUILD=1 KO=$REPO/iommufd_cxx.ko OUT=$REPO/build/vfio TAP="" MD=$REPO/build/results/vfio-bench.md
PASSES=3 BENCH_ARGS="-r 3 -n 500 -s 64,512 -k 4k,4k-frag,thp" TIMEOUT=900 MEM=3G CAL=0

usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
while (($#)); do
	case $1 in
	--no-build) BUILD=0 ;;
	--ko) KO=$(realpath "$2"); shift ;;
	--out) OUT=$2; shift ;;
	--tap) TAP=$2; shift ;;
	--bench-md) MD=$2; shift ;;
	--passes) PASSES=$2; shift ;;
	--bench-args) BENCH_ARGS=$2; shift ;;
	--timeout) TIMEOUT=$2; shift ;;
	--mem) MEM=$2; shift ;;
	--calibrate) CAL=1 ;;
	*) usage ;;
	esac
	shift
done
[[ $PASSES =~ ^[0-9]+$ ]] || usage
mkdir -p "$OUT" "$(dirname "$MD")"
OUT=$(cd "$OUT" && pwd)
[[ -n $TAP ]] || TAP=$OUT/vfio.tap

if ((BUILD)); then
	export MAKEFLAGS="${MAKEFLAGS:-} --no-print-directory"
	if ! make -s module >"$OUT/build.log" 2>&1 || ! make -s -C selftests >>"$OUT/build.log" 2>&1; then
		tail -30 "$OUT/build.log"
		echo "not ok - vfio: module and selftests build" >"$TAP"
		exit 2
	fi
fi

payload=$OUT/payload
rm -rf "$payload" && mkdir -p "$payload"
cp "$KO" "$payload/iommufd_cxx.ko" || exit 2
cp build/selftests/vfio_edu build/selftests/bench "$payload/" || exit 2
cp selftests/run-vfio.sh "$payload/run.sh"
printf 'BENCH_PASSES=%s\nBENCH_ARGS="%s"\nBENCH_CALIBRATE=%s\n' "$PASSES" "$BENCH_ARGS" "$CAL" \
	>"$payload/vfio.conf"
tgt=ours
((CAL)) && tgt=type1b

# The rig: DESIGN.md "Real DMA"; interrupt remapping on, so SET_IOMMU needs
# no allow_unsafe_interrupts (shared/reference/vm-rig.md).
rc=0
scripts/vm-run.sh --out "$OUT/vm" --payload "$payload" --mem "$MEM" --timeout "$TIMEOUT" \
	--qemu-args "-device intel-iommu,caching-mode=on,intremap=on -device edu -device edu" \
	--append "intel_iommu=on iommu.passthrough=0" \
	--kmods-avail "vfio-pci vfio_iommu_type1" || rc=$?
cp "$OUT/vm/tap.txt" "$TAP" 2>/dev/null || : >"$TAP"

# Pool the "# raw PASS NAME KIND MIB RUNS MAP_NS UNMAP_NS" samples of every
# pass: medians per backend and buffer, ours/type1 ratios.
table=$(awk -v ref=type1 -v tgt=$tgt '
	function med(key,   n, i, j, v, a) {
		n = cnt[key]
		if (!n) return 0
		for (i = 1; i <= n; i++) a[i] = s[key, i]
		for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function add(key, v) { s[key, ++cnt[key]] = v }
	$1 == "#" && $2 == "raw" {
		pass = $3; name = $4; kind = $5; mib = $6; runs = $7; m = $8; u = $9
		row = kind SUBSEP mib
		if (!(row in seen)) { seen[row] = 1; rows[++nrows] = row }
		add(name SUBSEP row SUBSEP "m", m); add(name SUBSEP row SUBSEP "u", u)
		add(name SUBSEP row SUBSEP "b", m + u)
		# Per pass, for the drift column: type1 map+unmap of the pass.
		add(name SUBSEP row SUBSEP "b" SUBSEP pass, m + u)
		if (pass > maxpass) maxpass = pass
		r = name SUBSEP row SUBSEP "runs"
		if (!(r in lo) || runs < lo[r]) lo[r] = runs
		if (!(r in hi) || runs > hi[r]) hi[r] = runs
	}
	function gbs(bytes, ns) { return ns > 0 ? sprintf("%.2f", bytes / ns) : "-" }
	function ratio(a, b) { return (a > 0 && b > 0) ? sprintf("%.2f", a / b) : "-" }
	function runs_of(name, row,   r) {
		r = name SUBSEP row SUBSEP "runs"
		if (!(r in lo)) return "-"
		return lo[r] == hi[r] ? lo[r] : lo[r] "-" hi[r]
	}
	END {
		if (!nrows) { print "(no timing samples)"; exit }
		printf "| buffer | MiB | runs | %s map | %s unmap | %s map | %s unmap | %s/%s map | unmap | map+unmap | %s drift | samples |\n", ref, ref, tgt, tgt, tgt, ref, ref
		print "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
		for (i = 1; i <= nrows; i++) {
			row = rows[i]; split(row, k, SUBSEP)
			if (k[1] == "4k-single") continue
			bytes = k[2] * 1048576
			rm = med(ref SUBSEP row SUBSEP "m"); ru = med(ref SUBSEP row SUBSEP "u"); rb = med(ref SUBSEP row SUBSEP "b")
			tm = med(tgt SUBSEP row SUBSEP "m"); tu = med(tgt SUBSEP row SUBSEP "u"); tb = med(tgt SUBSEP row SUBSEP "b")
			f = med(ref SUBSEP row SUBSEP "b" SUBSEP 1); l = med(ref SUBSEP row SUBSEP "b" SUBSEP maxpass)
			printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d/%d |\n", k[1], k[2],
				runs_of(ref, row), gbs(bytes, rm), gbs(bytes, ru), gbs(bytes, tm), gbs(bytes, tu),
				ratio(rm, tm), ratio(ru, tu), ratio(rb, tb), ratio(f, l),
				cnt[ref SUBSEP row SUBSEP "m"], cnt[tgt SUBSEP row SUBSEP "m"]
		}
		row = "4k-single" SUBSEP 0
		if (row in seen) {
			print ""
			print "| one 4 KiB page | map ns | unmap ns | map+unmap ns | passes |"
			print "|---|--:|--:|--:|--:|"
			for (j = 1; j <= 2; j++) {
				name = j == 1 ? ref : tgt
				printf "| %s | %.0f | %.0f | %.0f | %d |\n", name, med(name SUBSEP row SUBSEP "m"),
					med(name SUBSEP row SUBSEP "u"), med(name SUBSEP row SUBSEP "b"),
					cnt[name SUBSEP row SUBSEP "m"]
			}
			printf "| %s/%s (%s ns / %s ns) | %s | %s | %s | |\n", tgt, ref, ref, tgt,
				ratio(med(ref SUBSEP row SUBSEP "m"), med(tgt SUBSEP row SUBSEP "m")),
				ratio(med(ref SUBSEP row SUBSEP "u"), med(tgt SUBSEP row SUBSEP "u")),
				ratio(med(ref SUBSEP row SUBSEP "b"), med(tgt SUBSEP row SUBSEP "b"))
		}
	}' "$TAP")

kernel=$(grep -m1 -oE 'VM-RUN-START kernel=[^ ]+' "$OUT/vm/console.log" 2>/dev/null | cut -d= -f2)
cmd=$(grep -m1 '^# timing: ' "$TAP" | sed 's/^# timing: //')
{
	if ((CAL)); then
		echo "# VFIO MAP_DMA/UNMAP_DMA: calibration, vfio_iommu_type1 against itself (type1b)"
	else
		echo "# VFIO MAP_DMA/UNMAP_DMA: iommufd_cxx backend (ours) vs vfio_iommu_type1"
	fi
	echo
	echo "Measured by \`scripts/vfio-vm.sh --passes $PASSES --bench-args \"$BENCH_ARGS\"$( ((CAL)) && echo " --calibrate")\` on $(date -u +%F):"
	echo "guest Linux ${kernel:-?} under QEMU TCG (q35, intel-iommu caching-mode=on intremap=on,"
	echo "two edu devices), $MEM RAM. In the guest: $cmd."
	if ((CAL)); then
		echo "Calibration: no insmod, both containers are vfio_iommu_type1's; both map the"
	else
		echo "The type1 container is opened before the insmod, the other after it; both map the"
	fi
	echo "same buffer, alternately. GB/s = 10^9 bytes/s, medians of the pooled samples of"
	echo "all passes; ratios $tgt/type1 (>1: $tgt faster); type1 drift = its map+unmap"
	echo "throughput in the last pass over the first (1.00: no drift between passes)."
	echo
	echo "$table"
} >"$MD"
sed 's/^/# /' "$MD" >>"$TAP"
cat "$MD"
scripts/tap-summary.sh "$TAP"
exit $rc
