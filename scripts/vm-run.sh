#!/usr/bin/env bash
# vm-run.sh — boot Debian's 6.12 kernel under QEMU with a busybox initramfs, run a guest
# test script, and judge the run: the script's exit code plus a scan of the console for
# kernel splats (scripts/splat-scan.sh).
#
# Usage:
#   scripts/vm-run.sh --out DIR --payload DIR [--kver KVER] [--timeout SECS]
#                     [--kernel IMAGE --modroot DIR]
#                     [--mem 2G] [--smp 2] [--accel auto|tcg|kvm]
#                     [--qemu-args "..."] [--append "..."]
#                     [--kmods "NAME[:PARAM=VAL[:PARAM=VAL...]] ..."]
#                     [--kmods-avail "NAME ..."] [--ok-taint LETTERS] [--verbose]
#
#   --payload DIR  copied to /payload in the guest; /payload/run.sh is run there (from
#                  /payload, stdin /dev/null). Its stdout is the TAP stream: it goes to
#                  the console and, through a pipe, to a second serial port that becomes
#                  DIR/tap.txt free of interleaved kernel messages (C programs: stdout is
#                  a pipe, so line-buffer it). Dynamically linked ELF files in the payload
#                  get their shared libraries copied from the host.
#   --kmods        Debian in-tree modules (from /lib/modules/KVER; deps via modinfo) to
#                  place in the initramfs and load, dependencies first, before run.sh.
#   --kmods-avail  modules only placed, for run.sh to load with `load-kmod NAME [PARAM=VAL...]`
#                  (load-kmod also works for --kmods ones; softdeps are not followed).
#   --kernel       boot this image instead of Debian's /boot/vmlinuz-KVER (the debug
#                  test kernel); --modroot: its INSTALL_MOD_PATH, where --kmods are
#                  looked up (KVER defaults to the one release found there).
#   --accel        auto (default): KVM only if /dev/kvm works for a probe boot of this
#                  kernel (result remembered per host boot in /tmp), else TCG -cpu max.
#   --append       extra kernel command line;  --qemu-args: extra QEMU arguments (word-split).
#   --ok-taint     taint letters the splat scan accepts besides O and E (e.g. N: KUnit ran).
#   --verbose      also stream the console to stderr while the guest runs.
#
# Writes DIR/console.log (whole serial console, CR stripped), DIR/tap.txt (run.sh's
# stdout), DIR/initramfs.cpio.gz, DIR/qemu-cmd.txt (to rerun by hand); temp files only
# under DIR. Exit status: 0 = guest printed VM-RUN-EXIT=0 and the splat scan is clean;
# 1 = run.sh failed or a splat was found; 3 = no exit marker (crash, hang, timeout);
# 2 = usage or setup error. On failure the last 200 console lines go to stderr.
set -euo pipefail

SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

OUT="" PAYLOAD="" KVER="" KERNEL="" MODROOT="" TIMEOUT=300 MEM=2G SMP=2 ACCEL=auto
QEMU_EXTRA="" APPEND_EXTRA="" KMODS="" KMODS_AVAIL="" VERBOSE=0 OK_TAINT=""

die() { echo "vm-run.sh: $*" >&2; exit 2; }
log() { echo "vm-run.sh: $*" >&2; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit "${1:-2}"; }

while (($#)); do
    case $1 in
        --out|--payload|--kver|--kernel|--modroot|--timeout|--mem|--smp|--accel|--qemu-args|--append|--kmods|--kmods-avail|--ok-taint)
            (($# >= 2)) || die "$1 needs a value" ;;
    esac
    case $1 in
        --out) OUT=$2; shift ;;
        --payload) PAYLOAD=$2; shift ;;
        --kver) KVER=$2; shift ;;
        --kernel) KERNEL=$2; shift ;;
        --modroot) MODROOT=$2; shift ;;
        --timeout) TIMEOUT=$2; shift ;;
        --mem) MEM=$2; shift ;;
        --smp) SMP=$2; shift ;;
        --accel) ACCEL=$2; shift ;;
        --qemu-args) QEMU_EXTRA=$2; shift ;;
        --append) APPEND_EXTRA=$2; shift ;;
        --kmods) KMODS=$2; shift ;;
        --kmods-avail) KMODS_AVAIL=$2; shift ;;
        --ok-taint) OK_TAINT=$2; shift ;;
        -v|--verbose) VERBOSE=1 ;;
        -h|--help) usage 0 ;;
        *) log "unknown argument: $1"; usage ;;
    esac
    shift
