#!/usr/bin/env bash
# check-ko.sh KO [MODULE.SYMVERS] - fail unless a built iommufd_cxx.ko is
# what the kernel's module loader can run as C++ safely:
#   - no C++ dynamic initializer or destructor (_GLOBAL__sub_I_/_D_): the
#     loader of a stock kernel never runs .init_array, so a global with a
#     constructor would silently stay unconstructed;
#   - no .init_array/.ctors at all, unless the kernel runs them
#     (CONFIG_CONSTRUCTORS, which KASAN selects for its per-object globals
#     registration: those entries are the compiler's _sub_I_00099_0, not ours);
#   - no TLS, no exception tables;
#   - no reference to the hosted C++ runtime (unwinder, personality,
#     guard/atexit helpers, RTTI vtables);
#   - __cxa_pure_virtual defined here (vtables reference it weakly: if it
#     were missing, a pure call would jump to address 0);
#   - every undefined symbol is a kernel export (in Module.symvers).
set -euo pipefail
ko=${1:?usage: check-ko.sh KO [Module.symvers]}
symvers=${2:-}
if [[ -z $symvers ]]; then
	symvers=$(ls -d /usr/src/linux-headers-6.12.*-amd64/Module.symvers 2>/dev/null | sort -V | tail -1)
fi
fail=0
bad() { echo "check-ko: $*" >&2; fail=1; }

config=$(dirname "$symvers")/.config
ctor_sections=".init_array .ctors .fini_array .dtors"
if [[ -f $config ]] && grep -qx 'CONFIG_CONSTRUCTORS=y' "$config"; then
	ctor_sections="" # the loader runs them on this kernel (KASAN's globals)
fi
sections=$(readelf -SW "$ko" | awk '/^ *\[/{print $2, $3}' | sed 's/^\] //')
for s in $ctor_sections .tbss .tdata .eh_frame .gcc_except_table .group; do
	if grep -qE "(^|[[:space:]])\\$s([.[:space:]]|$)" <<<"$sections"; then
		bad "section $s present"
	fi
done

syms=$(nm "$ko")
if grep -qE ' [tT] _GLOBAL__sub_[ID]_' <<<"$syms"; then
	bad "C++ dynamic initializers/destructors (globals with constructors):"
	grep -E ' [tT] _GLOBAL__sub_[ID]_' <<<"$syms" >&2
fi
if grep -qE ' [Uw] (_Unwind_|__gxx_personality|__cxa_guard_|__cxa_atexit|__dso_handle|_ZTVN10__cxxabiv1|__cxa_begin_catch|__cxa_throw|_ZSt|__stack_chk_guard|__aarch64_)' <<<"$syms"; then
	bad "references to the hosted C++ runtime:"
	grep -E ' [Uw] (_Unwind_|__gxx_personality|__cxa_|__dso_handle|_ZTVN10__cxxabiv1|_ZSt|__stack_chk_guard|__aarch64_)' <<<"$syms" >&2 || true
fi
if ! grep -qE ' T __cxa_pure_virtual$' <<<"$syms"; then
	bad "__cxa_pure_virtual is not defined in the module"
fi

if [[ -n $symvers && -f $symvers ]]; then
	missing=$(comm -23 <(awk '$1 == "U" {print $2}' <<<"$syms" | sort -u) \
		<(awk '{print $2}' "$symvers" | sort -u))
	if [[ -n $missing ]]; then
		bad "undefined symbols that are not kernel exports: $missing"
	fi
else
	bad "no Module.symvers to check undefined symbols against"
fi

if ((fail)); then
	exit 1
fi
echo "check-ko: $ko ok ($(grep -c ' U ' <<<"$syms") kernel imports, no ctors/TLS/EH, __cxa_pure_virtual defined)"
