#!/usr/bin/env bash
# upstream-table.sh OURS.tap REFERENCE.tap - the side-by-side table of the
# kernel's own iommufd selftests: this module (the debug stage's TAP) and
# the test kernel's in-kernel iommufd (the reference stage's TAP), same
# kernel, same harness, same filter, same make check run.
#
# Both files hold selftests/run-upstream.sh output: each binary's kselftest
# TAP indented four spaces, then a line "ok - [TAG: ]BINARY exits N" (other
# binaries of our own suite may come before them in the same file).
# Counts the nested result lines of each binary: pass, fail, skip.
# Prints a Markdown table on stdout.
set -euo pipefail
(($# == 2)) || { echo "usage: upstream-table.sh OURS.tap REFERENCE.tap" >&2; exit 2; }

counts() { # counts FILE BINARY -> "pass fail skip" or "- - -" if it did not run
	awk -v bin="$2" '
		/^    (not )?ok [0-9]+ / {
			if ($0 ~ /# *[Ss][Kk][Ii][Pp]/) s++
			else if ($0 ~ /^    not ok/) f++
			else p++
			next
		}
		/^(not )?ok - .* exits / {
			name = $0
			sub(/ exits .*/, "", name)
			sub(/.* /, "", name)
			if (name == bin) { print p + 0, f + 0, s + 0; found = 1; exit }
			p = f = s = 0
		}
		END { if (!found) print "- - -" }
	' "$1"
}

echo "| upstream selftest (Linux 6.12) | iommufd_cxx: pass / fail / skip | in-kernel iommufd: pass / fail / skip |"
echo "|---|---|---|"
for b in iommufd iommufd_fail_nth; do
	read -r op of os <<<"$(counts "$1" "$b")"
	read -r rp rf rs <<<"$(counts "$2" "$b")"
	echo "| \`$b\` | $op / $of / $os | $rp / $rf / $rs |"
done