done
[[ -n $OUT && -n $PAYLOAD ]] || usage
[[ " $APPEND_EXTRA " == *" quiet "* ]] &&
    log "warning: 'quiet' hides WARN splats from the console (the taint check still sees them)"
[[ -f $PAYLOAD/run.sh ]] || die "$PAYLOAD/run.sh does not exist"
[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "--timeout wants whole seconds"
case $ACCEL in auto|tcg|kvm) ;; *) die "--accel is auto, tcg or kvm" ;; esac
if [[ -n $MODROOT && -z $KVER ]]; then
    KVER=$(ls "$MODROOT/lib/modules" 2>/dev/null | head -n1)
    [[ -n $KVER ]] || die "no kernel release under $MODROOT/lib/modules"
fi
[[ -n $KVER ]] || KVER=$("$SCRIPTS/deps.sh" --print-kver) || die "no kernel; run scripts/deps.sh"
[[ -n $KERNEL ]] || KERNEL=/boot/vmlinuz-$KVER
[[ -r $KERNEL ]] || die "$KERNEL is missing (scripts/deps.sh installs it)"
[[ -d $MODROOT/lib/modules/$KVER ]] || die "$MODROOT/lib/modules/$KVER is missing"
BUSYBOX=$(command -v busybox) || die "busybox not found (busybox-static)"
if ldd "$BUSYBOX" >/dev/null 2>&1; then die "$BUSYBOX is not static (install busybox-static)"; fi

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
PAYLOAD=$(cd "$PAYLOAD" && pwd)
ROOT=$OUT/rootfs
rm -rf "$ROOT" "$OUT/console.log" "$OUT/console.raw" "$OUT/tap.txt" "$OUT/tap.raw"

# ---------------------------------------------------------------------------------------
# Initramfs
# ---------------------------------------------------------------------------------------
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,payload,lib/modules/"$KVER"}
cp "$BUSYBOX" "$ROOT/bin/busybox"
# Applet links made here, so the guest needs no `busybox --install` step.
while read -r applet; do
    [[ -e $ROOT/$applet || $applet == bin/busybox ]] || ln -s /bin/busybox "$ROOT/$applet"
done < <("$BUSYBOX" --list-full)
# The kernel opens /dev/console before running /init (its built-in initramfs has one too).
mknod -m 600 "$ROOT/dev/console" c 5 1 2>/dev/null || true
echo "root:x:0:0:root:/root:/bin/sh" > "$ROOT/etc/passwd"
echo "root:x:0:" > "$ROOT/etc/group"

cp -a "$PAYLOAD/." "$ROOT/payload/"

# Shared libraries (and the ELF interpreter) of dynamically linked payload files.
copy_libs() {
    local f lib
    for f in $(ldd "$1" 2>/dev/null | grep -oE '/[^ ]+' || true); do
        for lib in "$f" "$(readlink -f "$f")"; do
            [[ -e $ROOT$lib ]] && continue
            mkdir -p "$ROOT$(dirname "$lib")"
            cp -L "$lib" "$ROOT$lib"
        done
    done
}
while IFS= read -r -d '' f; do
    [[ $(head -c4 "$f" 2>/dev/null | od -An -c | tr -d ' ') == 177ELF ]] || continue
    case $f in *.ko|*.o|*.a) continue ;; esac
    copy_libs "$f"
done < <(find "$ROOT/payload" -type f -print0)
[[ ! -d $ROOT/lib64 && -d $ROOT/usr/lib64 ]] && ln -s usr/lib64 "$ROOT/lib64"

