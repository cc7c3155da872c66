#!/usr/bin/env bash
# splat-scan.sh [--ok-taint LETTERS] LOG... — scan kernel console logs for splats: WARN,
# BUG, Oops, panics, KASAN/UBSAN/kmemleak reports, lockdep reports, refcount and list
# corruption, stalls and hung tasks, and any taint other than O (out-of-tree module) and
# E (unsigned module). --ok-taint allows more taint letters, e.g. N (TAINT_TEST, which
# running KUnit suites sets).
# Taints are read from "Tainted: ..." report lines and from the VM-RUN-TAINT=<mask> line
# that vm-run.sh's guest prints at the end. Prints each offending line with context.
# Exit 0 = clean, 1 = splat found, 2 = usage error. Every line is scanned, test output
# included: a test that prints e.g. "WARNING:" fails the run too.
set -euo pipefail

# Taint letters of Documentation/admin-guide/tainted-kernels.rst, by bit.
TAINT_LETTERS=PFSRMBUDAWCIOELKXTN
EXTRA_OK=""
if [[ ${1-} == --ok-taint ]]; then
    (($# >= 2)) && [[ $2 =~ ^[A-Z]*$ ]] || { echo "splat-scan.sh: --ok-taint wants letters" >&2; exit 2; }
    EXTRA_OK=$2
    shift 2
fi
(($#)) || { echo "usage: splat-scan.sh [--ok-taint LETTERS] LOG..." >&2; exit 2; }

PATTERNS=(
    'WARNING:'                      # WARN_ON, lockdep "WARNING: possible ..." reports
    'BUG:'                          # BUG(), sleeping in atomic, soft lockup, KASAN
    'kernel BUG at'
    '\bOops\b'
    'KASAN'
    'UBSAN'
    'general protection fault'
    'Unable to handle kernel'
    'Kernel panic'
    'Call Trace:'
    'refcount_t:'
    'list_(add|del) corruption'
    'possible recursive locking'
    'INFO: possible'                # lockdep
    'INFO: trying to register non-static key'
    'INFO: task .* blocked for more than'
    'INFO: rcu'                     # RCU stalls
    'rcu: .*self-detected stall'
    'DEBUG_LOCKS_WARN_ON'
    'unreferenced object 0x'        # kmemleak
    'kmemleak: .*suspected memory leak'
    'stack-protector: Kernel stack is corrupted'
)
# Taint letters allowed in "Tainted:" lines; G is "not proprietary", a placeholder.
OK_TAINT_LETTERS="GOE$EXTRA_OK"
# /proc/sys/kernel/tainted bits allowed: O = 1<<12, E = 1<<13, and --ok-taint's.
OK_TAINT_MASK=$(( (1 << 12) | (1 << 13) ))
for ((i = 0; i < ${#EXTRA_OK}; i++)); do
    bit=${TAINT_LETTERS%%"${EXTRA_OK:i:1}"*}
    ((${#bit} < ${#TAINT_LETTERS})) || { echo "splat-scan.sh: no taint letter ${EXTRA_OK:i:1}" >&2; exit 2; }
    OK_TAINT_MASK=$(( OK_TAINT_MASK | (1 << ${#bit}) ))
done

regex=$(IFS='|'; echo "${PATTERNS[*]}")
bad=0
for log in "$@"; do
    [[ -r $log ]] || { echo "splat-scan.sh: cannot read $log" >&2; exit 2; }
    # One awk pass: remember the offending line numbers, then print them in merged
    # windows of context (2 lines before, 12 after), at most 30 windows.
    report=$(tr -d '\r' < "$log" | awk -v re="$regex" -v ok="$OK_TAINT_LETTERS" '
        { line[NR] = $0 }
        function taint_bad(s,   flags) {
            # "Tainted: G        W  OE      6.12.117+deb12-amd64 #1" (report header)
            if (match(s, /Tainted: [A-Z ]+ [0-9]/)) {
                flags = substr(s, RSTART + 9, RLENGTH - 10)
                gsub("[ " ok "]", "", flags)
                if (flags != "") return 1
            }
            # "Tainted: [W]=WARN, [O]=OOT_MODULE" (6.12 report line)
            if (s ~ /Tainted: \[/) {
                flags = s; sub(/.*Tainted: /, "", flags)
                gsub(/\]=[A-Z_]+/, "", flags); gsub(/[\[, ]/, "", flags)
                gsub("[" ok "]", "", flags)
                if (flags != "") return 1
            }
            return 0
        }
        $0 ~ re || taint_bad($0) { hit[++nhits] = NR }
        END {
            shown = 0; last = 0
            for (i = 1; i <= nhits && shown < 30; i++) {
                from = hit[i] - 2; if (from < 1) from = 1
                if (from <= last) from = last + 1
                to = hit[i] + 12; if (to > NR) to = NR
                if (from > to) continue
                if (from > last + 1 || last == 0) { printf "---- line %d\n", hit[i]; shown++ }
                for (n = from; n <= to; n++) print line[n]
                last = to
            }
            if (nhits > 0) printf "---- %d offending line(s)\n", nhits
        }')
    mask=$(tr -d '\r' < "$log" | grep -oE 'VM-RUN-TAINT=[0-9]+' | tail -n1 | cut -d= -f2 || true)
    if [[ -n $mask ]] && (( mask & ~OK_TAINT_MASK )); then
        [[ -n $report ]] && report+=$'\n'
        report+="---- kernel taint mask $mask has flags other than O/E${EXTRA_OK:+/$EXTRA_OK}"
        report+=" (Documentation/admin-guide/tainted-kernels.rst)"
    fi
    if [[ -n $report ]]; then
        bad=1
        echo "splat-scan: $log: kernel splat(s) found:"
        echo "$report"
    fi
done
exit $bad
