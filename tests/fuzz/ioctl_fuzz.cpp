// SPDX-License-Identifier: GPL-2.0
//
// ioctl_fuzz.cpp - libFuzzer target: a byte string becomes a sequence of
// ioctls on one /dev/iommu context (command, size, struct bytes), run on
// the portable core over the fake kapi with ASan/UBSan.  After the file is
// released, no object and no heap block may remain.  Commands that carry a
// user pointer get it aimed at a fuzzer-filled array, so their user copies
// are exercised (and fault at the array's end) without touching random
// host memory.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fake_kapi.h"
#include "kapi.h"
#include "uapi/iommufd.h"

namespace {

constexpr size_t kArrayBytes = 64 * sizeof(iommu_iova_range);

// The u64 user-pointer field of each command that has one.
void redirect_user_pointer(unsigned int cmd, uint8_t *buf, uint8_t *array)
{
	size_t field;
	switch (cmd) {
	case IOMMU_IOAS_IOVA_RANGES:
		field = offsetof(iommu_ioas_iova_ranges, allowed_iovas);
		break;
	case IOMMU_IOAS_ALLOW_IOVAS:
		field = offsetof(iommu_ioas_allow_iovas, allowed_iovas);
		break;
	default:
		return;
	}
	uint64_t v;
	memcpy(&v, buf + field, sizeof(v));
	if (v)
		v = reinterpret_cast<uint64_t>(array) + v % (kArrayBytes + 32);
	memcpy(buf + field, &v, sizeof(v));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	long allocs = iommufd_cxx_live_allocs();
	void *ctx;
	if (iommufd_cxx_open(&ctx, nullptr))
		abort();

	while (len >= 6) {
		// Op: 1 byte command selector, 1 byte struct length, 4 bytes size.
		unsigned int cmd = data[0] < 0xc0 ? _IO(IOMMUFD_TYPE, 0x78 + data[0] % 0x30)
						  : 0xc0000000u | data[0];
		size_t n = data[1] % 80;
		uint32_t size;
		memcpy(&size, data + 2, 4);
		if (data[1] & 0x80)
			size %= 96; // mostly plausible sizes, sometimes anything
		data += 6;
		len -= 6;
		n = n < len ? n : len;

		// The struct in a buffer exactly as long as the bytes given, so
		// reading past it is caught by ASan unless the size says stop.
		uint8_t *buf = static_cast<uint8_t *>(calloc(1, 96));
		memcpy(buf, data, n);
		memcpy(buf, &size, 4);
		fake_kapi::add_fault_range(reinterpret_cast<uint64_t>(buf) + 96, 1 << 20);

		// The fake kapi reads and writes "user" pointers directly, so a
		// struct's own pointer field must not be a random address: it is
		// redirected into a user array (its contents: the next input
		// bytes) at an offset chosen by the field, sometimes running off
		// its end into unmapped memory; 0 stays NULL.
		uint8_t *array = static_cast<uint8_t *>(calloc(1, kArrayBytes));
		memcpy(array, data + n, len - n < kArrayBytes ? len - n : kArrayBytes);
		fake_kapi::add_fault_range(reinterpret_cast<uint64_t>(array) + kArrayBytes, 1 << 20);
		redirect_user_pointer(cmd, buf, array);

		iommufd_cxx_ioctl(ctx, cmd, reinterpret_cast<unsigned long>(buf));
		fake_kapi::clear_fault_ranges();
		free(array);
		free(buf);
		data += n;
		len -= n;
	}

	fake_kapi::close_all_fds(); // they hold the file: release comes after
	iommufd_cxx_release(ctx);
	if (iommufd_cxx_live_objects() != 0 || iommufd_cxx_live_allocs() != allocs)
		abort();
	return 0;
}