# Debian modules: decompressed (busybox insmod wants plain .ko), dependencies first.
# vm-run.modules lines: "name relpath|- dep..."; "-" marks a built-in module.
MODDIR=/lib/modules/$KVER
MODLIST=$ROOT$MODDIR/vm-run.modules
: > "$MODLIST"
declare -A PLACED=()
place_kmod() {
    local name=${1//-/_} path deps d rel
    [[ -n ${PLACED[$name]-} ]] && return 0
    PLACED[$name]=1
    path=$(modinfo -b "${MODROOT:-/}" -k "$KVER" -n "$name" 2>/dev/null) || die "no module '$name' for $KVER"
    if [[ $path == "(builtin)" ]]; then
        echo "$name -" >> "$MODLIST"
        return 0
    fi
    deps=$(modinfo -b "${MODROOT:-/}" -k "$KVER" -F depends "$name")
    for d in ${deps//,/ }; do place_kmod "$d"; done
    rel=${path#"$MODROOT$MODDIR"/}
    rel=${rel%.xz}; rel=${rel%.zst}; rel=${rel%.gz}
    mkdir -p "$ROOT$MODDIR/$(dirname "$rel")"
    case $path in
        *.xz) xz -dc "$path" ;;
        *.zst) zstd -qdc "$path" ;;
        *.gz) gzip -dc "$path" ;;
        *) cat "$path" ;;
    esac > "$ROOT$MODDIR/$rel"
    echo "$name $rel ${deps//,/ }" >> "$MODLIST"
}
: > "$ROOT/etc/vm-run.kmods-load"
for spec in $KMODS; do
    place_kmod "${spec%%:*}"
    # NAME:P1=V1:P2=V2 → "name P1=V1 P2=V2"
    echo "${spec//:/ }" >> "$ROOT/etc/vm-run.kmods-load"
done
for name in $KMODS_AVAIL; do place_kmod "$name"; done

