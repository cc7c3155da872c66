#!/usr/bin/env bash
# test.sh — self-test of scripts/ktap-to-tap.sh on sample console logs; prints TAP.
#   pass.log  a real debug-kernel console (module loaded with kunit=1), edited to have
#             one SKIP, an interleaved kernel message, another module's suite (ignored),
#             and vm-run.sh's dmesg copy of it all (read once)
#   fail.log  a real console with deliberately broken expectations (their KUnit
#             messages span two lines, one unindented), a suite that reports fewer cases
#             than it planned, and one the log ends in (a crash)
#   none.log  no iommufd_cxx suite (the module built without KUnit ignores kunit=1)
# Each must give its .tap exactly, with exit status 0 for pass and 1 for the others;
# pass.log without timestamps must give pass.tap too, tap-summary.sh must count the
# pass output, and a missing log is a usage error (2).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
K2T=$HERE/../../scripts/ktap-to-tap.sh
SUMMARY=$HERE/../../scripts/tap-summary.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

check() { # check NAME WANT-RC LOG EXPECTED-TAP
    local got rc
    got=$("$K2T" "$3" 2>&1)
    rc=$?
    if [[ $rc == "$2" && $got == "$(cat "$4")" ]]; then
        echo "ok - ktap-to-tap: $1"
    else
        echo "not ok - ktap-to-tap: $1 (exit $rc, want $2)"
        diff <(echo "$got") "$4" | sed 's/^/# /'
        failures=$((failures + 1))
    fi
}

check "pass.log: every case ok, the SKIP kept, the rest ignored" 0 "$HERE/pass.log" "$HERE/pass.tap"
check "fail.log: failures with their messages, short and cut-off suites" 1 "$HERE/fail.log" "$HERE/fail.tap"
check "none.log: no iommufd_cxx suite is one not ok line" 1 "$HERE/none.log" "$HERE/none.tap"

# printk.time=0: no timestamps to strip (and no dmesg copy to tell apart).
sed -n '/^VM-RUN-DMESG-BEGIN/q; s/^\[ *[0-9]*\.[0-9]*\] \{0,1\}//; p' "$HERE/pass.log" > "$tmp/notime.log"
check "pass.log without timestamps" 0 "$tmp/notime.log" "$HERE/pass.tap"

"$K2T" "$HERE/pass.log" > "$tmp/pass.out"
if "$SUMMARY" "$tmp/pass.out" | tail -n1 | grep -qx '14 passed, 0 failed, 1 skipped'; then
    echo "ok - ktap-to-tap: tap-summary.sh counts its output (14 passed, 1 skipped)"
else
    echo "not ok - ktap-to-tap: tap-summary.sh counts its output (14 passed, 1 skipped)"
    "$SUMMARY" "$tmp/pass.out" | sed 's/^/# /'
    failures=$((failures + 1))
fi

"$K2T" "$tmp/no-such.log" >/dev/null 2>&1
rc=$?
if [[ $rc == 2 ]]; then
    echo "ok - ktap-to-tap: a missing log is a usage error"
else
    echo "not ok - ktap-to-tap: a missing log is a usage error (exit $rc)"
    failures=$((failures + 1))
fi
((failures == 0))
