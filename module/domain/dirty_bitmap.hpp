// SPDX-License-Identifier: GPL-2.0
//
// dirty_bitmap.hpp - the writer of a user-space dirty bitmap for
// IOMMU_HWPT_GET_DIRTY_BITMAP.  Bit i of the user bitmap stands for the IOVA
// range [iova + i * page_size, + page_size); bit i lives in byte i / 8, bit
// i % 8 (the layout of a little-endian u64 bitmap, which is what the uAPI
// specifies on the little-endian targets we build for), so the user buffer
// may sit at any byte alignment.
//
// A domain backend calls record() for each dirty range it finds.  The
// writer never pins the user pages: it keeps one bounded kernel window of
// the bitmap (kWindowBytes), fills it from user memory when a record first
// lands in it, sets bits there, and writes back only the bytes it changed
// when the window moves or on flush().  Bits are only ever set: a
// read-modify-write of the user bytes, never a clear.  Records in
// increasing IOVA order touch each window once; any other order is still
// correct, only slower.
#pragma once

#include <stdint.h>

#include "cxxrt/base.hpp"
#include "cxxrt/memory.hpp"
#include "cxxrt/result.hpp"

namespace iommufd {

class DirtyBitmap : cxx::NoCopyNoMove {
	// Only create() can construct one (make_unique needs a public
	// constructor, this keeps it uncallable elsewhere).
	struct Token {
		explicit Token() = default;
	};

public:
	// Bytes of user bitmap held in the kernel at once (32768 bits).
	static constexpr uint64_t kWindowBytes = 4096;

	// A writer for the bitmap at user address user_bitmap covering
	// [iova, iova + length) in page_size pages.  -EINVAL: length or
	// page_size is zero, page_size is not a power of two, or iova or length
	// is not a multiple of page_size; -EOVERFLOW: the range wraps;
	// -EFAULT: the bitmap's user range wraps; -ENOMEM.
	static cxx::Result<cxx::UniquePtr<DirtyBitmap>> create(uint64_t iova, uint64_t length,
							       uint64_t page_size,
							       uint64_t user_bitmap);
	// Write back what is still pending; an error is lost here, so callers
	// that care call flush() first.
	~DirtyBitmap();

	// Mark every page_size page that [iova, iova + length) touches.  Parts
	// outside the bitmap's IOVA range are ignored (a backend may report a
	// whole large page that sticks out).  -EFAULT from the user bitmap,
	// and every later call then fails the same way.
	cxx::Status record(uint64_t iova, uint64_t length);
	// Write back the pending window.  -EFAULT.
	cxx::Status flush();

	uint64_t iova() const { return iova_; }
	uint64_t length() const { return length_; }
	uint64_t page_size() const { return 1ull << pgshift_; }

	DirtyBitmap(Token, uint64_t iova, uint64_t length, unsigned int pgshift,
		    uint64_t user_bitmap, cxx::UniqueArray<uint8_t> window);

private:
	// Make `byte` (an index into the user bitmap) part of the window.
	cxx::Status move_window(uint64_t byte);
	// Set bits [first, last] (bitmap bit indexes), all inside the window.
	void set_bits(uint64_t first, uint64_t last);

	const uint64_t iova_;
	const uint64_t length_;
	const unsigned int pgshift_;
	const uint64_t user_;      // user address of bit 0
	const uint64_t nbytes_;    // bytes of user bitmap
	cxx::UniqueArray<uint8_t> window_;
	bool loaded_ = false;      // window_ holds user bytes [base_, base_ + len_)
	uint64_t base_ = 0;
	uint64_t len_ = 0;
	uint64_t dirty_lo_ = 0;    // changed bytes: [dirty_lo_, dirty_hi_) of the window
	uint64_t dirty_hi_ = 0;
	int error_ = 0;            // sticky: the first user-copy failure
};

} // namespace iommufd
