#!/usr/bin/env bash
# kunit.sh [OUTDIR] — the module's own KUnit suites (module/kunit/: iommufd_cxx_pages,
# iommufd_cxx_iopt, iommufd_cxx_runtime) on the debug test kernel, which has KUnit
# (Debian's kernel does not, and the module built for it has no KUnit code):
#   1. the test kernel, built once into a cache (scripts/build-test-kernel.sh);
#   2. the module built against it in a copy of the tree (kbuild builds in place, and
#      the stock build's objects in the repo must stay as they are);
#   3. a VM boot (scripts/vm-run.sh) whose guest loads the module with kunit=1 (the
#      suites run inside insmod and print KTAP to the kernel log), checks that nothing
#      is left alive afterwards, and unloads it;
#   4. the KTAP in the console turned into TAP (scripts/ktap-to-tap.sh).
# Prints TAP on stdout: the guest's lines, one line per KUnit case, and a last line for
# the VM run (completed; the console has no splat: KASAN, lockdep, kmemleak, WARN; the
# TEST taint N that running KUnit sets is expected). Also in OUTDIR/kunit.tap.
# OUTDIR defaults to build/kunit; the console log is OUTDIR/vm/console.log and the
# build log OUTDIR/build.log. Exit 0 if every line is "ok", else 1.
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$REPO/build/kunit}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TAP=$OUT/kunit.tap
: > "$TAP"
say() { echo "$*" | tee -a "$TAP"; }
fail_setup() { say "not ok - kunit: $1"; tail -30 "$2" | sed 's/^/# /' | tee -a "$TAP"; exit 1; }

tk=$("$REPO/scripts/build-test-kernel.sh" 2>"$OUT/kernel.log") ||
    fail_setup "debug test kernel builds" "$OUT/kernel.log"

ko=$("$REPO/scripts/build-debug-module.sh" "$OUT/src" 2>"$OUT/build.log") ||
    fail_setup "iommufd_cxx.ko builds against the debug test kernel" "$OUT/build.log"

payload=$OUT/payload
rm -rf "$payload" && mkdir -p "$payload"
cp "$ko" "$payload/"
cat > "$payload/run.sh" <<'EOF'
#!/bin/sh
# Guest side of scripts/kunit.sh. The suites run inside insmod (kunit=1).
if insmod /payload/iommufd_cxx.ko kunit=1; then
    echo "ok - kunit: insmod iommufd_cxx.ko kunit=1"
else
    echo "not ok - kunit: insmod iommufd_cxx.ko kunit=1"
    exit 1
fi
rc=0
p=/sys/module/iommufd_cxx/parameters
if [ ! -e $p/kunit ]; then
    echo "not ok - kunit: the module has no kunit parameter (built without CONFIG_KUNIT?)"
    rc=1
fi
objs=$(cat $p/live_objects) allocs=$(cat $p/live_allocs)
if [ "$objs" = 0 ] && [ "$allocs" = 0 ]; then
    echo "ok - kunit: nothing alive after the suites"
else
    echo "not ok - kunit: alive after the suites: $objs objects, $allocs heap blocks"
    rc=1
fi
if rmmod iommufd_cxx; then
    echo "ok - kunit: rmmod iommufd_cxx"
else
    echo "not ok - kunit: rmmod iommufd_cxx"
    rc=1
fi
exit $rc
EOF
chmod +x "$payload/run.sh"

"$REPO/scripts/vm-run.sh" --out "$OUT/vm" --payload "$payload" \
    --kernel "$tk/arch/x86/boot/bzImage" --modroot "$tk/modroot" \
    --ok-taint N --timeout "${KUNIT_TIMEOUT:-900}" >"$OUT/vm.log" 2>&1
vm_rc=$?

status=0
cat "$OUT/vm/tap.txt" 2>/dev/null | tee -a "$TAP"
grep -q '^not ok' "$OUT/vm/tap.txt" 2>/dev/null && status=1
if [[ -r $OUT/vm/console.log ]]; then
    "$REPO/scripts/ktap-to-tap.sh" "$OUT/vm/console.log" | tee -a "$TAP"
    ((PIPESTATUS[0] == 0)) || status=1
else
    say "not ok - kunit: no console log from the VM"
    status=1
fi
if ((vm_rc == 0)); then
    say "ok - kunit: VM run completed; no KASAN, lockdep, kmemleak or other splat"
else
    say "not ok - kunit: VM run completed; no KASAN, lockdep, kmemleak or other splat (vm-run.sh exit $vm_rc)"
    grep -A14 -E '^splat-scan|FAIL' "$OUT/vm.log" | head -60 | sed 's/^/# /' | tee -a "$TAP"
    status=1
fi
exit $status
