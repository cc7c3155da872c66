#!/usr/bin/env bash
# ktap-to-tap.sh CONSOLE_LOG — turn the KTAP that KUnit printed for the module's own
# suites (iommufd_cxx_*, module/kunit/) into one TAP line per test case, for
# tap-summary.sh and the check summary:
#     ok - kunit: <suite>.<case>
#     ok - kunit: <suite>.<case> # SKIP <reason>
#     not ok - kunit: <suite>.<case>         (then its KUnit diagnostics as "# " lines)
# plus one "not ok" line for each suite that did not run to its end (the plan says more
# cases than were reported, or the log stops before the suite's result line: a crash or
# a hang), and for a suite KUnit failed with no failing case (e.g. its init failed).
# If the log has no iommufd_cxx suite at all, prints exactly
#     not ok - kunit: no KTAP from the iommufd_cxx suites in the console
#
# The console's printk timestamps ("[   12.345678] ") are stripped, and kernel messages
# interleaved with the KTAP never break it: outside the suites they are ignored, inside a
# case (between two results) they are kept with KUnit's messages as its diagnostics. Other KUnit suites in
# the log are ignored. A timestamped line that comes again (a dmesg dump after the run)
# is read once; a suite run twice (re-run through debugfs) is reported twice.
# Exit status: 0 if every line printed is "ok", 1 otherwise, 2 on usage errors.
set -euo pipefail

if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
fi
[[ -r $1 ]] || { echo "ktap-to-tap.sh: cannot read $1" >&2; exit 2; }

tr -d '\r' < "$1" | awk '
    # Suite state: name (empty when outside one), the indent of its cases, its plan,
    # the results seen, and the diagnostics since the last result.
    function start_suite(n, ind) {
        suite = n; indent = ind; plan = -1; seen = 0; failed = 0; ndiag = 0; found = 1
    }
    function print_diag(d) {
        sub(/^# /, "", d)
        print "# " d
    }
    function emit(line) {
        print line
        if (line ~ /^not ok/) bad = 1
    }
    # At most one line for the suite itself, with what it printed after its last case.
    function end_suite(aggregate_ok, closed,   why) {
        why = ""
        if (!closed)
            why = ": the log ends after " seen " of " (plan >= 0 ? plan : "?") \
                  " cases (crash or hang?)"
        else if (plan >= 0 && seen != plan)
            why = ": planned " plan " cases, " seen " reported"
        else if (!aggregate_ok && !failed)
            why = " (KUnit failed the suite itself)"
        if (why != "") {
            emit("not ok - kunit: " suite why)
            for (i = 1; i <= ndiag && i <= 30; i++) print_diag(diag[i])
        }
        suite = ""
    }
    # A timestamped line seen before is a copy (vm-run.sh dumps dmesg after the run when
    # the kernel is tainted, and KUnit taints it): skip it.
    /^\[ *[0-9]+\.[0-9]+\]/ {
        if ($0 in printed) next
        printed[$0] = 1
    }
    {
        line = $0
        sub(/^\[ *[0-9]+\.[0-9]+\] ?/, "", line)
        match(line, /^ */)
        ind = RLENGTH
        body = substr(line, ind + 1)
    }
    # "# Subtest: iommufd_cxx_pages" opens a suite of ours (another one closes it).
    body ~ /^# Subtest: / {
        name = body
        sub(/^# Subtest: /, "", name)
        sub(/[ \t].*$/, "", name)
        if (suite != "" && ind <= indent) end_suite(0, 0)
        if (name ~ /^iommufd_cxx/) start_suite(name, ind)
        next
    }
    suite == "" { next }
    # The plan of the suite.
    ind == indent && body ~ /^1\.\.[0-9]+/ {
        if (plan < 0) { plan = body; sub(/^1\.\./, "", plan); plan = plan + 0 }
        next
    }
    # A result: a case (at the suite indent) or the suite itself (shallower).
    body ~ /^(not )?ok [0-9]+ / {
        ok = body !~ /^not /
        rest = body
        sub(/^(not )?ok [0-9]+ /, "", rest)
        directive = ""
        if (match(rest, / # /)) {
            directive = substr(rest, RSTART + 3)
            rest = substr(rest, 1, RSTART - 1)
        }
        sub(/[ \t]+$/, "", rest)
        if (ind == indent) {
            seen++
            out = (ok ? "ok" : "not ok") " - kunit: " suite "." rest
            if (directive ~ /^(SKIP|TODO)/) {
                sub(/^(SKIP|TODO)/, "& ", directive)
                sub(/  +/, " ", directive)
                sub(/ $/, "", directive)
                out = out " # " directive
            }
            emit(out)
            if (!ok) {
                failed++
                for (i = 1; i <= ndiag && i <= 30; i++) print_diag(diag[i])
            }
            ndiag = 0
            next
        }
        if (ind < indent && rest == suite) {
            end_suite(ok, 1)
            next
        }
    }
    # Anything else inside the suite is a diagnostic of the case running now, whatever
    # its indent: KUnit prints an expectation message as one record of several lines
    # of which only the first is indented, and a splat during a case belongs to it too.
    body != "" && body !~ /^KTAP version/ && body !~ /^# (Totals|module):/ {
        diag[++ndiag] = body
    }
    END {
        if (suite != "") end_suite(0, 0)
        if (!found) {
            print "not ok - kunit: no KTAP from the iommufd_cxx suites in the console"
            exit 1
        }
        exit bad
    }
'
