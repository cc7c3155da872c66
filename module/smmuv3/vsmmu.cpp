// SPDX-License-Identifier: GPL-2.0
//
// vsmmu.cpp - the software SMMUv3 driver: MOCK_SMMUV3 devices, their
// vIOMMUs and nested HWPTs, invalidation and DMA (see vsmmu.hpp).  Errnos
// follow upstream's arm-smmu-v3-iommufd.c where it has them; our own
// choices are documented in uapi/.
#include "smmuv3/vsmmu.hpp"

#include "device.hpp"
#include "hwpt.hpp"
#include "viommu.hpp"

#include "cxxrt/log.hpp"
#include "domain/mock_domain.hpp"
#include "smmuv3/model.hpp"
#include "uapi/iommufd.h"
#include "uapi/iommufd_test.h"

namespace iommufd::smmuv3 {

namespace {

// The instance, made at module load (no global constructors: a pointer).
Smmu *g_smmu;

// A nested HWPT's configuration: the guest STE as validated.
class NestedSte final : public NestedConfig {
public:
	explicit NestedSte(const Vste &v) : vste(v) {}
	Vste vste;
};

// Stage 2 of a stream: its nesting parent's IOAS.
class IoptMemory final : public GuestMemory {
public:
	explicit IoptMemory(iopt::IoPagetable &iopt) : iopt_(iopt) {}
	Status probe(uint64_t ipa, bool write) override { return iopt_.probe(ipa, write); }
	Status rw(uint64_t ipa, void *buf, uint64_t length, bool write) override
	{
		return iopt_.access_rw(ipa, buf, length, write);
	}

private:
	iopt::IoPagetable &iopt_;
};

class VsmmuDriver final : public ViommuDriver {
public:
	explicit VsmmuDriver(uint16_t vmid) : vmid_(vmid) {}
	~VsmmuDriver() override { g_smmu->free_vmid(vmid_); }
	uint16_t vmid() const { return vmid_; }

	uint32_t veventq_type() const override { return IOMMU_VEVENTQ_TYPE_ARM_SMMUV3; }
	uint32_t invalidate_type() const override
	{
		return IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3;
	}

	// A StreamID is 32 bits wide: a larger virt_id could never be named
	// by a guest command.
	Result<uint32_t> vdevice_phys_id(Device &dev, uint64_t virt_id) override
	{
		auto sid = device_sid(dev);
		if (!sid.ok()) {
			log_user("vdevice_alloc: device %u is not behind the SMMUv3", dev.id());
			return cxx::Err(EINVAL);
		}
		if (virt_id > UINT32_MAX) {
			log_user("vdevice_alloc: vSID 0x%llx is wider than a StreamID",
				 (unsigned long long)virt_id);
			return cxx::Err(EINVAL);
		}
		return sid.value();
	}

	Status cache_invalidate(Viommu &viommu, uint64_t uptr, uint32_t entry_len,
				uint32_t entry_num, uint32_t *done) override;

	Result<cxx::UniquePtr<NestedConfig>> alloc_nested(Viommu &viommu, Device &dev,
							   uint32_t data_type, uint32_t data_len,
							   uint64_t data_uptr) override;

private:
	const uint16_t vmid_;
};

class SmmuBackend final : public DeviceBackend {
public:
	explicit SmmuBackend(uint32_t sid) : sid_(sid) {}
	~SmmuBackend() override { g_smmu->free_sid(sid_); }
	uint32_t sid() const { return sid_; }

	const char *name() const override { return "iommufd_cxx_smmuv3"; }
	DomainDriver driver() const override { return DomainDriver::SoftSmmuV3; }
	bool cache_coherent() const override { return true; } // IDR0.COHACC
	bool dirty_tracking() const override { return false; }
	uint8_t max_pasid_log2() const override { return 0; }

