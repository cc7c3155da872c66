#!/usr/bin/env bash
# tap-summary.sh FILE... — count the test results in TAP/KTAP files and print one line
# per file, the failed tests, and a last line exactly
#     N passed, M failed            (", K skipped" appended when K > 0)
# Exit status: 1 if M > 0 or no test ran (N + M == 0, e.g. all skipped); 2 on usage.
#
# What is counted — leaf test cases, at any nesting depth:
#   * A result line is "ok [N] ..." or "not ok [N] ..." (the number is optional, as
#     TAP allows), after stripping its nesting prefix:
#     any mix of "# " (kselftest runner nesting) and 4-space indentation (KTAP/KUnit).
#     The depth is the number of prefixes stripped.
#   * A result at depth d that closes results at deeper depths (kselftest's
#     "ok 1 selftests: iommu: iommufd", KUnit's "ok 1 <suite>") is an aggregate, not a
#     test: it is not counted — except that a failed aggregate whose children show no
#     failure (the test binary crashed, timed out, or exited non-zero after its last
#     result) counts as one failure.
#   * "# SKIP" in the directive → skipped; "not ok ... # TODO" → skipped (expected
#     failure); "ok ... # XFAIL" → passed. "1..0 # SKIP reason" → one skipped.
#   * A plan "1..N" that does not match the number of results at its depth (when the
#     stream ends: at its aggregate line, a new "TAP version"/plan at that depth, or
#     EOF) counts as one failure ("planned N, ran M"): a test binary that died midway
#     (once, even if its aggregate line failed too).
#   * A leading printk timestamp "[    3.141592] " is ignored, so KUnit KTAP can be read
#     straight from a console log.
#   * "Bail out!" counts as one failure. A FILE that does not exist counts as one failure.
# Harness summary lines ("# Totals: ...", "# PASSED: ...") and diagnostics are ignored.
set -euo pipefail

(($#)) || { echo "usage: tap-summary.sh FILE..." >&2; exit 2; }

total_pass=0 total_fail=0 total_skip=0
for f in "$@"; do
    if [[ ! -r $f ]]; then
        echo "$f: MISSING (counted as 1 failure)"
        total_fail=$((total_fail + 1))
        continue
    fi
    # The awk prints "RESULT pass fail skip" as its last line, the details before it.
    out=$(tr -d '\r' < "$f" | awk '
        BEGIN { maxdepth = 0; pass = 0; fail = 0; skip = 0; np = 0; nf = 0 }
        # End the stream at depth d; returns 1 (and counts a failure) if its plan is off.
        function close_stream(d,   bad) {
            bad = 0
            if (plan[d] != "" && plan[d] != count[d]) {
                problems[++np] = sprintf("planned %d, ran %d (depth %d)", plan[d], count[d], d)
                fail++; bad = 1
            }
            plan[d] = ""; count[d] = 0
            return bad
        }
        # Close every stream deeper than d (they ended with the line at depth d).
        function close_deeper(d,   k, bad) {
            bad = 0
            for (k = maxdepth; k > d; k--) {
                if (close_stream(k)) bad = 1
                deeper_fail[k] = 0; children[k] = 0
            }
            if (maxdepth > d) maxdepth = d
            return bad
        }
        {
            line = $0; depth = 0
            sub(/^\[ *[0-9]+\.[0-9]+\] /, "", line)   # printk timestamp (KTAP from a console log)
            while (1) {
                if (substr(line, 1, 2) == "# ") { line = substr(line, 3); depth++ }
                else if (substr(line, 1, 4) == "    ") { line = substr(line, 5); depth++ }
                else if (substr(line, 1, 1) == "\t") { line = substr(line, 2); depth++ }
                else break
            }
        }
        line ~ /^(TAP|KTAP) version / {
            if (count[depth] > 0) close_stream(depth)
            close_deeper(depth)
            next
        }
        line ~ /^1\.\.[0-9]+/ {
            n = line; sub(/^1\.\./, "", n); n = n + 0
            if (plan[depth] != "" && count[depth] > 0) close_stream(depth)
            if (n == 0 && line ~ /# *[Ss][Kk][Ii][Pp]/) { skip++; next }
            plan[depth] = n
            if (depth > maxdepth) maxdepth = depth
            next
        }
        line ~ /^Bail out!/ { problems[++np] = line; fail++; next }
        line ~ /^(not )?ok([ \t]|$)/ {
            if (depth > maxdepth) maxdepth = depth
            aggregate = (children[depth] > 0)
            child_failed = deeper_fail[depth]
            children[depth] = 0; deeper_fail[depth] = 0
            plan_failed = close_deeper(depth)
            count[depth]++
            for (k = 0; k < depth; k++) children[k]++
            failed = (line ~ /^not ok/)
            directive = ""
            if (match(line, / # *[A-Za-z]+/)) directive = toupper(substr(line, RSTART, RLENGTH))
            if (directive ~ /SKIP/) kind = "skip"
            else if (failed && directive ~ /TODO/) kind = "skip"
            else kind = failed ? "fail" : "pass"
            if (kind == "fail") for (k = 0; k < depth; k++) deeper_fail[k] = 1
            if (aggregate) {
                # A crash shows as a failed aggregate and often a short plan: count it once.
                if (kind == "fail" && !child_failed) {
                    if (!plan_failed) fail++
                    failed_names[++nf] = line " (aggregate; its tests show no failure)"
                }
                next
            }
            if (kind == "pass") pass++
            else if (kind == "skip") skip++
            else { fail++; failed_names[++nf] = line }
            next
        }
        END {
            for (k = maxdepth; k >= 0; k--) close_stream(k)
            for (i = 1; i <= nf && i <= 50; i++) print "  FAILED: " failed_names[i]
            if (nf > 50) printf "  ... and %d more failed\n", nf - 50
            for (i = 1; i <= np; i++) print "  PROBLEM: " problems[i]
            printf "RESULT %d %d %d\n", pass, fail, skip
        }')
    read -r _ p m s <<< "$(tail -n1 <<< "$out")"
    line="$f: $p passed, $m failed"
    ((s > 0)) && line+=", $s skipped"
    ((p + m + s == 0)) && line+=" (no results)"
    echo "$line"
    sed '$d' <<< "$out"
    total_pass=$((total_pass + p)) total_fail=$((total_fail + m)) total_skip=$((total_skip + s))
done

summary="$total_pass passed, $total_fail failed"
((total_skip > 0)) && summary+=", $total_skip skipped"
echo "$summary"
((total_fail == 0 && total_pass + total_fail > 0))
