#!/usr/bin/env bash
# check.sh - everything `make check` runs, in order, on a fresh machine:
#   deps    install what the build and the VM need (scripts/deps.sh)
#   abi     uapi/iommufd.h against Debian's 6.12 uapi header (compile time)
#   build   iommufd_cxx.ko with W=1: no compiler, objtool or modpost warning;
#           the .ko passes scripts/check-ko.sh, which must also reject bad
#           objects (a global constructor, a missing __cxa_pure_virtual)
#   unit    hosted GoogleTest suite of the portable C++ core (ASan+UBSan)
#   fuzz    libFuzzer over every tests/fuzz target (FUZZ_SECONDS each, default 20)
#   vm      Debian's 6.12 kernel under QEMU: insmod, selftests, rmmod, with
#           the console scanned for kernel splats
#   upstream the kernel's own iommufd selftests (Linux 6.12, built from
#           Debian's linux-source-6.12) against the module with test_abi=1:
#           every test, the VFIO-compat ones included
#   vfio    real DMA through the VFIO container API (/dev/vfio/vfio) on
#           QEMU's edu devices behind an emulated intel-iommu, in one boot:
#           the kernel's vfio_iommu_type1, the module's VFIO backend, type1
#           again after rmmod (scripts/vfio-vm.sh); MAP_DMA/UNMAP_DMA timing
#           of both in build/results/vfio-bench.md (comments, not tests)
#   debug   the debug test kernel (KASAN, lockdep, kmemleak, fault
#           injection, KUnit; scripts/build-test-kernel.sh builds it once into
#           a cache outside the repo): the module's KUnit suites, the VM
#           suite with the stress test, the upstream selftests including
#           iommufd_fail_nth, rmmod and a kmemleak scan, in one boot
#   reference the same upstream selftests against the test kernel's own
#           iommufd, for the side-by-side table (build/results/
#           upstream-table.md); its test results are not this module's and
#           are not counted
# Each stage writes TAP to build/results/<stage>.tap; the last line printed
# is "N passed, M failed" over all of them.  Exit status 0 only if nothing
# failed.  Stages to run can be named: scripts/check.sh unit vm
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
RES=$REPO/build/results
mkdir -p "$RES"
stages=("$@")
((${#stages[@]})) || stages=(deps abi build unit fuzz vm upstream vfio debug reference)
export MAKEFLAGS="${MAKEFLAGS:-} --no-print-directory"

tap() { # tap FILE STATUS DESCRIPTION
	if [[ $2 == 0 ]]; then echo "ok - $3"; else echo "not ok - $3"; fi >>"$1"
}

stage_deps() {
	scripts/deps.sh >"$RES/deps.log" 2>&1
	local rc=$?
	tap "$RES/deps.tap" $rc "deps: build and VM dependencies installed"
	((rc == 0)) || { tail -30 "$RES/deps.log"; return 1; }
}

stage_abi() {
	make -f tests/abi/abi.mk abi-check >"$RES/abi.tap" 2>&1
}

stage_build() {
	local t=$RES/build.tap log=$RES/build.log
	make module W=1 >"$log" 2>&1
	tap "$t" $? "build: iommufd_cxx.ko builds (W=1, objtool, modpost)"
	# pahole reports the C++ DWARF tags it skips while encoding BTF for the
	# C glue; those lines are expected, anything else is a warning.
	local warn
	warn=$(grep -E 'warning:|error:|WARNING:|objtool|modpost: ' "$log" | grep -v '^die__process')
	tap "$t" $((${#warn} > 0)) "build: no compiler, objtool or modpost warnings"
	[[ -z $warn ]] || echo "$warn" | sed 's/^/# /' >>"$t"
	tap "$t" $(grep -q 'check-ko: .* ok' "$log"; echo $?) \
		"build: .ko has no ctors/TLS/EH, only kernel imports, __cxa_pure_virtual"

	# check-ko.sh itself must catch what it is there for.
	local tmp=$REPO/build/check-ko-neg
	mkdir -p "$tmp"
	printf 'int f();\nint g = f();\nstruct A { virtual void v() = 0; virtual ~A(); };\nA::~A() {}\n' >"$tmp/bad.cpp"
	g++ -c -O1 -fno-exceptions -fno-rtti -o "$tmp/bad.o" "$tmp/bad.cpp"
	local symvers
	symvers=$(ls -d /usr/src/linux-headers-6.12.*-amd64/Module.symvers 2>/dev/null | sort -V | tail -1)
	scripts/check-ko.sh "$tmp/bad.o" "$symvers" >"$tmp/out" 2>&1
	local rc=$? caught=1
	if ((rc != 0)) && grep -q 'section .init_array present' "$tmp/out" &&
		grep -q '__cxa_pure_virtual is not defined' "$tmp/out"; then
		caught=0
	fi
	tap "$t" $caught "build: check-ko rejects a global constructor and a missing __cxa_pure_virtual"

	# The KTAP-to-TAP parser the debug stage reads KUnit with, on sample consoles.
	tests/ktap/test.sh >>"$t" 2>&1 || tap "$t" 1 "build: scripts/ktap-to-tap.sh self-test (tests/ktap)"
	# The side-by-side table the reference stage prints.
	tests/scripts/upstream-table-test.sh >>"$t" 2>&1 ||
		tap "$t" 1 "build: scripts/upstream-table.sh self-test (tests/scripts)"
	! grep -q '^not ok' "$t"
}

stage_unit() {
	local t=$RES/unit.tap log=$RES/unit.log
	make -f tests/unit/unit.mk unit -j2 >"$log" 2>&1
	local rc=$?
	# One TAP line per GoogleTest case.
	sed -nE 's/^\[       OK \] ([^ ]+) \(.*/ok - unit: \1/p; s/^\[  FAILED  \] ([^ ]+) \(.*/not ok - unit: \1/p' "$log" >"$t"
	if ((rc != 0)) && ! grep -q '^not ok' "$t"; then
		tap "$t" 1 "unit: suite builds and runs (see build/results/unit.log)"
		tail -40 "$log"
	fi
	((rc == 0))
}

stage_fuzz() {
	local t=$RES/fuzz.tap
	make -f tests/fuzz/fuzz.mk fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-20}" >"$RES/fuzz.log" 2>&1
	local rc=$?
	local targets
	targets=$(cd tests/fuzz && ls *.cpp | sed 's/\.cpp$//' | paste -sd, -)
	tap "$t" $rc "fuzz: $targets (ioctl dispatch, SMMUv3 STE/CD/commands, the stage-1 walker), ${FUZZ_SECONDS:-20} s of libFuzzer each with ASan/UBSan, no leak"
	((rc == 0)) || tail -40 "$RES/fuzz.log"
	((rc == 0))
}

stage_vm() {
	local t=$RES/vm.tap payload=$REPO/build/payload # t: build failures only
	if ! make -s module >"$RES/vm-build.log" 2>&1 || ! make -s -C selftests >>"$RES/vm-build.log" 2>&1; then
		tap "$t" 1 "vm: module and selftests build"
		tail -30 "$RES/vm-build.log"
		return 1
	fi
	make_payload "$payload" iommufd_cxx.ko
	# U: run.sh's last load puts a container in no-IOMMU mode (iommufd_vfio).
	run_vm vm "guest run completed and the console has no kernel splat" \
		"$REPO/build/vm" --payload "$payload" --timeout 600 --ok-taint U
}

# run_vm STAGE DESCRIPTION OUTDIR VM-RUN-ARGS...: boot, keep the guest's TAP
# as the stage's, add one line for the run itself (completed, no splat).
run_vm() {
	local stage=$1 desc=$2 out=$3
	shift 3
	scripts/vm-run.sh --out "$out" "$@" >"$RES/$stage.log" 2>&1
	local rc=$?
	cp "$out/tap.txt" "$RES/$stage.tap" 2>/dev/null || : >"$RES/$stage.tap"
	tap "$RES/$stage.tap" $rc "$stage: $desc"
	((rc == 0)) || tail -60 "$RES/$stage.log"
	((rc == 0))
}

# make_payload DIR KO: the guest runner, the module and every selftest binary.
make_payload() {
	rm -rf "$1" && mkdir -p "$1/tests"
	cp "$2" selftests/run.sh "$1/"
	cp build/selftests/iommufd_basic build/selftests/iommufd_ioas \
		build/selftests/iommufd_pages build/selftests/iommufd_stress \
		build/selftests/iommufd_vfio build/selftests/iommufd_smmuv3 "$1/tests/"
}

# iommufd_fail_nth needs fault injection, which only the debug kernel has;
# on the stock kernel it skips itself.

stage_upstream() {
	local t=$RES/upstream.tap payload=$REPO/build/upstream/check-payload
	if ! make -s module >"$RES/upstream-build.log" 2>&1 ||
		! scripts/upstream-selftests.sh "$REPO/build/upstream" >>"$RES/upstream-build.log" 2>&1; then
		tap "$t" 1 "upstream: module and the kernel's iommufd selftests build"
		tail -30 "$RES/upstream-build.log"
		return 1
	fi
	rm -rf "$payload" && mkdir -p "$payload/tests"
	cp iommufd_cxx.ko "$payload/"
	cp selftests/run-upstream.sh "$payload/run.sh"
	cp build/upstream/bin/iommufd build/upstream/bin/iommufd_fail_nth "$payload/tests/"
	run_vm upstream "guest run completed and the console has no kernel splat" \
		"$REPO/build/upstream/check-vm" --payload "$payload" --timeout 1800
}

# vfio: edu bound to vfio-pci; selftests/vfio_edu (edu DMA through mapped
# IOVAs, blocked writes to unmapped and read-only ones with their DMAR
# faults, the UNMAP_DMA protocol; TYPE1v2 and TYPE1) against type1, then
# with the module loaded (it must serve the container), then type1 again;
# then the timing, type1 and ours interleaved (scripts/vfio-vm.sh, guest side
# selftests/run-vfio.sh).  Timing rows are TAP comments, never tests.
stage_vfio() {
	local t=$RES/vfio.tap
	if ! make -s module >"$RES/vfio-build.log" 2>&1 || ! make -s -C selftests >>"$RES/vfio-build.log" 2>&1; then
		tap "$t" 1 "vfio: module and selftests build"
		tail -30 "$RES/vfio-build.log"
		return 1
	fi
	scripts/vfio-vm.sh --no-build --out "$REPO/build/vfio" --tap "$t" \
		--bench-md "$RES/vfio-bench.md" >"$RES/vfio.log" 2>&1
	local rc=$?
	tap "$t" $rc "vfio: guest run completed and the console has no kernel splat"
	((rc == 0)) || tail -60 "$RES/vfio.log"
	((rc == 0))
}

# The debug test kernel (scripts/build-test-kernel.sh: cached, only the
# first run on a machine builds it) and the module built against it
# (scripts/build-debug-module.sh, in a copy of the tree).  Sets $tk and
# $dko; on failure writes the stage's TAP line and returns 1.
debug_build() {
	local stage=$1 start=$SECONDS
	if ! tk=$(scripts/build-test-kernel.sh 2>"$RES/$stage-kernel.log"); then
		tap "$RES/$stage.tap" 1 "$stage: debug test kernel builds"
		tail -30 "$RES/$stage-kernel.log"
		return 1
	fi
	echo "# test kernel $tk ($((SECONDS - start)) s)" >>"$RES/$stage.tap"
	if ! dko=$(scripts/build-debug-module.sh "$REPO/build/debug/src" 2>"$RES/$stage-build.log") ||
		! make -s -C selftests >>"$RES/$stage-build.log" 2>&1 ||
		! scripts/upstream-selftests.sh "$REPO/build/upstream" >>"$RES/$stage-build.log" 2>&1; then
		tap "$RES/$stage.tap" 1 "$stage: module (against the test kernel) and selftests build"
		tail -30 "$RES/$stage-build.log"
		return 1
	fi
}

# Harness timeouts on the debug kernel: KASAN, lockdep and kmemleak under
# TCG make the slowest upstream tests take minutes (scripts/upstream-selftests.sh).
KSFT_TIMEOUT_SCALE=${KSFT_TIMEOUT_SCALE:-10}

# debug: everything of the module on the debug kernel, in one boot: KUnit,
# our VM suite with the stress test, the kernel's own iommufd and
# iommufd_fail_nth selftests, rmmod, then a kmemleak scan
# (selftests/run-debug.sh).  Any KASAN, lockdep, kmemleak, WARN or BUG
# report fails it.  KUnit's results come from the console (KTAP).
stage_debug() {
	local tk dko payload=$REPO/build/debug/payload out=$REPO/build/debug/vm
	debug_build debug || return 1
	make_payload "$payload" "$dko"
	# vm-run.sh runs /payload/run.sh: the debug runner takes that name and
	# calls the VM suite's runner as run-vm.sh.
	mv "$payload/run.sh" "$payload/run-vm.sh"
	cp selftests/run-debug.sh "$payload/run.sh"
	cp selftests/run-upstream.sh "$payload/"
	mkdir -p "$payload/upstream"
	cp build/upstream/bin/iommufd build/upstream/bin/iommufd_fail_nth "$payload/upstream/"
	echo "$KSFT_TIMEOUT_SCALE" >"$payload/timeout-scale"
	# The VFIO backend on a real (emulated) IOMMU under KASAN and lockdep:
	# the edu DMA test of the vfio stage, without its timing.  The test
	# kernel has no interrupt remapping, so both backends are told to
	# accept that; its vfio.ko pulls in the kernel's own iommufd.ko, which
	# takes /dev/iommu, so the module's node gets another name.
	cp build/selftests/vfio_edu selftests/run-vfio.sh "$payload/"
	printf 'BENCH_PASSES=0\nINSMOD_ARGS="allow_unsafe_interrupts=1 devname=iommu_cxx"\nTYPE1_ARGS=allow_unsafe_interrupts=1\n' \
		>"$payload/vfio.conf"
	local rc=0
	# N: KUnit ran; U: run-vm.sh's no-IOMMU VFIO container (iommufd_vfio).
	scripts/vm-run.sh --out "$out" --payload "$payload" --ok-taint NU \
		--kernel "$tk/arch/x86/boot/bzImage" --modroot "$tk/modroot" \
		--qemu-args "-device intel-iommu,caching-mode=on -device edu" \
		--append "intel_iommu=on iommu.passthrough=0" \
		--kmods-avail "vfio-pci vfio_iommu_type1" \
		--timeout 3600 >"$RES/debug.log" 2>&1 || rc=$?
	cat "$out/tap.txt" >>"$RES/debug.tap" 2>/dev/null
	scripts/ktap-to-tap.sh "$out/console.log" >>"$RES/debug.tap"
	tap "$RES/debug.tap" $rc "debug: guest run completed; no KASAN, lockdep, kmemleak or other splat"
	((rc == 0)) || tail -60 "$RES/debug.log"
	((rc == 0))
}

# reference: the same upstream selftests, same harness, same
# kernel, against the kernel's own iommufd (iommufd.ko with IOMMUFD_TEST).
# Its results are the other column of the table in build/results/
# upstream-table.md (scripts/upstream-table.sh), not this module's: they are
# kept out of the pass/fail count; only a run that could not complete counts.
stage_reference() {
	local tk payload=$REPO/build/debug/ref-payload out=$REPO/build/debug/ref-vm
	if ! tk=$(scripts/build-test-kernel.sh 2>"$RES/reference-kernel.log") ||
		! scripts/upstream-selftests.sh "$REPO/build/upstream" >"$RES/reference-build.log" 2>&1; then
		tap "$RES/reference.tap" 1 "reference: test kernel and upstream selftests build"
		return 1
	fi
	rm -rf "$payload" && mkdir -p "$payload/upstream"
	cp build/upstream/bin/iommufd build/upstream/bin/iommufd_fail_nth "$payload/upstream/"
	cp selftests/run-upstream.sh "$payload/"
	printf '#!/bin/sh\nREFERENCE=1 UPSTREAM_TESTS=upstream KSFT_TIMEOUT_SCALE=%s exec sh /payload/run-upstream.sh\n' \
		"$KSFT_TIMEOUT_SCALE" >"$payload/run.sh"
	chmod +x "$payload/run.sh"
	local rc=0
	scripts/vm-run.sh --out "$out" --payload "$payload" --kmods-avail iommufd \
		--kernel "$tk/arch/x86/boot/bzImage" --modroot "$tk/modroot" \
		--timeout 3600 >"$RES/reference.log" 2>&1 || rc=$?
	cp "$out/tap.txt" "$RES/reference.txt" 2>/dev/null || : >"$RES/reference.txt"
	# Completed (exit marker seen) is what counts here; a splat of the
	# kernel's own iommufd is reported, not held against this module.
	local done=1
	grep -q 'VM-RUN-EXIT=0' "$out/console.log" 2>/dev/null && done=0
	tap "$RES/reference.tap" $done "reference: the kernel's own iommufd ran the upstream selftests to the end"
	((rc == 0)) || echo "# reference: vm-run.sh exit $rc (a splat of the in-kernel iommufd?) - see $out/console.log" >>"$RES/reference.tap"
	if [[ -s $RES/debug.tap ]]; then
		scripts/upstream-table.sh "$RES/debug.tap" "$RES/reference.txt" >"$RES/upstream-table.md"
		sed 's/^/# /' "$RES/upstream-table.md" >>"$RES/reference.tap"
	fi
	((done == 0))
}

status=0
for s in "${stages[@]}"; do
	rm -f "$RES/$s.tap"
	echo "== $s"
	if ! "stage_$s"; then
		status=1
		[[ $s == deps ]] && break
	fi
	[[ -f $RES/$s.tap ]] && grep -E '^(not )?ok' "$RES/$s.tap" | sed 's/^/   /'
done
files=()
for s in "${stages[@]}"; do [[ -f $RES/$s.tap ]] && files+=("$RES/$s.tap"); done
scripts/tap-summary.sh "${files[@]}" || status=1
exit $status
