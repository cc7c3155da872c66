#!/usr/bin/env bash
# check.sh - everything `make check` runs, in order, on a fresh machine:
#   deps    install what the build and the VM need (scripts/deps.sh)
#   abi     uapi/iommufd.h against Debian's 6.12 uapi header (compile time)
#   build   iommufd_cxx.ko with W=1: no compiler, objtool or modpost warning;
#           the .ko passes scripts/check-ko.sh, which must also reject bad
#           objects (a global constructor, a missing __cxa_pure_virtual)
#   unit    hosted GoogleTest suite of the portable C++ core (ASan+UBSan)
#   fuzz    libFuzzer over ioctl dispatch (FUZZ_SECONDS, default 30)
#   vm      Debian's 6.12 kernel under QEMU: insmod, selftests, rmmod, with
#           the console scanned for kernel splats
#   upstream the kernel's own iommufd selftests (Linux 6.12, built from
#           Debian's linux-source-6.12) against the module with test_abi=1:
#           every test but the VFIO-compat ones, which wait for the VFIO
#           personality and are reported as one SKIP line
#   debugvm (only when named) the same suite on the debug test kernel
#           (KASAN, lockdep, kmemleak, fault injection), built once into a
#           cache by scripts/build-test-kernel.sh
# Each stage writes TAP to build/results/<stage>.tap; the last line printed
# is "N passed, M failed" over all of them.  Exit status 0 only if nothing
# failed.  Stages to run can be named: scripts/check.sh unit vm
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
RES=$REPO/build/results
mkdir -p "$RES"
stages=("$@")
((${#stages[@]})) || stages=(deps abi build unit fuzz vm upstream)
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
	make -f tests/fuzz/fuzz.mk fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-30}" >"$RES/fuzz.log" 2>&1
	local rc=$?
	tap "$t" $rc "fuzz: ioctl dispatch, ${FUZZ_SECONDS:-30} s of libFuzzer with ASan/UBSan, no leak"
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
	run_vm vm "guest run completed and the console has no kernel splat" \
		"$REPO/build/vm" --payload "$payload" --timeout 600
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
		build/selftests/iommufd_pages "$1/tests/"
}

# The VFIO compatibility tests of the upstream suite: the VFIO personality
# (issue 5) serves them.  iommufd_fail_nth needs fault injection, which
# only the debug kernel has; on the stock kernel it skips itself.
UPSTREAM_VFIO_ARGS="-F vfio_compat_mock_domain -T simple_ioctls -T unmap_cmd -T map_cmd -T info_cmd -T set_iommu_cmd"

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
	echo "$UPSTREAM_VFIO_ARGS" >"$payload/iommufd.args"
	echo "vfio_compat_mock_domain.* and iommufd.{simple_ioctls,unmap_cmd,map_cmd,info_cmd,set_iommu_cmd} need the VFIO container personality (issue 5)" \
		>"$payload/iommufd.skip"
	run_vm upstream "guest run completed and the console has no kernel splat" \
		"$REPO/build/upstream/check-vm" --payload "$payload" --timeout 1800
}

stage_debugvm() {
	local t=$RES/debugvm.tap tk src=$REPO/build/debug/src
	if ! tk=$(scripts/build-test-kernel.sh 2>"$RES/debugvm-kernel.log"); then
		tap "$t" 1 "debugvm: test kernel builds"
		tail -30 "$RES/debugvm-kernel.log"
		return 1
	fi
	# kbuild builds in the source tree: build the module against the test
	# kernel in a copy, so the stock build's objects stay as they are.
	mkdir -p "$src"
	tar -C "$REPO" --exclude=./build --exclude=./.git -cf - . | tar -C "$src" -xf -
	if ! make -C "$src" module KDIR="$tk" >"$RES/debugvm-build.log" 2>&1 ||
		! make -s -C selftests >>"$RES/debugvm-build.log" 2>&1; then
		tap "$t" 1 "debugvm: module builds against the test kernel"
		tail -30 "$RES/debugvm-build.log"
		return 1
	fi
	make_payload "$REPO/build/debug/payload" "$src/iommufd_cxx.ko"
	run_vm debugvm "guest run completed; no KASAN, lockdep, kmemleak or other splat" \
		"$REPO/build/debug/vm" --payload "$REPO/build/debug/payload" \
		--kernel "$tk/arch/x86/boot/bzImage" --modroot "$tk/modroot" --timeout 1200
}

# The upstream suite (all of it, fail_nth included: fault injection is on)
# on the debug test kernel; only when named, like debugvm.
stage_debugupstream() {
	local t=$RES/debugupstream.tap tk src=$REPO/build/debug/src payload=$REPO/build/debug/upstream-payload
	if ! tk=$(scripts/build-test-kernel.sh 2>"$RES/debugupstream-kernel.log"); then
		tap "$t" 1 "debugupstream: test kernel builds"
		return 1
	fi
	mkdir -p "$src"
	tar -C "$REPO" --exclude=./build --exclude=./.git -cf - . | tar -C "$src" -xf -
	if ! make -C "$src" module KDIR="$tk" >"$RES/debugupstream-build.log" 2>&1 ||
		! scripts/upstream-selftests.sh "$REPO/build/upstream" >>"$RES/debugupstream-build.log" 2>&1; then
		tap "$t" 1 "debugupstream: module and upstream selftests build"
		tail -30 "$RES/debugupstream-build.log"
		return 1
	fi
	rm -rf "$payload" && mkdir -p "$payload/tests"
	cp "$src/iommufd_cxx.ko" "$payload/"
	cp selftests/run-upstream.sh "$payload/run.sh"
	cp build/upstream/bin/iommufd build/upstream/bin/iommufd_fail_nth "$payload/tests/"
	echo "$UPSTREAM_VFIO_ARGS" >"$payload/iommufd.args"
	echo "the VFIO container personality (issue 5)" >"$payload/iommufd.skip"
	run_vm debugupstream "guest run completed; no KASAN, lockdep, kmemleak or other splat" \
		"$REPO/build/debug/upstream-vm" --payload "$payload" \
		--kernel "$tk/arch/x86/boot/bzImage" --modroot "$tk/modroot" --timeout 3000
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
