// SPDX-License-Identifier: GPL-2.0
//
// smmuv3_model_fuzz.cpp - libFuzzer target for the software SMMUv3
// (module/smmuv3/model.hpp) as a whole.  The input supplies a guest STE
// (through validate_vste, as the HWPT allocation takes it), up to eight
// guest commands (through convert_user_cmd, as the invalidate ioctl takes
// them, then executed), DMA parameters, per-page stage-2 flags and the
// guest memory itself, where the fuzzer's CD tables, L1 descriptors and
// page tables live.  Guest memory folds every IPA below bit 40 into the
// buffer, so any pointer the fuzzer writes leads somewhere; IPAs with bit
// 40 set are not mapped at stage 2.  The DMAs run before and after the
// commands and after a guest edit, so cached (stale) and fresh paths both
// run.  Checked on every DMA: it returns, done <= length, a completed DMA
// moved every byte, events come only from the architected set the model
// reports, an event record names the event and the stream, and the caches
// never hold more entries than they have.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <vector>

#include "smmuv3/model.hpp"

#include "fuzz_util.h"

using namespace iommufd::smmuv3;

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMaxPages = 16;
constexpr size_t kHeader = 40;
constexpr unsigned kMaxCmds = 8;

class FuzzMemory : public GuestMemory {
public:
	FuzzMemory(const uint8_t *data, size_t size, const uint8_t *flags)
	{
		uint64_t pages = (size + kPage - 1) / kPage;
		if (pages == 0)
			pages = 1;
		if (pages > kMaxPages)
			pages = kMaxPages;
		bytes_.assign(pages * kPage, 0);
		memcpy(bytes_.data(), data, size < bytes_.size() ? size : bytes_.size());
		for (unsigned i = 0; i < kMaxPages; i++)
			flags_[i] = flags[i];
	}

	cxx::Status probe(uint64_t ipa, bool write) override
	{
		if (ipa & (1ull << 40))
			return cxx::Err(ENOENT);
		uint8_t f = flags_[page(ipa)];
		if (f & 1)
			return cxx::Err(ENOENT);
		if (write && (f & 2))
			return cxx::Err(EPERM);
		return {};
	}
	cxx::Status rw(uint64_t ipa, void *buf, uint64_t length, bool write) override
	{
		// The model never crosses 4 KiB in one call.
		check(length > 0 && length <= kPage);
		check((ipa & (kPage - 1)) + length <= kPage);
		TRY(probe(ipa, write));
		if ((flags_[page(ipa)] & 0xc) == 0xc)
			return cxx::Err(EFAULT);
		uint64_t off = ipa % bytes_.size();
		if (write)
			memcpy(&bytes_[off], buf, length);
		else
			memcpy(buf, &bytes_[off], length);
		return {};
	}

	void poke(uint64_t off, uint8_t v) { bytes_[off % bytes_.size()] ^= v; }

private:
	uint64_t page(uint64_t ipa) const { return (ipa % bytes_.size()) / kPage; }

	std::vector<uint8_t> bytes_;
	uint8_t flags_[kMaxPages];
};

bool known_event(uint8_t id)
{
	switch (id) {
	case 0:
	case evt::kBadSte:
	case evt::kStreamDisabled:
	case evt::kBadSubstreamId:
	case evt::kBadCd:
	case kEvtFWalkEabt:
	case evt::kTranslation:
	case evt::kAddrSize:
	case evt::kAccess:
	case evt::kPermission:
		return true;
	default:
		return false;
	}
}

void check_result(const DmaResult &r, uint64_t length, uint32_t sid)
{
	check(r.done <= length);
	check(known_event(r.event));
	if (r.aborted)
		check(r.event == 0 && r.done == 0 && !r.record);
	if (r.event == 0 && !r.aborted)
		check(r.done == length);
	if (r.record)
		check(r.event != 0);
	if (r.event) {
		check(r.evt.id() == r.event);
		check(r.evt.sid() == sid);
	}
	if (r.evt.words[1] & evtrec::k1S2)
		check((r.evt.words[3] & ~evtrec::k3Ipa.mask()) == 0);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < kHeader)
		return 0;
	const uint8_t *h = data;
	uint64_t ste_words[2] = {le64(h), le64(h + 8)};
	uint8_t flags = h[16];
	uint32_t ssid = h[17] | (uint32_t(h[18] & 1) << 8);
	uint16_t vmid = static_cast<uint16_t>(h[19] | (h[20] << 8));
	uint64_t iova = le64(h + 21);
	uint64_t length = (h[29] | (uint64_t(h[30] & 0x3f) << 8)) + 1;  // 1..16 KiB
	unsigned ncmds = h[31] % (kMaxCmds + 1);
	uint64_t poke_off = h[32] | (uint64_t(h[33]) << 8);
	uint8_t poke_val = h[34];
	uint32_t sid = h[35] | (uint32_t(h[36]) << 8);
	size_t rest = size - kHeader;
	const uint8_t *p = data + kHeader;

	size_t cmd_bytes = ncmds * 16;
	if (rest < cmd_bytes + kMaxPages)
		return 0;
	const uint8_t *cmds = p;
	const uint8_t *page_flags = p + cmd_bytes;
	const uint8_t *mem_bytes = page_flags + kMaxPages;
	size_t mem_size = rest - cmd_bytes - kMaxPages;

	auto smmu_r = Smmu::create();
	check(smmu_r.ok());
	auto smmu = smmu_r.take();
	FuzzMemory mem(mem_bytes, mem_size, page_flags);

	StreamConfig cfg;
	cfg.sid = sid;
	cfg.vmid = vmid;
	cfg.s2_only = flags & 1;
	if (!cfg.s2_only) {
		auto v = validate_vste(ste_words);
		if (!v.ok()) {
			check(v.error().code() == -EIO);
			cfg.s2_only = true;
		} else {
			cfg.vste = v.value();
		}
	}
	bool ssv = flags & 2;
	bool write = flags & 4;

	std::vector<uint8_t> buf(length, 0x5a);
	auto dma = [&] {
		DmaResult r = smmu->dma(cfg, mem, iova, buf.data(), length, write, ssv, ssid);
		check_result(r, length, sid);
		check(smmu->tlb_count() <= Tlb::kEntries);
		check(smmu->config_cache_count() <= Smmu::kConfigCacheEntries);
		if (cfg.s2_only)
			check(smmu->config_cache_count() == 0);
	};

	dma();
	dma();  // again: TLB and CD cache hits
	mem.poke(poke_off, poke_val);  // a guest edit without invalidation
	dma();
	auto lookup = [&](uint32_t vsid) -> cxx::Result<uint32_t> {
		if (vsid > 0xffff)
			return cxx::Err(ENOENT);
		return vsid ^ 1;
	};
	for (unsigned i = 0; i < ncmds; i++) {
		uint64_t w[2] = {le64(cmds + 16 * i), le64(cmds + 16 * i + 8)};
		auto c = convert_user_cmd(w, vmid, lookup);
		if (!c.ok())
			continue;
		smmu->execute(c.value());
		if (c.value().kind >= CmdKind::kTlbiNhAll && c.value().kind <= CmdKind::kTlbiNhVaa)
			check(c.value().vmid == vmid);
		dma();
	}
	if (flags & 8) {
		smmu->stream_changed(sid);
		dma();
	}
	if (flags & 16) {
		smmu->free_vmid(vmid);
		smmu->free_sid(sid);
		check(smmu->config_cache_count() == 0 || sid == 0);
		dma();
	}
	return 0;
}
