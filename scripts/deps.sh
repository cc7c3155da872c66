#!/usr/bin/env bash
# deps.sh — install (idempotently) every Debian package the build and the tests need,
# and print the Debian 6.12 kernel version (KVER, e.g. 6.12.117+deb12-amd64) they use.
#
#   scripts/deps.sh               install what is missing; last stdout line is KVER
#   scripts/deps.sh --print-kver  only print KVER (installs nothing)
#
# KVER is the kernel that matches the linux-source-6.12 package (6.12.117-1~deb12u1 →
# 6.12.117+deb12-amd64), falling back to the newest linux-headers-6.12.*+deb12-amd64
# that has a matching -unsigned image. When everything is installed the script asks
# dpkg only (no apt call, well under a second). apt's own output goes to stderr so that
# `KVER=$(scripts/deps.sh | tail -n1)` works.
set -euo pipefail

FLAVOUR=amd64
# Everything except the kernel image/headers, whose names depend on KVER.
BASE_PKGS=(
    build-essential g++ make python3
    qemu-system-x86 busybox-static cpio xz-utils zstd gzip kmod
    libcap-dev libgtest-dev googletest
    # libFuzzer targets of the portable core
    clang libclang-rt-14-dev
    # pahole: the kernel build encodes BTF for the module's C glue
    dwarves
    linux-source-6.12
    # to build the debug kernel from linux-source-6.12
    bc flex bison libelf-dev libssl-dev dwarves rsync
)

log() { echo "deps.sh: $*" >&2; }

# Version of an installed package ("" when not fully installed).
installed_version() {
    dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null |
        awk '$1 == "install" && $3 == "installed" { print $4 }'
}

# 6.12.117-1~deb12u1 → 6.12.117+deb12-amd64
kver_from_source_version() {
    local upstream=${1%%-*}
    [[ $upstream =~ ^6\.12\.[0-9]+$ ]] || return 1
    echo "${upstream}+deb12-${FLAVOUR}"
}

kernel_pkgs() { echo "linux-image-$1-unsigned linux-headers-$1"; }

# KVER of the kernel matching the installed linux-source-6.12, if that kernel (image and
# headers) is installed too. No apt call.
kver_installed() {
    local v k
    v=$(installed_version linux-source-6.12)
    [[ -n $v ]] && k=$(kver_from_source_version "$v") || return 1
    [[ -n $(installed_version "linux-image-$k-unsigned") ]] || return 1
    [[ -n $(installed_version "linux-headers-$k") ]] || return 1
    echo "$k"
}

# Newest installed 6.12 kernel with headers (for --print-kver when apt knows nothing).
kver_installed_any() {
    local k
    for k in $(dpkg-query -W -f='${Package}\n' "linux-headers-6.12.*+deb12-${FLAVOUR}" 2>/dev/null |
                   sed 's/^linux-headers-//' | sort -rV); do
        if [[ -n $(installed_version "linux-headers-$k") ]] &&
            [[ -n $(installed_version "linux-image-$k-unsigned") ]]; then
            echo "$k"; return 0
        fi
    done
    return 1
}

candidate_version() {
    apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" { print $2 }'
}

# KVER from the archive (needs apt lists).
kver_candidate() {
    local v k
    v=$(candidate_version linux-source-6.12)
    if [[ -n $v ]] && k=$(kver_from_source_version "$v") &&
        [[ -n $(candidate_version "linux-image-$k-unsigned") ]] &&
        [[ -n $(candidate_version "linux-headers-$k") ]]; then
        echo "$k"; return 0
    fi
    for k in $(apt-cache pkgnames linux-headers-6.12. 2>/dev/null |
                   grep -E "^linux-headers-6\.12\.[0-9]+\+deb12-${FLAVOUR}\$" |
                   sed 's/^linux-headers-//' | sort -rV); do
        if [[ -n $(candidate_version "linux-image-$k-unsigned") ]]; then
            echo "$k"; return 0
        fi
    done
    return 1
}

missing_pkgs() {
    local p
    for p in "$@"; do
        [[ -n $(installed_version "$p") ]] || echo "$p"
    done
}

apt_install() {
    log "installing: $*"
    # INITRD=No: the kernel is only booted by vm-run.sh with its own initramfs, so skip
    # the kernel postinst's update-initramfs (about a minute on these machines).
    DEBIAN_FRONTEND=noninteractive INITRD=No \
        apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=600 "$@" >&2
}

main() {
    local print_only=0
    case ${1-} in
        --print-kver) print_only=1 ;;
        "") ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; return 0 ;;
        *) log "unknown argument: $1"; return 2 ;;
    esac

    local kver
    if kver=$(kver_installed) && [[ -z $(missing_pkgs "${BASE_PKGS[@]}") ]]; then
        echo "$kver"
        return 0
    fi
    if ((print_only)); then
        kver=$(kver_installed) || kver=$(kver_candidate) || kver=$(kver_installed_any) || {
            log "no Debian 6.12 kernel installed or known to apt; run scripts/deps.sh"
            return 1
        }
        echo "$kver"
        return 0
    fi

    [[ $(id -u) -eq 0 ]] || { log "packages are missing and we are not root"; return 1; }
    # A previous install may have been interrupted (dpkg refuses to go on until fixed).
    DEBIAN_FRONTEND=noninteractive INITRD=No dpkg --configure -a >&2 || true

    log "packages missing: running apt-get update"
    apt-get update >&2
    kver=$(kver_candidate) || {
        log "apt knows no linux-source-6.12 / linux-headers-6.12.*+deb12-${FLAVOUR} with a matching -unsigned image"
        return 1
    }
    local missing
    # shellcheck disable=SC2046 # kernel_pkgs prints two words on purpose
    missing=$(missing_pkgs "${BASE_PKGS[@]}" $(kernel_pkgs "$kver"))
    if [[ -n $missing ]]; then
        # shellcheck disable=SC2086
        apt_install $missing
    fi
    # Check the result rather than trusting apt's exit status alone.
    # shellcheck disable=SC2046
    missing=$(missing_pkgs "${BASE_PKGS[@]}" $(kernel_pkgs "$kver"))
    if [[ -n $missing ]]; then
        log "still not installed: ${missing//$'\n'/ }"
        return 1
    fi
    [[ -r /boot/vmlinuz-$kver ]] || { log "/boot/vmlinuz-$kver is missing"; return 1; }
    echo "$kver"
}

main "$@"
