// SPDX-License-Identifier: GPL-2.0
//
// container.cpp - the VFIO type1 container ioctls over a context's VFIO
// IOAS: GET_API_VERSION, CHECK_EXTENSION, SET_IOMMU, IOMMU_GET_INFO,
// IOMMU_MAP_DMA and IOMMU_UNMAP_DMA.
//
// On /dev/iommu and our own /dev/vfio/vfio node the rules are upstream
// iommufd's compat rules: no nesting type, no VADDR update, no dirty
// bitmaps; TYPE1 (v1) is emulated by turning off large IOPTEs so that any
// page-aligned unmap can split mappings; a v2 unmap that would cut a
// mapping is ENOENT; wrapping ranges are EOVERFLOW.  One deliberate
// difference from upstream iommufd: MAP_DMA with neither READ nor WRITE is
// EINVAL (as VFIO type1), not a mapping nobody can use.
//
// A vfio.ko container this module serves (Context::type1_rules) replaces
// vfio_iommu_type1 under programs that never asked for iommufd, so MAP_DMA
// and UNMAP_DMA follow type1 there (vfio_dma_do_map/do_unmap of 6.12):
// sizes and addresses aligned to the smallest IOMMU page, wrapping ranges
// EINVAL; v2 refuses an unmap that would cut a mapping with EINVAL; v1
// never cuts (large IOPTEs stay on): an unmap whose range starts inside a
// mapping removes nothing, and one that covers a mapping's start removes
// the whole mapping even past the range's end; the bytes unmapped are
// written back only on success.  VADDR and dirty bitmaps stay refused.
#include "vfio_compat/container.hpp"

#include "context.hpp"
#include "ioas.hpp"

#include "cxxrt/checked.hpp"
#include "cxxrt/log.hpp"
#include "uapi/vfio_compat.h"

namespace iommufd::vfio {

namespace {

constexpr uint64_t kPageSize = iopt::kPageSize;

// The container's IOAS, held: ENODEV when there is none (no group has
// attached and IOMMU_VFIO_IOAS never named one), as upstream.
Result<ObjRef<Ioas>> compat_ioas(Context &ctx)
{
	uint32_t id = ctx.vfio_ioas();
	if (id) {
		auto ioas = ctx.objects().get<Ioas>(id);
		if (ioas.ok())
			return ioas;
	}
	return cxx::Err(ENODEV);
}

// Read the first `minsz` bytes of a VFIO struct whose argsz must cover them.
template <typename T> Status read_args(T *out, uint64_t arg, uint32_t minsz, const char *what)
{
	if (kapi_copy_from_user(out, arg, minsz))
		return cxx::Err(EFAULT);
	if (out->argsz < minsz) {
		log_user("%s: argsz %u is below %u", what, out->argsz, minsz);
		return cxx::Err(EINVAL);
	}
	return {};
}

long check_extension(Context &ctx, uint64_t ext)
{
	switch (ext) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return !ctx.no_iommu();
	case VFIO_NOIOMMU_IOMMU:
		return kapi_vfio_noiommu_enabled();
	case VFIO_DMA_CC_IOMMU: {
		auto ioas = compat_ioas(ctx);
		if (!ioas.ok())
			return ioas.error().code();
		return ioas.value()->iopt().domains_cache_coherent();
	}
	default:
		// The removed nesting type, VFIO_UPDATE_VADDR (no safe way to
		// swap the memory under live mappings), SPAPR, EEH.
		return 0;
	}
}

Status set_iommu(Context &ctx, uint64_t type)
{
	if (type == VFIO_NOIOMMU_IOMMU && kapi_vfio_noiommu_enabled()) {
		if (!kapi_capable_sys_rawio()) {
			log_user("set_iommu: VFIO_NOIOMMU_IOMMU needs CAP_SYS_RAWIO");
			return cxx::Err(EPERM);
		}
		if (!ctx.enter_no_iommu().ok()) {
			log_user("set_iommu: no-IOMMU mode is refused once the container has an IOAS");
			return cxx::Err(EINVAL);
		}
		kapi_vfio_noiommu_taint();
		return {};
	}
	if ((type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU) || ctx.no_iommu()) {
		log_user("set_iommu: type %llu is not served%s", (unsigned long long)type,
			 ctx.no_iommu() ? " (the container is in no-IOMMU mode)" : "");
		return cxx::Err(EINVAL);
	}
	auto ioas = compat_ioas(ctx);
	if (!ioas.ok()) {
		log_user("set_iommu: the container has no IOAS (no group, no IOMMU_VFIO_IOAS)");
		return ioas.error();
	}
	if (type == VFIO_TYPE1_IOMMU) {
		Status st = ioas.value()->iopt().set_large_pages(false);
		if (!st.ok())
			log_user("set_iommu: TYPE1 cannot turn off large pages of mappings already made");
		return st;
	}
	return {};
}

// ---- VFIO_IOMMU_GET_INFO ---------------------------------------------------------

// Writes one capability chain into the caller's buffer.  Each capability
// is written only as far as the buffer has room for it (its header only
// once the whole of it fits), its size is rounded up to 8 bytes, and the
// previous capability's `next` is patched once the buffer reaches this
// one.  `total` ends as the bytes the whole reply needs.
class CapChain {
public:
	CapChain(uint64_t arg, uint32_t argsz) : arg_(arg), argsz_(argsz) {}

