// SPDX-License-Identifier: GPL-2.0
//
// runtime_kunit.cpp - KUnit suite iommufd_cxx_runtime: promises the C++
// runtime and the allocation shim make that only hold if the kernel's
// allocators behave as assumed, checked on the debug kernel (KASAN, slab
// debugging), where they are most likely not to: kapi_alloc's kvmalloc
// path for blocks larger than kmalloc can give, and the over-aligned
// operator new, which relies on kmalloc's natural alignment of
// power-of-two sizes.
//
// Kernel only: to the hosted builds this file is empty.
#ifdef IOMMUFD_CXX_KERNEL

#include "kunit/kunit.hpp"

#include "cxxrt/memory.hpp"

using namespace iommufd::kunit;

namespace {

// One kapi_alloc block, freed on scope exit.
class Block : cxx::NoCopyNoMove {
public:
	Block(size_t size, unsigned int flags) : p_(static_cast<uint8_t *>(kapi_alloc(size, flags))) {}
	~Block() { kapi_free(p_); }
	uint8_t *get() const { return p_; }

private:
	uint8_t *p_;
};

template <size_t Align, size_t Size> struct alignas(Align) Aligned {
	uint8_t bytes[Size];
};

// Allocate a few T at once (so they cannot all be lucky) and check each
// one's alignment; writes every byte, which KASAN checks against the size.
template <typename T> bool aligned_allocations(struct kunit *test)
{
	constexpr int kCount = 6;
	cxx::UniquePtr<T> objs[kCount];
	for (int i = 0; i < kCount; i++) {
		auto r = cxx::make_unique<T>();
		if (!r.ok()) {
			kapi_kunit_fail(test, __FILE__, __LINE__, "make_unique of %zu bytes: errno %d",
					sizeof(T), r.error().code());
			return false;
		}
		objs[i] = r.take();
		for (size_t b = 0; b < sizeof(T); b++)
			objs[i]->bytes[b] = uint8_t(b);
		uintptr_t addr = reinterpret_cast<uintptr_t>(objs[i].get());
		if (addr % alignof(T)) {
			kapi_kunit_fail(test, __FILE__, __LINE__,
					"%zu-byte object at %p is not %zu-byte aligned", sizeof(T),
					static_cast<void *>(objs[i].get()), alignof(T));
			return false;
		}
	}
	return true;
}

} // namespace

// Zeroed blocks from one page to beyond what kmalloc can ever give (4 MiB
// on x86_64): kvmalloc falls back to vmalloc there, kapi_free releases
// either kind, and the live-block count the leak checks read follows.
KUNIT_CXX_CASE(runtime, alloc_beyond_kmalloc_uses_vmalloc)
{
	const long live = iommufd_cxx_live_allocs();
	struct {
		size_t size;
		int vmalloc; // 1 must be, 0 must not be, -1 either
	} const cases[] = {
		{ 64, 0 },
		{ kPageSize, 0 },		 // kmalloc only
		{ kPageSize + 1, -1 },		 // kvmalloc: kmalloc first
		{ 64 * 1024, -1 },
		{ 8 * 1024 * 1024, 1 },		 // beyond KMALLOC_MAX_SIZE
	};
	for (const auto &c : cases) {
		{
			Block b(c.size, KAPI_ALLOC_ZERO);
			KT_ASSERT(b.get() != nullptr);
			KT_EXPECT_EQ(iommufd_cxx_live_allocs(), live + 1);
			if (c.vmalloc >= 0)
				KT_EXPECT_EQ(kapi_kunit_is_vmalloc(b.get()), c.vmalloc == 1);
			size_t nonzero = 0, i = 0;
			for (; i + 8 <= c.size; i += 8)
				nonzero += *reinterpret_cast<const uint64_t *>(b.get() + i) != 0;
			for (; i < c.size; i++)
				nonzero += b.get()[i] != 0;
			KT_EXPECT_EQ(nonzero, 0u);
			// Both ends are ours (KASAN would report a short block).
			b.get()[0] = 0xa5;
			b.get()[c.size - 1] = 0x5a;
		}
		KT_EXPECT_EQ(iommufd_cxx_live_allocs(), live);
	}
}

// Types aligned beyond kmalloc's minimum come back aligned from
// make_unique: 64 (a cache line), 256, and a page, with sizes that are
// and are not powers of two.
KUNIT_CXX_CASE(runtime, over_aligned_new)
{
	const long live = iommufd_cxx_live_allocs();
	KT_EXPECT(aligned_allocations<Aligned<64, 40>>(test));
	KT_EXPECT(aligned_allocations<Aligned<64, 64>>(test));
	KT_EXPECT(aligned_allocations<Aligned<256, 300>>(test));
	KT_EXPECT(aligned_allocations<Aligned<4096, 5000>>(test));
	KT_EXPECT_EQ(iommufd_cxx_live_allocs(), live);
}

#endif // IOMMUFD_CXX_KERNEL
