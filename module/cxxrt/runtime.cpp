// SPDX-License-Identifier: GPL-2.0
//
// runtime.cpp - the C++ ABI symbols g++ emits calls to, on kernel allocators.
//
// Every operator new/delete form (plain, array, sized, aligned, nothrow) is
// defined, so modpost never finds a dangling C++ runtime reference.  The core
// allocates only through make_unique (nothrow forms); the throwing forms
// exist for completeness and cannot return NULL, so they allocate with
// KAPI_ALLOC_NOFAIL rather than pretend.  Alignments above KAPI_MIN_ALIGN are
// met by rounding the size up to a power of two (kmalloc aligns those
// naturally).  kapi_alloc counts every block, so tests can prove that
// nothing leaked.
//
// __cxa_pure_virtual is referenced only weakly by vtables: left undefined,
// a pure call would jump to address 0.  Here it WARNs and traps.
#include "base.hpp"
#include "../kapi.h"

#ifdef IOMMUFD_CXX_KERNEL

namespace {

size_t round_for_alignment(size_t size, size_t align)
{
	if (align <= KAPI_MIN_ALIGN)
		return size;
	size_t n = size < align ? align : size;
	if (n > SIZE_MAX / 2)
		return SIZE_MAX; // the allocator refuses it
	return size_t(1) << (64 - __builtin_clzl(n - 1)); // next power of two
}

void *allocate(size_t size, size_t align, unsigned int flags)
{
	return kapi_alloc(round_for_alignment(size ? size : 1, align), flags);
}

void release(void *p) { kapi_free(p); }

} // namespace

const std::nothrow_t std::nothrow{};

void *operator new(size_t n) { return allocate(n, 0, KAPI_ALLOC_NOFAIL); }
void *operator new[](size_t n) { return allocate(n, 0, KAPI_ALLOC_NOFAIL); }
void *operator new(size_t n, std::align_val_t a)
{
	return allocate(n, size_t(a), KAPI_ALLOC_NOFAIL);
}
void *operator new[](size_t n, std::align_val_t a)
{
	return allocate(n, size_t(a), KAPI_ALLOC_NOFAIL);
}
void *operator new(size_t n, const std::nothrow_t &) noexcept { return allocate(n, 0, 0); }
void *operator new[](size_t n, const std::nothrow_t &) noexcept { return allocate(n, 0, 0); }
void *operator new(size_t n, std::align_val_t a, const std::nothrow_t &) noexcept
{
	return allocate(n, size_t(a), 0);
}
void *operator new[](size_t n, std::align_val_t a, const std::nothrow_t &) noexcept
{
	return allocate(n, size_t(a), 0);
}

void operator delete(void *p) noexcept { release(p); }
void operator delete[](void *p) noexcept { release(p); }
void operator delete(void *p, size_t) noexcept { release(p); }
void operator delete[](void *p, size_t) noexcept { release(p); }
void operator delete(void *p, std::align_val_t) noexcept { release(p); }
void operator delete[](void *p, std::align_val_t) noexcept { release(p); }
void operator delete(void *p, size_t, std::align_val_t) noexcept { release(p); }
void operator delete[](void *p, size_t, std::align_val_t) noexcept { release(p); }
void operator delete(void *p, const std::nothrow_t &) noexcept { release(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { release(p); }
void operator delete(void *p, std::align_val_t, const std::nothrow_t &) noexcept { release(p); }
void operator delete[](void *p, std::align_val_t, const std::nothrow_t &) noexcept
{
	release(p);
}

extern "C" void __cxa_pure_virtual(void);
extern "C" void __cxa_pure_virtual(void)
{
	kapi_warn_pure_virtual();
	__builtin_trap();
}

#endif // IOMMUFD_CXX_KERNEL: the host build uses the C++ library's own new/delete
