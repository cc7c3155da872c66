#!/usr/bin/env bash
# build-test-kernel.sh - build the debug test kernel from Debian's
# linux-source-6.12: `make tinyconfig` + kernel/debug.config, cached outside
# the repo under a key made of the source package version, the fragment and
# this script, so only the first run on a machine pays (about 5-10 min on
# 2 cores).  Prints the build directory (KDIR for the module; bzImage in
# arch/x86/boot, modules installed under <dir>/modroot).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${IOMMUFD_CXX_CACHE:-/var/cache/iommufd-cxx}
src=$("$REPO/scripts/ksrc.sh")
frag=$REPO/kernel/debug.config
key=$( (dpkg-query -W -f '${Version}' linux-source-6.12; cat "$frag" "$0") | sha256sum | cut -c1-16)
out=$cache/test-kernel-$key
log() { echo "build-test-kernel: $*" >&2; }

if [[ -f $out/.complete ]]; then
	echo "$out"
	exit 0
fi
rm -rf "$out"
mkdir -p "$out"
log "building in $out (log: $out/build.log)"
{
	make -C "$src" O="$out" tinyconfig
	"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$frag"
	make -C "$src" O="$out" olddefconfig
} >"$out/build.log" 2>&1

# Every line of the fragment must have survived olddefconfig.
missing=0
while IFS= read -r line; do
	[[ $line =~ ^CONFIG_([A-Z0-9_]+)=(.*)$ ]] || continue
	name=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
	if [[ $val == n ]]; then
		grep -q "^CONFIG_$name=" "$out/.config" && { log "CONFIG_$name should be off"; missing=1; }
	elif ! grep -qx "CONFIG_$name=$val" "$out/.config"; then
		log "CONFIG_$name=$val did not stick ($(grep "CONFIG_$name[= ]" "$out/.config" || echo unset))"
		missing=1
	fi
done <"$frag"
((missing == 0)) || exit 1

start=$SECONDS
if ! make -C "$src" O="$out" -j"$(nproc)" bzImage modules >>"$out/build.log" 2>&1 ||
	! make -C "$src" O="$out" INSTALL_MOD_PATH="$out/modroot" modules_install >>"$out/build.log" 2>&1; then
	tail -40 "$out/build.log" >&2
	exit 1
fi
log "built in $((SECONDS - start)) s"
touch "$out/.complete"
echo "$out"