cat > "$ROOT/bin/load-kmod" <<'EOF'
#!/bin/sh
# load-kmod NAME [PARAM=VALUE...] — insmod a module that vm-run.sh placed in the
# initramfs (--kmods / --kmods-avail), loading its dependencies first. Succeeds at once
# if the module is already loaded or built in.
list=/lib/modules/$(uname -r)/vm-run.modules
load() {
    local name entry rel deps d
    name=$(echo "$1" | tr - _)
    shift
    [ -e "/sys/module/$name/initstate" ] && return 0
    entry=$(grep "^$name " "$list") || {
        echo "load-kmod: $name is not in the initramfs (vm-run.sh --kmods/--kmods-avail)" >&2
        return 1
    }
    rel=$(echo "$entry" | cut -d' ' -f2)
    deps=$(echo "$entry" | cut -d' ' -f3-)
    [ "$rel" = - ] && return 0  # built in
    for d in $deps; do load "$d" || return 1; done
    insmod "/lib/modules/$(uname -r)/$rel" "$@"
}
[ $# -ge 1 ] || { echo "usage: load-kmod NAME [PARAM=VALUE...]" >&2; exit 2; }
load "$@"
EOF
chmod +x "$ROOT/bin/load-kmod"

cat > "$ROOT/init" <<'EOF'
#!/bin/sh
# /init written by scripts/vm-run.sh: set up the guest, run /payload/run.sh, report, power off.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /dev/hugepages /dev/mqueue
mount -t devpts -o gid=5,mode=620 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs tmpfs /run
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
has_fs() { grep -qw "$1" /proc/filesystems; }
has_fs debugfs && mount -t debugfs debugfs /sys/kernel/debug
has_fs tracefs && mount -t tracefs tracefs /sys/kernel/tracing
has_fs configfs && mount -t configfs configfs /sys/kernel/config
has_fs hugetlbfs && mount -t hugetlbfs hugetlbfs /dev/hugepages
has_fs mqueue && mount -t mqueue mqueue /dev/mqueue
ip link set lo up 2>/dev/null
hostname vm-run

echo "VM-RUN-START kernel=$(uname -r)"

rc=0
while read -r name params; do
    [ -n "$name" ] || continue
    if ! load-kmod "$name" $params; then
        echo "VM-RUN-KMOD-FAILED=$name"
        rc=125
    fi
done < /etc/vm-run.kmods-load

# kmemleak (debug kernels): forget leaks from boot, so only ours are reported.
leakf=/sys/kernel/debug/kmemleak
if [ -w $leakf ]; then echo scan > $leakf; echo clear > $leakf; fi

# run.sh's stdout also goes to the second serial port, the clean TAP channel.
tap=/dev/null
if stty -F /dev/ttyS1 raw -echo 2>/dev/null; then tap=/dev/ttyS1; fi
if [ $rc -eq 0 ]; then
    echo VM-RUN-TAP-BEGIN > $tap
    cd /payload
    if [ -x /payload/run.sh ]; then set -- /payload/run.sh; else set -- sh /payload/run.sh; fi
    { "$@" < /dev/null; echo $? > /run/vm-run-rc; } | tee $tap
    rc=$(cat /run/vm-run-rc 2>/dev/null || echo 126)
    cd /
    echo VM-RUN-TAP-END > $tap
fi

if [ -w $leakf ]; then
    sleep 6     # kmemleak reports only objects older than 5 s
    echo scan > $leakf
    cat $leakf
fi
taint=$(cat /proc/sys/kernel/tainted)
# A taint besides O/E (out-of-tree, unsigned) whose report the console may not have
# shown (console loglevel lowered): dump the kernel log.
if [ $((taint & ~12288)) -ne 0 ]; then
    echo VM-RUN-DMESG-BEGIN
    dmesg
    echo VM-RUN-DMESG-END
fi
echo "VM-RUN-TAINT=$taint"
echo "VM-RUN-EXIT=$rc"
sync
poweroff -f
EOF
chmod +x "$ROOT/init"

INITRAMFS=$OUT/initramfs.cpio.gz
(cd "$ROOT" && find . -print0 | LC_ALL=C sort -z |
     cpio --null --create --format=newc --owner=0:0 --quiet) | gzip -1 > "$INITRAMFS"
rm -rf "$ROOT"

# ---------------------------------------------------------------------------------------
# Accelerator: KVM only if a probe boot of this kernel under KVM reaches /init.
# ---------------------------------------------------------------------------------------
kvm_works() {
    [[ -r /dev/kvm && -w /dev/kvm ]] || return 1
    local boot_id cache probe
    boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
    cache=${TMPDIR:-/tmp}/vm-run-kvm-probe.$boot_id.$KVER
    if [[ -f $cache ]]; then [[ $(cat "$cache") == yes ]]; return; fi
    probe=$OUT/kvm-probe
    mkdir -p "$probe/root/bin" "$probe/root/dev" "$probe/root/proc"
    cp "$BUSYBOX" "$probe/root/bin/busybox"
    ln -sf busybox "$probe/root/bin/sh"
    printf '#!/bin/sh\n/bin/busybox echo KVM-PROBE-OK\n/bin/busybox poweroff -f\n' > "$probe/root/init"
    chmod +x "$probe/root/init"
    (cd "$probe/root" && find . | cpio --create --format=newc --owner=0:0 --quiet) > "$probe/initramfs.cpio"
    # Broken (nested) KVM stops the VM with "KVM internal error" and QEMU waits: poll.
    qemu-system-x86_64 -machine q35 -accel kvm -cpu host -m 512M \
        -nodefaults -nographic -no-reboot -monitor none -serial stdio \
        -kernel "$KERNEL" -initrd "$probe/initramfs.cpio" \
        -append "console=ttyS0 quiet panic=-1" < /dev/null > "$probe/console.log" 2>&1 &
    local pid=$! i
    for ((i = 0; i < 150; i++)); do
        grep -qE 'KVM-PROBE-OK|KVM internal error|failed to initialize kvm' "$probe/console.log" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    if grep -q KVM-PROBE-OK "$probe/console.log"; then echo yes > "$cache"; else echo no > "$cache"; fi
    rm -rf "$probe/root"
    [[ $(cat "$cache") == yes ]]
}
case $ACCEL in
    tcg) ACCEL_ARGS=(-accel tcg -cpu max) ;;
    kvm) ACCEL_ARGS=(-accel kvm -cpu host) ;;
    auto) if kvm_works; then ACCEL_ARGS=(-accel kvm -cpu host); else ACCEL_ARGS=(-accel tcg -cpu max); fi ;;
esac

