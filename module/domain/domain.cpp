// SPDX-License-Identifier: GPL-2.0
//
// domain.cpp - the out-of-line parts of the Domain interface: the virtual
// destructor (the key function, so the vtable is emitted once, here) and
// the defaults for backends without dirty tracking.
#include "domain/domain.hpp"

namespace iommufd {

Domain::Domain(uint64_t pgsize_bitmap, uint64_t aperture_start, uint64_t aperture_last)
	: pgsize_bitmap_(pgsize_bitmap), aperture_start_(aperture_start),
	  aperture_last_(aperture_last)
{
	// A domain without page sizes or with an empty window is a backend bug.
	CXX_ASSERT(pgsize_bitmap != 0 && aperture_start <= aperture_last);
}

Domain::~Domain() = default;

bool Domain::dirty_tracking_supported() const { return false; }

cxx::Status Domain::set_dirty_tracking(bool enable) { return cxx::Err(EOPNOTSUPP); }

cxx::Status Domain::read_and_clear_dirty(uint64_t iova, uint64_t length, bool no_clear,
					 DirtyBitmap &out)
{
	return cxx::Err(EOPNOTSUPP);
}

cxx::Status Domain::clear_dirty(uint64_t iova, uint64_t length) { return cxx::Err(EOPNOTSUPP); }

} // namespace iommufd
