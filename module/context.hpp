// SPDX-License-Identifier: GPL-2.0
//
// context.hpp - one open file of /dev/iommu: its objects and options.
#pragma once

#include "object.hpp"

namespace iommufd {

class Context : cxx::NoCopyNoMove {
public:
	static Result<cxx::UniquePtr<Context>> create();
	Context() = default; // use create(): the table needs its lock
	~Context();

	ObjectTable &objects() { return objects_; }

private:
	ObjectTable objects_;
};

} // namespace iommufd
