// SPDX-License-Identifier: GPL-2.0
//
// dirty_bitmap.cpp - DirtyBitmap: dirty ranges from a domain backend turned
// into bits of the user's IOMMU_HWPT_GET_DIRTY_BITMAP buffer, through one
// bounded kernel window (see dirty_bitmap.hpp for the layout and why the
// user pages are copied rather than pinned).
#include "domain/dirty_bitmap.hpp"

#include "cxxrt/checked.hpp"
#include "kapi.h"

namespace iommufd {

cxx::Result<cxx::UniquePtr<DirtyBitmap>> DirtyBitmap::create(uint64_t iova, uint64_t length,
							      uint64_t page_size,
							      uint64_t user_bitmap)
{
	if (!length || !page_size || (page_size & (page_size - 1)))
		return cxx::Err(EINVAL);
	if ((iova & (page_size - 1)) || (length & (page_size - 1)))
		return cxx::Err(EINVAL);
	TRY(cxx::checked_last(iova, length));

	unsigned int pgshift = __builtin_ctzll(page_size);
	uint64_t nbits = length >> pgshift;
	uint64_t nbytes = nbits / 8 + (nbits % 8 != 0);
	// A user range that wraps cannot be accessed, which user copies report
	// as a fault: say so now rather than after the domain walk.
	uint64_t user_last;
	if (__builtin_add_overflow(user_bitmap, nbytes - 1, &user_last))
		return cxx::Err(EFAULT);

	auto window = TRY(cxx::UniqueArray<uint8_t>::zeroed(cxx::min(kWindowBytes, nbytes)));
	return cxx::make_unique<DirtyBitmap>(Token(), iova, length, pgshift, user_bitmap,
					     cxx::move(window));
}

DirtyBitmap::DirtyBitmap(Token, uint64_t iova, uint64_t length, unsigned int pgshift,
			 uint64_t user_bitmap, cxx::UniqueArray<uint8_t> window)
	: iova_(iova), length_(length), pgshift_(pgshift), user_(user_bitmap),
	  nbytes_((length >> pgshift) / 8 + ((length >> pgshift) % 8 != 0)),
	  window_(cxx::move(window))
{
}

DirtyBitmap::~DirtyBitmap()
{
	// Destruction cannot fail; a caller that needs the error flushed first.
	(void)flush();
}

cxx::Status DirtyBitmap::flush()
{
	if (error_)
		return cxx::Error(error_);
	if (!loaded_ || dirty_hi_ <= dirty_lo_)
		return {};
	int rc = kapi_copy_to_user(user_ + base_ + dirty_lo_, window_.data() + dirty_lo_,
				   dirty_hi_ - dirty_lo_);
	dirty_lo_ = len_;
	dirty_hi_ = 0;
	if (rc) {
		error_ = rc;
		loaded_ = false;
		return cxx::Error(rc);
	}
	return {};
}

cxx::Status DirtyBitmap::move_window(uint64_t byte)
{
	if (loaded_ && byte >= base_ && byte - base_ < len_)
		return {};
	TRY(flush());
	loaded_ = false;
	base_ = byte - byte % kWindowBytes;
	len_ = cxx::min(kWindowBytes, nbytes_ - base_);
	// Read the user's bytes first: bits already set there must survive,
	// since this writer only ever adds bits.
	int rc = kapi_copy_from_user(window_.data(), user_ + base_, len_);
	if (rc) {
		error_ = rc;
		return cxx::Error(rc);
	}
	loaded_ = true;
	dirty_lo_ = len_;
	dirty_hi_ = 0;
	return {};
}

void DirtyBitmap::set_bits(uint64_t first, uint64_t last)
{
	uint8_t *w = window_.data();
	uint64_t b = first - base_ * 8, e = last - base_ * 8; // window-relative, inclusive
	uint64_t lo = b / 8, hi = e / 8;

	if (lo == hi) {
		w[lo] |= static_cast<uint8_t>((0xffu << (b % 8)) & (0xffu >> (7 - e % 8)));
	} else {
		w[lo] |= static_cast<uint8_t>(0xffu << (b % 8));
		if (hi - lo > 1)
			__builtin_memset(w + lo + 1, 0xff, hi - lo - 1);
		w[hi] |= static_cast<uint8_t>(0xffu >> (7 - e % 8));
	}
	dirty_lo_ = cxx::min(dirty_lo_, lo);
	dirty_hi_ = cxx::max(dirty_hi_, hi + 1);
}

cxx::Status DirtyBitmap::record(uint64_t iova, uint64_t length)
{
	if (error_)
		return cxx::Error(error_);
	if (!length)
		return {};

	// Clip to the bitmap's IOVA range; a range running past 2^64 is clipped
	// there as well.
	uint64_t last;
	if (__builtin_add_overflow(iova, length - 1, &last))
		last = UINT64_MAX;
	uint64_t my_last = iova_ + (length_ - 1);
	uint64_t start = cxx::max(iova, iova_);
	last = cxx::min(last, my_last);
	if (start > last)
		return {};

	uint64_t bit = (start - iova_) >> pgshift_;
	uint64_t last_bit = (last - iova_) >> pgshift_;
	for (;;) {
		TRY(move_window(bit / 8));
		uint64_t window_last_bit = (base_ + len_) * 8 - 1;
		uint64_t seg_last = cxx::min(last_bit, window_last_bit);
		set_bits(bit, seg_last);
		if (seg_last == last_bit)
			return {};
		bit = seg_last + 1;
	}
}

} // namespace iommufd