	// Stage 2 (and plain paging) tables are the mock IOMMU's software
	// tables; the model reads stage 2 from the IOAS they mirror.
	Result<cxx::UniquePtr<Domain>> alloc_paging(uint32_t) override
	{
		auto d = TRY(MockDomain::create(0, false));
		return cxx::UniquePtr<Domain>(d.release());
	}
	Status can_attach(Domain &) override { return {}; }

	// A stage-1 STE needs the device's vSID on that vIOMMU (events carry
	// it), as upstream's attach does; abort and bypass do not.
	Status can_attach_nested(Device &dev, HwptNested &hwpt) override
	{
		if (!hwpt.viommu) {
			log_user("attach: HWPT %u is not an SMMUv3 nested HWPT", hwpt.id());
			return cxx::Err(EINVAL);
		}
		const Vste &v = static_cast<NestedSte &>(*hwpt.config).vste;
		if (v.valid && v.config == SteConfig::kS1Trans &&
		    !hwpt.viommu->virt_id_of(dev).ok()) {
			log_user("attach: device %u has no vDEVICE on vIOMMU %u", dev.id(),
				 hwpt.viommu->id());
			return cxx::Err(ENOENT);
		}
		return {};
	}
	void hwpt_changed() override { g_smmu->stream_changed(sid_); }

	bool viommu_capable() const override { return true; }
	Result<cxx::UniquePtr<ViommuDriver>> viommu_alloc(uint32_t type, HwptPaging &) override
	{
		if (type != IOMMU_VIOMMU_TYPE_ARM_SMMUV3) {
			log_user("viommu_alloc: the SMMUv3 serves no vIOMMU type %u", type);
			return cxx::Err(EOPNOTSUPP);
		}
		uint16_t vmid = TRY(g_smmu->alloc_vmid());
		auto d = cxx::make_unique<VsmmuDriver>(vmid);
		if (!d.ok()) {
			g_smmu->free_vmid(vmid);
			return d.error();
		}
		return cxx::UniquePtr<ViommuDriver>(d.take().release());
	}