	// Room for the capability starting at the current end of the chain.
	uint64_t avail() const { return argsz_ > total_ ? argsz_ - total_ : 0; }
	uint64_t at() const { return arg_ + total_; }

	// The capability just filled took `size` bytes.
	Status added(uint64_t size)
	{
		size = (size + 7) & ~uint64_t(7);
		if (has_last_ && argsz_ >= total_) {
			uint32_t next = uint32_t(total_);
			if (kapi_copy_to_user(arg_ + last_ + offsetof(vfio_info_cap_header, next),
					      &next, sizeof(next)))
				return cxx::Err(EFAULT);
		}
		has_last_ = true;
		last_ = total_;
		total_ += size;
		return {};
	}
	uint64_t total() const { return total_; }

private:
	uint64_t arg_;
	uint64_t argsz_;
	uint64_t total_ = sizeof(vfio_iommu_type1_info);
	uint64_t last_ = 0;
	bool has_last_ = false;
};

Result<uint64_t> fill_dma_avail(CapChain &chain)
{
	vfio_iommu_type1_info_dma_avail cap = {};
	cap.header.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL;
	cap.header.version = 1;
	// Mappings are limited by memory accounting, not by a count; U32_MAX
	// as upstream (s390 QEMU needs more than U16_MAX).
	cap.avail = UINT32_MAX;
	if (chain.avail() >= sizeof(cap) && kapi_copy_to_user(chain.at(), &cap, sizeof(cap)))
		return cxx::Err(EFAULT);
	return uint64_t(sizeof(cap));
}

Result<uint64_t> fill_iova_ranges(CapChain &chain, Ioas &ioas)
{
	vfio_iommu_type1_info_cap_iova_range cap = {};
	cap.header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
	cap.header.version = 1;
	const uint64_t avail = chain.avail();
	const uint64_t base = chain.at();
	auto size_for = [](uint64_t n) { return sizeof(cap) + n * sizeof(vfio_iova_range); };
	uint64_t alignment;
	// Counted outside `cap`: a struct with a flexible array member cannot
	// be captured by a lambda (clang refuses it; the fuzz build is clang).
	uint32_t nr = 0;
	TRY(ioas.iopt().iova_ranges(&alignment, [&](uint64_t start, uint64_t last) -> Status {
		vfio_iova_range r = { .start = start, .end = last };
		if (avail >= size_for(nr + 1) && kapi_copy_to_user(base + size_for(nr), &r, sizeof(r)))
			return cxx::Err(EFAULT);
		nr++;
		return {};
	}));
	cap.nr_iovas = nr;
	if (avail >= size_for(cap.nr_iovas) && kapi_copy_to_user(base, &cap, sizeof(cap)))
		return cxx::Err(EFAULT);
	return size_for(cap.nr_iovas);
}

// The page sizes every domain supports; sub-page sizes count as one CPU
// page (as VFIO reports them), and never less than the IOAS alignment.
uint64_t page_sizes(Ioas &ioas)
{
	uint64_t bitmap = ioas.iopt().domains_pgsize_bitmap();
	if (bitmap & (kPageSize - 1))
		bitmap = (bitmap & ~(kPageSize - 1)) | kPageSize;
	return cxx::max(bitmap, ioas.iopt().iova_alignment());
}

Status get_info(Context &ctx, uint64_t arg)
{
	constexpr uint32_t minsz = offsetofend(vfio_iommu_type1_info, iova_pgsizes);
	vfio_iommu_type1_info info = {};
	TRY(read_args(&info, arg, minsz, "iommu_get_info"));
	const uint32_t outsz = cxx::min(info.argsz, uint32_t(sizeof(info)));
	auto ioas = TRY(compat_ioas(ctx));

	info.flags = VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = page_sizes(*ioas);
	info.cap_offset = 0;

	CapChain chain(arg, info.argsz);
	TRY(chain.added(TRY(fill_dma_avail(chain))));
	TRY(chain.added(TRY(fill_iova_ranges(chain, *ioas))));

	// A buffer too short for every capability gets the size it needs and
	// no chain (cap_offset 0).
	if (info.argsz >= chain.total())
		info.cap_offset = sizeof(info);
	info.argsz = uint32_t(chain.total());
	info.flags |= VFIO_IOMMU_INFO_CAPS;
	if (kapi_copy_to_user(arg, &info, outsz))
		return cxx::Err(EFAULT);
	return {};
}

// ---- MAP_DMA / UNMAP_DMA -----------------------------------------------------------

// type1's smallest IOMMU page: every domain's smallest common page size.
uint64_t type1_pgsize(Ioas &ioas)
{
	uint64_t bitmap = ioas.iopt().domains_pgsize_bitmap();
	return bitmap & (~bitmap + 1);
}

Status type1_map_checks(const vfio_iommu_type1_dma_map &map, Ioas &ioas)
{
	const uint64_t pgsize = type1_pgsize(ioas);
	if (!map.size || ((map.size | map.iova | map.vaddr) & (pgsize - 1))) {
		log_user("map_dma: size, iova and vaddr must be non-zero multiples of 0x%llx",
			 (unsigned long long)pgsize);
		return cxx::Err(EINVAL);
	}
	if (!cxx::checked_last(map.iova, map.size).ok() ||
	    !cxx::checked_last(map.vaddr, map.size).ok()) {
		log_user("map_dma: the range wraps");
		return cxx::Err(EINVAL);
	}
	return {};
}

Status map_dma(Context &ctx, uint64_t arg)
{
	constexpr uint32_t minsz = offsetofend(vfio_iommu_type1_dma_map, size);
	constexpr uint32_t kFlags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	vfio_iommu_type1_dma_map map;
	TRY(read_args(&map, arg, minsz, "map_dma"));
	if (map.flags & ~kFlags) {
		log_user("map_dma: unsupported flags 0x%x%s", map.flags,
			 (map.flags & VFIO_DMA_MAP_FLAG_VADDR) ? " (VADDR is not served)" : "");
		return cxx::Err(EINVAL);
	}
	if (!map.flags) {
		log_user("map_dma: neither READ nor WRITE");
		return cxx::Err(EINVAL);
	}
	auto ioas = TRY(compat_ioas(ctx));
	if (ctx.type1_rules())
		TRY(type1_map_checks(map, *ioas));
	uint32_t prot = 0;
	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= iopt::kRead;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= iopt::kWrite;
	// Wrapping ranges are EOVERFLOW before anything is looked up or pinned.
	if (map.size) {
		TRY(cxx::checked_last(map.iova, map.size));
		TRY(cxx::checked_last(map.vaddr, map.size));
	}
	auto pages = iopt::Pages::create_user(map.vaddr, map.size, prot & iopt::kWrite,
					      ctx.account_mode());
	if (!pages.ok()) {
		log_user("map_dma: cannot take [0x%llx, +0x%llx): %d",
			 (unsigned long long)map.vaddr, (unsigned long long)map.size,
			 pages.error().code());
		return pages.error();
	}
	uint64_t iova = map.iova;
	Status st = ioas->iopt().map_pages(pages.value(), 0, map.size, map.vaddr, prot,
					   iopt::IovaMode::Fixed, &iova);
	if (!st.ok())
		log_user("map_dma: iova [0x%llx, +0x%llx): %d", (unsigned long long)map.iova,
			 (unsigned long long)map.size, st.code());
	return st;
}

Status unmap_dma_type1(Context &ctx, uint64_t arg, vfio_iommu_type1_dma_unmap &unmap,
		       Ioas &ioas)
{
	constexpr uint32_t minsz = offsetofend(vfio_iommu_type1_dma_unmap, size);
	iopt::IoPagetable &iopt = ioas.iopt();
	const uint64_t pgsize = type1_pgsize(ioas);
	uint64_t unmapped = 0;
	if (unmap.iova & (pgsize - 1)) {
		log_user("unmap_dma: iova 0x%llx is not a multiple of 0x%llx",
			 (unsigned long long)unmap.iova, (unsigned long long)pgsize);
		return cxx::Err(EINVAL);
	}
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		if (unmap.iova || unmap.size) {
			log_user("unmap_dma: FLAG_ALL wants iova and size 0");
			return cxx::Err(EINVAL);
		}
		unmapped = iopt.unmap_all();
	} else {
		auto last = cxx::checked_last(unmap.iova, unmap.size);
		if (!unmap.size || (unmap.size & (pgsize - 1)) || !last.ok()) {
			log_user("unmap_dma: size 0x%llx is zero, not a multiple of 0x%llx or wraps",
				 (unsigned long long)unmap.size, (unsigned long long)pgsize);
			return cxx::Err(EINVAL);
		}
		uint64_t first_start, last_end;
		if (iopt.overlap_bounds(unmap.iova, last.value(), &first_start, &last_end)) {
			uint64_t end = last.value();
			if (ctx.type1_v2()) {
				if (first_start < unmap.iova || last_end > end) {
					log_user("unmap_dma: TYPE1v2 cannot cut a mapping at [0x%llx, 0x%llx]",
						 (unsigned long long)unmap.iova,
						 (unsigned long long)end);
					return cxx::Err(EINVAL);
				}
			} else {
				// v1: a mapping starting before the range stops it
				// at once; one starting inside goes whole.
				if (first_start < unmap.iova)
					last_end = unmap.iova - 1;
				end = last_end;
			}
			if (end >= unmap.iova)
				TRY(iopt.unmap_range(unmap.iova, end - unmap.iova + 1, &unmapped));
		}
	}
	unmap.size = unmapped;
	if (kapi_copy_to_user(arg, &unmap, minsz))
		return cxx::Err(EFAULT);
	return {};
}

