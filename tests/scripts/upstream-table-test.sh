#!/usr/bin/env bash
# upstream-table-test.sh - self-test of scripts/upstream-table.sh: counts
# per binary from run-upstream.sh-style TAP, other binaries' results (and a
# "TAG: " prefix) not mixed in, a binary that did not run shown as "-".
# Prints TAP; exit status non-zero on any failure.
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # check DESCRIPTION EXPECTED ACTUAL
	if [[ $2 == "$3" ]]; then echo "ok - upstream-table: $1"; else
		echo "not ok - upstream-table: $1"; echo "# expected: $2"; echo "# got:      $3"; fail=1; fi
}

cat >"$tmp/ours.tap" <<'T'
TAP version 13
    ok 1 basic.one
    not ok 2 basic.two
ok - test_abi=1: iommufd_basic exits 0
ok - insmod iommufd_cxx.ko test_abi=1
    1..3
    ok 1 a.b
    not ok 2 a.c
    ok 3 a.d # SKIP no
not ok - iommufd exits 1
    1..2
    ok 1 x
    ok 2 y
ok - iommufd_fail_nth exits 0
T
cat >"$tmp/ref.tap" <<'T'
ok - reference: load the kernel's iommufd.ko
    ok 1 a.b
    ok 2 a.c
ok - reference: iommufd exits 0
T
out=$("$REPO/scripts/upstream-table.sh" "$tmp/ours.tap" "$tmp/ref.tap")
check "iommufd row" '| `iommufd` | 1 / 1 / 1 | 2 / 0 / 0 |' "$(grep '`iommufd`' <<<"$out")"
check "a binary that did not run" '| `iommufd_fail_nth` | 2 / 0 / 0 | - / - / - |' \
	"$(grep '`iommufd_fail_nth`' <<<"$out")"
exit $fail