# ---------------------------------------------------------------------------------------
# Boot
# ---------------------------------------------------------------------------------------
# loglevel=7: WARN splats are KERN_WARNING (level 4); `quiet` would hide them.
APPEND="console=ttyS0 loglevel=7 printk.time=1 panic=-1 rdinit=/init $APPEND_EXTRA"
# shellcheck disable=SC2206 # --qemu-args is word-split on purpose
QEMU=(qemu-system-x86_64 -machine q35 "${ACCEL_ARGS[@]}" -m "$MEM" -smp "$SMP"
      -nodefaults -nographic -no-reboot -monitor none
      -serial stdio -serial "file:$OUT/tap.raw"
      -kernel "$KERNEL" -initrd "$INITRAMFS" -append "$APPEND" $QEMU_EXTRA)
printf '%q ' "${QEMU[@]}" > "$OUT/qemu-cmd.txt"; echo >> "$OUT/qemu-cmd.txt"

# A guest that dies before its init script starts the payload (no VM-RUN-START)
# has run nothing of ours: under TCG the stock and the debug kernel each crash
# that way about once in eight boots (an int3 Oops in sched_clock_cpu during
# static-key patching; a KASAN wild access in an early IRQ). Such a boot is
# tried again, at most twice; its console is kept as console.early-crash-N.log.
start=$(date +%s.%N)
for attempt in 1 2 3; do
    : > "$OUT/tap.raw"
    set +e
    if ((VERBOSE)); then
        timeout --kill-after=10 "$TIMEOUT" "${QEMU[@]}" < /dev/null 2>&1 | tee "$OUT/console.raw" >&2
        qrc=${PIPESTATUS[0]}
    else
        timeout --kill-after=10 "$TIMEOUT" "${QEMU[@]}" < /dev/null > "$OUT/console.raw" 2>&1
        qrc=$?
    fi
    set -e
    ((qrc == 124 || qrc == 137)) && break
    grep -q VM-RUN-START "$OUT/console.raw" && break
    ((attempt < 3)) || break
    tr -d '\r' < "$OUT/console.raw" > "$OUT/console.early-crash-$attempt.log"
    log "the guest died before the payload started (qemu exit $qrc; $OUT/console.early-crash-$attempt.log): booting again"
done
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')

# ---------------------------------------------------------------------------------------
# Verdict
# ---------------------------------------------------------------------------------------
tr -d '\r' < "$OUT/console.raw" > "$OUT/console.log"
rm -f "$OUT/console.raw"
touch "$OUT/tap.raw"
if grep -q '^VM-RUN-TAP-BEGIN' "$OUT/tap.raw"; then
    tr -d '\r' < "$OUT/tap.raw" |
        awk '/^VM-RUN-TAP-BEGIN/ { on = 1; next } /^VM-RUN-TAP-END/ { on = 0 } on' > "$OUT/tap.txt"
else
    # No second serial port in the guest: take the console lines between the markers
    # that are not kernel messages (these carry a [ seconds.micros] stamp).
    awk '/VM-RUN-START/ { on = 1; next } /VM-RUN-TAINT=|VM-RUN-EXIT=/ { on = 0 }
         on && !/^\[ *[0-9]+\.[0-9]+\]/' "$OUT/console.log" > "$OUT/tap.txt"
fi
rm -f "$OUT/tap.raw"

fail() {
    log "FAIL ($*) after ${elapsed}s; last 200 console lines:"
    tail -n 200 "$OUT/console.log" >&2
    log "FAIL ($*); full log: $OUT/console.log"
}

exit_rc=$(grep -oE 'VM-RUN-EXIT=[0-9]+' "$OUT/console.log" | tail -n1 | cut -d= -f2 || true)
scan_ok=1
"$SCRIPTS/splat-scan.sh" ${OK_TAINT:+--ok-taint "$OK_TAINT"} "$OUT/console.log" >&2 || scan_ok=0

if [[ -z $exit_rc ]]; then
    why="qemu exited $qrc: the guest crashed or powered off early"
    ((qrc == 124 || qrc == 137)) && why="timed out after ${TIMEOUT}s"
    fail "no VM-RUN-EXIT marker: $why"
    exit 3
fi
if [[ $exit_rc != 0 || $scan_ok == 0 ]]; then
    fail "run.sh exit $exit_rc, splat scan $( ((scan_ok)) && echo clean || echo FAILED)"
    exit 1
fi
log "ok: run.sh exit 0, splat scan clean, ${elapsed}s (${ACCEL_ARGS[1]})"
exit 0