Status unmap_dma(Context &ctx, uint64_t arg)
{
	constexpr uint32_t minsz = offsetofend(vfio_iommu_type1_dma_unmap, size);
	vfio_iommu_type1_dma_unmap unmap;
	TRY(read_args(&unmap, arg, minsz, "unmap_dma"));
	if (unmap.flags & ~uint32_t(VFIO_DMA_UNMAP_FLAG_ALL)) {
		log_user("unmap_dma: unsupported flags 0x%x (dirty bitmaps and VADDR are not served)",
			 unmap.flags);
		return cxx::Err(EINVAL);
	}
	auto ioas = TRY(compat_ioas(ctx));
	if (ctx.type1_rules())
		return unmap_dma_type1(ctx, arg, unmap, *ioas);
	iopt::IoPagetable &iopt = ioas->iopt();

	uint64_t unmapped = 0;
	Status st;
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		if (unmap.iova || unmap.size) {
			log_user("unmap_dma: FLAG_ALL wants iova and size 0");
			return cxx::Err(EINVAL);
		}
		unmapped = iopt.unmap_all();
	} else {
		if (!unmap.size) {
			log_user("unmap_dma: size 0");
			return cxx::Err(EINVAL);
		}
		uint64_t last = TRY(cxx::checked_last(unmap.iova, unmap.size));
		// TYPE1 (v1): split the mappings at both ends first, so the
		// range is whole areas.  Large pages are off, so every
		// page-aligned split is possible.
		if (!iopt.large_pages()) {
			st = iopt.cut(last);
			if (st.ok() && unmap.iova)
				st = iopt.cut(unmap.iova - 1);
			if (!st.ok()) {
				log_user("unmap_dma: cannot split the mappings at [0x%llx, 0x%llx]: %d",
					 (unsigned long long)unmap.iova, (unsigned long long)last,
					 st.code());
				return st;
			}
		}
		st = iopt.unmap_range(unmap.iova, unmap.size, &unmapped);
		if (st.code() == -ENOENT)
			log_user("unmap_dma: a mapping crosses an end of [0x%llx, 0x%llx]",
				 (unsigned long long)unmap.iova, (unsigned long long)last);
	}
	// The bytes unmapped go back even on ENOENT (the whole mappings
	// before the crossing one are gone).
	unmap.size = unmapped;
	if (kapi_copy_to_user(arg, &unmap, minsz))
		return cxx::Err(EFAULT);
	return st;
}

} // namespace

long check_extension_static(uint64_t ext)
{
	switch (ext) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return 1;
	default:
		return 0;
	}
}

long container_ioctl(Context &ctx, unsigned int cmd, uint64_t arg)
{
	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		return check_extension(ctx, arg);
	case VFIO_SET_IOMMU:
		return set_iommu(ctx, arg).code();
	case VFIO_IOMMU_GET_INFO:
		return get_info(ctx, arg).code();
	case VFIO_IOMMU_MAP_DMA:
		return map_dma(ctx, arg).code();
	case VFIO_IOMMU_UNMAP_DMA:
		return unmap_dma(ctx, arg).code();
	default:
		return -ENOIOCTLCMD;
	}
}

} // namespace iommufd::vfio
