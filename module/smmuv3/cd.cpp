// SPDX-License-Identifier: GPL-2.0
//
// cd.cpp - decode_cd(): a guest Context Descriptor read into Cd and checked
// against what the software SMMUv3 model implements (cd.hpp lists it).  The
// checks come before any field is trusted, in the order a reader would
// check them by hand: valid, format, endianness, then each half in use.
#include "smmuv3/cd.hpp"

namespace iommufd::smmuv3 {

namespace {

constexpr uint8_t kTszMin = 16;   // 48-bit VA
constexpr uint8_t kTszMax = 39;   // 25-bit VA, the 4 KiB granule's floor
constexpr uint8_t kIpsBits[] = {32, 36, 40, 42, 44, 48};

cxx::Error refuse(CdError reason, CdError *why)
{
	if (why)
		*why = reason;
	return cxx::Err(EIO);
}

} // namespace

cxx::Result<Cd> decode_cd(const uint64_t words[cd::kWords], CdError *why)
{
	using namespace cd;
	if (why)
		*why = CdError::kNone;
	const uint64_t w0 = words[0];

	if (!(w0 & k0V))
		return refuse(CdError::kNotValid, why);
	if (!(w0 & k0AA64))
		return refuse(CdError::kNotAArch64, why);
	if (w0 & k0ENDI)
		return refuse(CdError::kBigEndian, why);
	if (w0 & (k0HA | k0HD))
		return refuse(CdError::kHttu, why);
	uint64_t ips = k0IPS.get(w0);
	if (ips >= sizeof(kIpsBits))
		return refuse(CdError::kIps, why);

	Cd c = {};
	for (unsigned int i = 0; i < kWords; i++)
		c.words[i] = words[i];

	c.half[0].enabled = !(w0 & k0EPD0);
	c.half[0].tsz = static_cast<uint8_t>(k0T0SZ.get(w0));
	c.half[0].irgn = static_cast<uint8_t>(k0IR0.get(w0));
	c.half[0].orgn = static_cast<uint8_t>(k0OR0.get(w0));
	c.half[0].sh = static_cast<uint8_t>(k0SH0.get(w0));
	c.half[0].tbi = w0 & k0TBI0;
	c.half[0].ttb = words[1] & k1TTB0.mask();
	if (c.half[0].enabled && k0TG0.get(w0) != kTG0_4k)
		return refuse(CdError::kGranule, why);

	c.half[1].enabled = !(w0 & k0EPD1);
	c.half[1].tsz = static_cast<uint8_t>(k0T1SZ.get(w0));
	c.half[1].irgn = static_cast<uint8_t>(k0IR1.get(w0));
	c.half[1].orgn = static_cast<uint8_t>(k0OR1.get(w0));
	c.half[1].sh = static_cast<uint8_t>(k0SH1.get(w0));
	c.half[1].tbi = w0 & k0TBI1;
	c.half[1].ttb = words[2] & k2TTB1.mask();
	if (c.half[1].enabled && k0TG1.get(w0) != kTG1_4k)
		return refuse(CdError::kGranule, why);

	for (const CdHalf &h : c.half) {
		if (h.enabled && (h.tsz < kTszMin || h.tsz > kTszMax))
			return refuse(CdError::kTxSZ, why);
	}

	c.asid = static_cast<uint16_t>(k0ASID.get(w0));
	c.ips = static_cast<uint8_t>(ips);
	c.oas_bits = kIpsBits[ips];
	c.aset = w0 & k0ASET;
	c.stall = w0 & k0S;
	c.record = w0 & k0R;
	c.abort = w0 & k0A;
	c.mair = words[kMairWord];
	return c;
}

} // namespace iommufd::smmuv3