	Result<uint32_t> hw_info(uint32_t *type, void *buf, uint32_t cap) override
	{
		if (*type != IOMMU_HW_INFO_TYPE_DEFAULT && *type != IOMMU_HW_INFO_TYPE_ARM_SMMUV3) {
			log_user("get_hw_info: the SMMUv3 serves no type 0x%x", *type);
			return cxx::Err(EOPNOTSUPP);
		}
		IdRegs regs = Smmu::id_regs();
		iommu_hw_info_arm_smmuv3 info = {};
		for (unsigned int i = 0; i < 6; i++)
			info.idr[i] = regs.idr[i];
		info.iidr = regs.iidr;
		info.aidr = regs.aidr;
		CXX_ASSERT(cap >= sizeof(info));
		__builtin_memcpy(buf, &info, sizeof(info));
		*type = IOMMU_HW_INFO_TYPE_ARM_SMMUV3;
		return uint32_t(sizeof(info));
	}

private:
	const uint32_t sid_;
};

SmmuBackend *backend_of(Device &dev)
{
	if (dev.backend().driver() != DomainDriver::SoftSmmuV3)
		return nullptr;
	return static_cast<SmmuBackend *>(&dev.backend());
}

// Guest commands are copied in chunks, so a batch of up to 2^19 entries
// needs no large buffer; each entry as copy_struct_from_user takes it: a
// shorter entry is zero-extended, a longer one must have a zero tail.
constexpr uint32_t kChunk = 64;

Status copy_entries(uint64_t (*out)[cmd::kWords], uint64_t uptr, uint32_t entry_len,
		    uint32_t n)
{
	constexpr uint32_t kSize = sizeof(iommu_viommu_arm_smmuv3_invalidate);
	if (entry_len == kSize) {
		if (kapi_copy_from_user(out, uptr, uint64_t(n) * kSize))
			return cxx::Err(EFAULT);
	} else {
		for (uint32_t i = 0; i < n; i++) {
			uint64_t src = uptr + uint64_t(i) * entry_len;
			out[i][0] = out[i][1] = 0;
			if (kapi_copy_from_user(out[i], src, cxx::min(entry_len, kSize)))
				return cxx::Err(EFAULT);
			if (entry_len > kSize) {
				int zero = kapi_check_zeroed_user(src + kSize, entry_len - kSize);
				if (zero < 0)
					return cxx::Error(zero);
				if (!zero) {
					log_user("hwpt_invalidate: entry %u has non-zero bytes past %u",
						 i, kSize);
					return cxx::Err(E2BIG);
				}
			}
		}
	}
	for (uint32_t i = 0; i < n; i++)
		for (auto &w : out[i])
			w = le64_to_cpu(w);
	return {};
}

Status VsmmuDriver::cache_invalidate(Viommu &viommu, uint64_t uptr, uint32_t entry_len,
				     uint32_t entry_num, uint32_t *done)
{
	auto buf = TRY(cxx::UniqueArray<uint64_t>::zeroed(kChunk * cmd::kWords));
	auto *entries = reinterpret_cast<uint64_t(*)[cmd::kWords]>(buf.data());
	auto lookup = [&](uint32_t vsid) { return viommu.phys_id(vsid); };
	auto run = [&](const Command &c) -> Status {
		g_smmu->execute(c);
		return {};
	};
	*done = 0;
	for (uint32_t first = 0; first < entry_num;) {
		uint32_t n = cxx::min(kChunk, entry_num - first);
		TRY(copy_entries(entries, uptr + uint64_t(first) * entry_len, entry_len, n));
		uint32_t handled = 0;
		Status st = convert_user_cmds(entries, n, vmid_, lookup, run, &handled);
		*done = first + handled;
		if (!st.ok()) {
			log_user("hwpt_invalidate: vIOMMU %u: command %u (0x%016llx 0x%016llx) refused",
				 viommu.id(), *done, (unsigned long long)entries[handled][0],
				 (unsigned long long)entries[handled][1]);
			return st;
		}
		first += n;
	}
	return {};
}

Result<cxx::UniquePtr<NestedConfig>> VsmmuDriver::alloc_nested(Viommu &viommu, Device &dev,
								uint32_t data_type,
								uint32_t data_len,
								uint64_t data_uptr)
{
	if (!backend_of(dev)) {
		log_user("hwpt_alloc: device %u is not behind vIOMMU %u's SMMUv3", dev.id(),
			 viommu.id());
		return cxx::Err(EINVAL);
	}
	// As 6.12's iommu_copy_struct_from_user: the type must match and the
	// length must be exactly what the struct has always been.
	iommu_hwpt_arm_smmuv3 data;
	if (data_type != IOMMU_HWPT_DATA_ARM_SMMUV3 || data_len != sizeof(data)) {
		log_user("hwpt_alloc: vIOMMU %u takes IOMMU_HWPT_DATA_ARM_SMMUV3 of %zu bytes, "
			 "not type %u of %u", viommu.id(), sizeof(data), data_type, data_len);
		return cxx::Err(EINVAL);
	}
	if (kapi_copy_from_user(&data, data_uptr, sizeof(data)))
		return cxx::Err(EFAULT);
	uint64_t words[ste::kUserWords] = { le64_to_cpu(data.ste[0]), le64_to_cpu(data.ste[1]) };
	auto vste = validate_vste(words);
	if (!vste.ok()) {
		log_user("hwpt_alloc: guest STE 0x%016llx 0x%016llx is not one a guest may own",
			 (unsigned long long)words[0], (unsigned long long)words[1]);
		return vste.error();
	}
	auto cfg = TRY(cxx::make_unique<NestedSte>(vste.value()));
	return cxx::UniquePtr<NestedConfig>(cfg.release());
}

// Hand a fault to the guest: the vSID replaces the StreamID.  A device
// without a vDEVICE (a bypass or abort STE), or a vIOMMU without a vEVENTQ,
// drops it, as upstream.
void deliver(Device &dev, Viommu *viommu, EventRecord evt)
{
	uint32_t sid = evt.sid();
	if (!viommu) {
		log_user("smmuv3: event 0x%02x for StreamID %u on a stage-2-only stream",
			 evt.id(), sid);
		return;
	}
	auto vsid = viommu->virt_id_of(dev);
	if (!vsid.ok()) {
		log_user("smmuv3: event 0x%02x dropped: device %u has no vDEVICE", evt.id(),
			 dev.id());
		return;
	}
	evt.set_sid(static_cast<uint32_t>(vsid.value()));
	iommu_vevent_arm_smmuv3 rec;
	for (unsigned int i = 0; i < 4; i++)
		rec.evt[i] = cpu_to_le64(evt.words[i]);
	if (!viommu->report_event(IOMMU_VEVENTQ_TYPE_ARM_SMMUV3, &rec, sizeof(rec)))
		log_user("smmuv3: event 0x%02x dropped: vIOMMU %u has no vEVENTQ", evt.id(),
			 viommu->id());
}

} // namespace

Status soft_smmu_init()
{
	auto s = TRY(Smmu::create());
	g_smmu = s.release();
	return {};
}

void soft_smmu_exit()
{
	cxx::UniquePtr<Smmu> gone(cxx::exchange(g_smmu, nullptr));
}

Result<cxx::UniquePtr<DeviceBackend>> make_device_backend(uint32_t *sid_out)
{
	uint32_t sid = TRY(g_smmu->alloc_sid());
	*sid_out = sid;
	auto be = cxx::make_unique<SmmuBackend>(sid);
	if (!be.ok()) {
		g_smmu->free_sid(sid);
		return be.error();
	}
	return cxx::UniquePtr<DeviceBackend>(be.take().release());
}

Result<uint32_t> device_sid(Device &dev)
{
	SmmuBackend *be = backend_of(dev);
	if (!be)
		return cxx::Err(EINVAL);
	return be->sid();
}

Result<DmaOutcome> device_dma(Device &dev, uint64_t iova, void *buf, uint64_t length,
			      bool write, bool ssv, uint32_t ssid)
{
	SmmuBackend *be = backend_of(dev);
	if (!be) {
		log_user("smmu_dma: device %u is not behind the SMMUv3", dev.id());
		return cxx::Err(EINVAL);
	}
	// Held for the DMA: the HWPT, and through it the vIOMMU, the parent
	// and the IOAS, cannot go away under the model.
	ObjRef<Object> hwpt = dev.attached();
	if (!hwpt) {
		log_user("smmu_dma: device %u is not attached", dev.id());
		return cxx::Err(EINVAL);
	}
	StreamConfig cfg;
	cfg.sid = be->sid();
	iopt::IoPagetable *s2;
	Viommu *viommu = nullptr;
	if (hwpt->type() == ObjType::HwptPaging) {
		s2 = &static_cast<HwptPaging *>(hwpt.get())->ioas().iopt();
	} else {
		auto *nested = static_cast<HwptNested *>(hwpt.get());
		CXX_ASSERT(nested->viommu); // can_attach_nested let no other in
		viommu = nested->viommu.get();
		cfg.s2_only = false;
		cfg.vste = static_cast<NestedSte &>(*nested->config).vste;
		cfg.vmid = static_cast<VsmmuDriver &>(viommu->driver()).vmid();
		s2 = &nested->parent->ioas().iopt();
	}
	IoptMemory mem(*s2);
	DmaResult r = g_smmu->dma(cfg, mem, iova, buf, length, write, ssv, ssid);
	if (r.event && r.record)
		deliver(dev, viommu, r.evt);
	return DmaOutcome{ r.done, r.aborted ? uint32_t(SMMU_DMA_ABORTED) : r.event };
}

} // namespace iommufd::smmuv3
