// SPDX-License-Identifier: GPL-2.0
//
// selftest.cpp - IOMMU_TEST_CMD: the test ABI of uapi/iommufd_test.h.
//
// Upstream compiles its test ABI in only for CONFIG_IOMMUFD_TEST kernels; we
// compile it in always and serve it only when the module parameter
// test_abi=1 was given at load, so a production load never exposes it
// (ENOTTY, as if the command did not exist).  Unknown ops are EOPNOTSUPP,
// as upstream.
//
// The mock IOMMU: IOMMU_TEST_OP_MOCK_DOMAIN makes a mock device (a
// MockBackend behind a Device, owned by a "selftest" object whose ID is
// the stdev ID), binds it and attaches it; destroying the stdev detaches
// and unbinds it.  Its domains are MockDomains (domain/mock_domain.hpp),
// software page tables the MD_CHECK_* ops inspect.
#include "selftest.hpp"

#include "access.hpp"
#include "context.hpp"
#include "device.hpp"
#include "fault.hpp"
#include "hwpt.hpp"
#include "ucmd.hpp"

#include "cxxrt/atomic.hpp"
#include "cxxrt/checked.hpp"
#include "cxxrt/log.hpp"
#include "iopt/page.hpp"
#include "iopt/pages.hpp"
#include "smmuv3/vsmmu.hpp"
#include "uapi/iommufd.h"
#include "uapi/iommufd_test.h"

namespace iommufd {

namespace {

constexpr uint32_t kMockDevFlags = MOCK_FLAGS_DEVICE_NO_DIRTY | MOCK_FLAGS_DEVICE_HUGE_IOVA |
				   MOCK_FLAGS_DEVICE_PASID | MOCK_FLAGS_DEVICE_CXX_NOT_COHERENT;
constexpr uint64_t kMockPageSize = iopt::kPageSize / 2;
// Upstream caps test buffers so a fuzzer cannot make it allocate wildly.
constexpr uint64_t kMaxTestBuffer = 16ull << 20;

// ---- the mock IOMMU driver -------------------------------------------------

class MockBackend final : public DeviceBackend {
public:
	explicit MockBackend(uint32_t flags) : flags_(flags) {}

	const char *name() const override { return "iommufd_mock"; }
	DomainDriver driver() const override { return DomainDriver::Mock; }
	bool cache_coherent() const override
	{
		return !(flags_ & MOCK_FLAGS_DEVICE_CXX_NOT_COHERENT);
	}
	bool dirty_tracking() const override { return !(flags_ & MOCK_FLAGS_DEVICE_NO_DIRTY); }
	uint8_t max_pasid_log2() const override
	{
		return (flags_ & MOCK_FLAGS_DEVICE_PASID) ? MOCK_PASID_WIDTH : 0;
	}

	Result<cxx::UniquePtr<Domain>> alloc_paging(uint32_t flags) override
	{
		auto d = TRY(MockDomain::create(flags_, flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING));
		return cxx::UniquePtr<Domain>(d.release());
	}

	// A device without dirty tracking cannot join a domain that tracks.
	Status can_attach(Domain &domain) override
	{
		if (domain.dirty_tracking_supported() && (flags_ & MOCK_FLAGS_DEVICE_NO_DIRTY))
			return cxx::Err(EINVAL);
		return {};
	}
	// The mock's own nested domains only; a vIOMMU's nested HWPT belongs
	// to the driver that made the vIOMMU (its parent's driver check has
	// already refused it, this is the belt to those braces).
	Status can_attach_nested(Device &, HwptNested &hwpt) override
	{
		return hwpt.domain ? Status() : cxx::Err(EINVAL);
	}

	Result<uint32_t> hw_info(uint32_t *type, void *buf, uint32_t cap) override
	{
		if (*type != IOMMU_HW_INFO_TYPE_DEFAULT && *type != IOMMU_HW_INFO_TYPE_SELFTEST) {
			log_user("get_hw_info: mock serves no type 0x%x", *type);
			return cxx::Err(EOPNOTSUPP);
		}
		iommu_test_hw_info info = {};
		info.test_reg = IOMMU_HW_INFO_SELFTEST_REGVAL;
		CXX_ASSERT(cap >= sizeof(info));
		__builtin_memcpy(buf, &info, sizeof(info));
		*type = IOMMU_HW_INFO_TYPE_SELFTEST;
		return uint32_t(sizeof(info));
	}

private:
	uint32_t flags_;
};

// The stdev object: owns the mock device's binding.
class MockDevice final : public Object {
public:
	static constexpr ObjType kType = ObjType::Selftest;
	MockDevice(Context &ctx) : Object(kType), ctx_(ctx) {}
	~MockDevice() override
	{
		if (idev) {
			idev->detach();
			ctx_.objects().put_and_try_destroy(idev);
		}
	}
	ObjRef<Device> idev;

private:
	Context &ctx_;
};

// ---- mock devices ----------------------------------------------------------

// Bind a device with `backend`, attach it to cmd.id and make its stdev;
// writes the three IDs through the out pointers before responding.
Status bind_mock_device(Ucmd &ucmd, cxx::UniquePtr<DeviceBackend> backend, uint32_t *out_stdev,
			uint32_t *out_hwpt, uint32_t *out_idev)
{
	Context &ctx = ucmd.ctx;
	auto dev = TRY(Device::create(ctx, cxx::move(backend)));
	Device *dev_raw = dev.get();
	auto stdev = TRY(cxx::make_unique<MockDevice>(ctx));
	MockDevice *stdev_raw = stdev.get();

	auto dev_pending = TRY(ctx.objects().add(cxx::move(dev)));
	auto stdev_pending = TRY(ctx.objects().add(cxx::move(stdev)));
	uint32_t pt_id = ucmd.cmd<iommu_test_cmd>().id;
	TRY(dev_raw->attach(&pt_id));

	*out_stdev = stdev_pending.id();
	*out_hwpt = pt_id;
	*out_idev = dev_pending.id();
	Status st = ucmd.respond();
	if (!st.ok()) {
		dev_raw->detach();
		return st; // both objects are aborted, device first
	}
	stdev_raw->idev = dev_pending.commit_and_hold().cast<Device>();
	stdev_pending.commit();
	return {};
}

Status mock_domain(Ucmd &ucmd, iommu_test_cmd &cmd)
{
	uint32_t flags = 0;
	if (cmd.op == IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS)
		flags = cmd.mock_domain_flags.dev_flags;
	if (flags & ~kMockDevFlags) {
		log_user("mock_domain: unknown device flags 0x%x", flags);
		return cxx::Err(EINVAL);
	}
	auto backend = TRY(cxx::make_unique<MockBackend>(flags));
	return bind_mock_device(ucmd, cxx::UniquePtr<DeviceBackend>(backend.release()),
				&cmd.mock_domain.out_stdev_id, &cmd.mock_domain.out_hwpt_id,
				&cmd.mock_domain.out_idev_id);
}

// A device behind the software SMMUv3 (smmuv3/vsmmu.hpp).
Status mock_smmuv3(Ucmd &ucmd, iommu_test_cmd &cmd)
{
	if (cmd.mock_smmuv3.dev_flags) {
		log_user("mock_smmuv3: unknown device flags 0x%x", cmd.mock_smmuv3.dev_flags);
		return cxx::Err(EINVAL);
	}
	auto backend = TRY(smmuv3::make_device_backend(&cmd.mock_smmuv3.out_sid));
	return bind_mock_device(ucmd, cxx::move(backend), &cmd.mock_smmuv3.out_stdev_id,
				&cmd.mock_smmuv3.out_hwpt_id, &cmd.mock_smmuv3.out_idev_id);
}

// One DMA by a MOCK_SMMUV3 device through whatever it is attached to.
Status smmu_dma(Ucmd &ucmd, iommu_test_cmd &cmd)
{
	auto &d = cmd.smmu_dma;
	constexpr uint64_t kMaxDma = 1u << 20;
	if ((d.flags & ~(SMMU_DMA_WRITE | SMMU_DMA_SSID)) ||
	    (!(d.flags & SMMU_DMA_SSID) && d.ssid) || !d.length || d.length > kMaxDma) {
		log_user("smmu_dma: flags 0x%x, ssid %u or length 0x%llx not valid", d.flags, d.ssid,
			 (unsigned long long)d.length);
		return cxx::Err(EINVAL);
	}
	TRY(cxx::checked_last(d.iova, d.length));
	auto stdev = ucmd.ctx.objects().get<MockDevice>(cmd.id);
	if (!stdev.ok()) {
		log_user("smmu_dma: no mock device %u", cmd.id);
		return stdev.error();
	}
	const bool write = d.flags & SMMU_DMA_WRITE;
	auto buf = TRY(cxx::UniqueArray<uint8_t>::zeroed(d.length));
	if (write && kapi_copy_from_user(buf.data(), d.uptr, d.length))
		return cxx::Err(EFAULT);
	auto out = TRY(smmuv3::device_dma(*stdev.value()->idev, d.iova, buf.data(), d.length,
					  write, d.flags & SMMU_DMA_SSID, d.ssid));
	if (!write && out.done && kapi_copy_to_user(d.uptr, buf.data(), out.done))
		return cxx::Err(EFAULT);
	d.out_event = out.event;
	d.out_done = static_cast<uint32_t>(out.done);
	return ucmd.respond();
}

Status mock_domain_replace(Ucmd &ucmd, iommu_test_cmd &cmd)
{
	auto stdev = ucmd.ctx.objects().get<MockDevice>(cmd.id);
	if (!stdev.ok()) {
		log_user("mock_domain_replace: no mock device %u", cmd.id);
		return stdev.error();
	}
	uint32_t pt_id = cmd.mock_domain_replace.pt_id;
	TRY(stdev.value()->idev->replace(&pt_id));
	cmd.mock_domain_replace.pt_id = pt_id;
	return ucmd.respond();
}

// ---- page checks -------------------------------------------------------------

// Every 2 KiB IO page of [iova, iova + length) in the mock domain maps the
// same physical byte as the user address at the same offset.
Status md_check_map(Ucmd &ucmd, const iommu_test_cmd &cmd)
{
	uint64_t iova = cmd.check_map.iova, length = cmd.check_map.length;
	uint64_t uptr = cmd.check_map.uptr;
	if ((iova | length | uptr) % kMockPageSize || !cxx::checked_add(uptr, length).ok())
		return cxx::Err(EINVAL);
	auto hwpt = ucmd.ctx.objects().get<HwptPaging>(cmd.id);
	if (!hwpt.ok())
		return hwpt.error();
	MockDomain *mock = hwpt.value()->mock();
	if (!mock)
		return cxx::Err(EINVAL);
	for (; length; length -= kMockPageSize, iova += kMockPageSize, uptr += kMockPageSize) {
		uint64_t pfn;
		int r = kapi_test_user_pfn(uptr & ~(iopt::kPageSize - 1), &pfn);
		if (r < 0)
			return cxx::Error(r);
		auto pa = mock->lookup(iova);
		if (!pa.ok() || pa.value() != pfn * iopt::kPageSize + uptr % iopt::kPageSize) {
			log_user("md_check_map: IOVA 0x%llx does not map user 0x%llx",
				 (unsigned long long)iova, (unsigned long long)uptr);
			return cxx::Err(EINVAL);
		}
	}
	return {};
}

// Every page of [uptr, uptr + length) must be pinned exactly `refs` times
// (compound pages are not checked: their counts are shared).  EIO if not.
Status md_check_refs(const iommu_test_cmd &cmd)
{
	uint64_t uptr = cmd.check_refs.uptr;
	uint64_t length = cmd.check_refs.length;
	if (length % iopt::kPageSize || uptr % iopt::kPageSize ||
	    !cxx::checked_add(uptr, length).ok())
		return cxx::Err(EINVAL); // a wrapping range too, as upstream
	for (; length; length -= iopt::kPageSize, uptr += iopt::kPageSize) {
		unsigned int pins;
		int r = kapi_test_page_pins(uptr, &pins);
		if (r < 0)
			return cxx::Error(r);
		if (r == 0 && pins != cmd.check_refs.refs)
			return cxx::Err(EIO);
	}
	return {};
}

Status md_check_iotlb(Ucmd &ucmd, const iommu_test_cmd &cmd)
{
	auto hwpt = ucmd.ctx.objects().get<HwptNested>(cmd.id);
	if (!hwpt.ok())
		return hwpt.error();
	if (!hwpt.value()->domain || cmd.check_iotlb.id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX ||
	    hwpt.value()->domain->iotlb(cmd.check_iotlb.id) != cmd.check_iotlb.iotlb)
		return cxx::Err(EINVAL);
	return {};
}

Status add_reserved(Ucmd &ucmd, const iommu_test_cmd &cmd)
{
	if (!cmd.add_reserved.length)
		return cxx::Err(EINVAL);
	uint64_t last = TRY(cxx::checked_last(cmd.add_reserved.start, cmd.add_reserved.length));
	auto ioas = TRY(ucmd.ctx.objects().get<Ioas>(cmd.id));
	return ioas->iopt().reserve(cmd.add_reserved.start, last, nullptr);
}

Status set_temp_memory_limit(const iommu_test_cmd &cmd)
{
	// A batch must hold at least one (pfn, count) entry.
	if (cmd.memory_limit.limit < sizeof(unsigned long) + sizeof(uint32_t))
		return cxx::Err(EINVAL);
	iopt::set_pin_batch_bytes(cmd.memory_limit.limit);
	return {};
}

// ---- test accesses -------------------------------------------------------------

// The access behind a test access fd, held for the duration of a command.
// No such fd, or an fd of another kind, is EBADFD (upstream's
// iommufd_access_get), not EBADF.
class AccessFd : cxx::NoCopyNoMove {
public:
	explicit AccessFd(int fd)
	{
		access_ = static_cast<Access *>(kapi_fd_get(fd, KAPI_FD_ACCESS, &ref_));
	}
	~AccessFd()
	{
		if (access_)
			kapi_fd_put(ref_);
	}
	Access *get() const { return access_; }

private:
	Access *access_ = nullptr;
	void *ref_ = nullptr;
};

Status create_access(Ucmd &ucmd, iommu_test_cmd &cmd)
{
	uint32_t flags = cmd.create_access.flags;
	if (flags & ~MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES)
		return cxx::Err(EOPNOTSUPP);
	auto access = TRY(Access::create(ucmd.ctx, flags & MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES));
	TRY(access->attach(cmd.id));
	kapi_fd *fd;
	int fdno = kapi_fd_reserve(KAPI_FD_ACCESS, access.get(), &fd);
	if (fdno < 0) {
		access->close();
		return cxx::Error(fdno);
	}
	cmd.create_access.out_access_fd = fdno;
	Status st = ucmd.respond();
	if (!st.ok()) {
		kapi_fd_abort(fd);
		access->close();
		return st;
	}
	// The fd owns the reference now; its release closes the access.
	Access *raw = access.get();
	raw->hold();
	kapi_fd_install(fd);
	return {};
}

Status access_replace_ioas(const iommu_test_cmd &cmd)
{
	AccessFd a(cmd.id);
	if (!a.get())
		return cxx::Err(EBADFD);
	return a.get()->replace(cmd.access_replace_ioas.ioas_id);
}

Status access_pages(Ucmd &ucmd, iommu_test_cmd &cmd)
{
	uint64_t iova = cmd.access_pages.iova, length = cmd.access_pages.length;
	uint64_t uptr = cmd.access_pages.uptr;
	if (length > kMaxTestBuffer)
		return cxx::Err(ENOMEM);
	if (cmd.access_pages.flags & ~MOCK_FLAGS_ACCESS_WRITE)
		return cxx::Err(EOPNOTSUPP);
	AccessFd a(cmd.id);
	if (!a.get())
		return cxx::Err(EBADFD);
	if (!a.get()->needs_pin())
		return cxx::Err(EOPNOTSUPP);
	if (!length)
		return cxx::Err(EINVAL);
	uint64_t last = TRY(cxx::checked_last(iova, length));
	uint64_t npages = last / iopt::kPageSize - iova / iopt::kPageSize + 1;
	auto pfns = TRY(cxx::UniqueArray<uint64_t>::zeroed(npages));
	uint32_t id = TRY(a.get()->pin_item(iova, length, cmd.access_pages.flags & MOCK_FLAGS_ACCESS_WRITE,
					    pfns.data(), npages));
	// The pages handed out must be the ones under the user's buffer.
	Status st;
	if (uptr) {
		uint64_t u = uptr - iova % iopt::kPageSize;
		for (uint64_t i = 0; i < npages && st.ok(); i++, u += iopt::kPageSize) {
			uint64_t pfn;
			int r = kapi_test_user_pfn(u, &pfn);
			if (r < 0)
				st = cxx::Error(r);
			else if (pfn != pfns[i])
				st = cxx::Err(EBADE);
		}
	}
	if (st.ok()) {
		cmd.access_pages.out_access_pages_id = id;
		st = ucmd.respond();
	}
	if (!st.ok())
		(void)a.get()->unpin_item(id);
	return st;
}

Status destroy_access_pages(const iommu_test_cmd &cmd)
{
	AccessFd a(cmd.id);
	if (!a.get())
		return cxx::Err(EBADFD);
	return a.get()->unpin_item(cmd.destroy_access_pages.access_pages_id);
}

Status access_rw(const iommu_test_cmd &cmd)
{
	uint64_t length = cmd.access_rw.length;
	uint32_t flags = cmd.access_rw.flags;
	if (length > kMaxTestBuffer)
		return cxx::Err(ENOMEM);
	if (flags & ~(MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH))
		return cxx::Err(EOPNOTSUPP);
	AccessFd a(cmd.id);
	if (!a.get())
		return cxx::Err(EBADFD);
	auto buf = TRY(cxx::UniqueArray<uint8_t>::zeroed(length ? length : 1));
	const bool write = flags & MOCK_ACCESS_RW_WRITE;
	if (write && kapi_copy_from_user(buf.data(), cmd.access_rw.uptr, length))
		return cxx::Err(EFAULT);
	TRY(a.get()->rw(cmd.access_rw.iova, buf.data(), length, write));
	if (!write && kapi_copy_to_user(cmd.access_rw.uptr, buf.data(), length))
		return cxx::Err(EFAULT);
	return {};
}

// ---- dirty bits and faults ---------------------------------------------------------

Status set_dirty(Ucmd &ucmd, iommu_test_cmd &cmd)
{
	uint64_t iova = cmd.dirty.iova, length = cmd.dirty.length, ps = cmd.dirty.page_size;
	if (!ps || !length || iova % ps || length % ps || !cmd.dirty.uptr)
		return cxx::Err(EINVAL);
	uint64_t nbits = length / ps;
	if (nbits > (16ull << 20) * 8)
		return cxx::Err(EOVERFLOW);
	auto hwpt = ucmd.ctx.objects().get<HwptPaging>(cmd.id);
	if (!hwpt.ok())
		return hwpt.error();
	MockDomain *mock = hwpt.value()->mock();
	if (!mock)
		return cxx::Err(EINVAL);
	if (!mock->dirty_tracking_enabled())
		return cxx::Err(EINVAL);
	constexpr uint64_t kBits = 8 * sizeof(unsigned long);
	auto bits = TRY(cxx::UniqueArray<unsigned long>::zeroed((nbits + kBits - 1) / kBits));
	if (kapi_copy_from_user(bits.data(), cmd.dirty.uptr, (nbits + 7) / 8))
		return cxx::Err(EFAULT);
	cmd.dirty.out_nr_dirty = mock->set_dirty(iova, ps, bits.data(), nbits);
	return ucmd.respond();
}

Status trigger_iopf(Ucmd &ucmd, const iommu_test_cmd &cmd)
{
	auto dev = ucmd.ctx.objects().get<Device>(cmd.trigger_iopf.dev_id);
	if (!dev.ok())
		return dev.error();
	if (dev.value()->backend().driver() != DomainDriver::Mock)
		return cxx::Err(EINVAL);
	ObjRef<Object> hwpt = dev.value()->attached();
	Fault *fault = nullptr;
	if (hwpt && hwpt->type() == ObjType::HwptNested)
		fault = static_cast<HwptNested *>(hwpt.get())->fault.get();
	if (!fault) {
		// As a real IOMMU with no handler: the request is answered
		// as invalid; the test command itself succeeds, as upstream.
		log_user("trigger_iopf: device %u has no fault queue", cmd.trigger_iopf.dev_id);
		return {};
	}
	uint32_t flags = IOMMU_PGFAULT_FLAGS_LAST_PAGE;
	if (cmd.trigger_iopf.pasid)
		flags |= IOMMU_PGFAULT_FLAGS_PASID_VALID;
	return fault->report(dev.value()->id(), flags, cmd.trigger_iopf.pasid,
			     cmd.trigger_iopf.grpid, cmd.trigger_iopf.perm, cmd.trigger_iopf.addr);
}

} // namespace

void test_access_fd_released(void *priv)
{
	Access *a = static_cast<Access *>(priv);
	a->close();
	a->release();
}

Status test_cmd_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_test_cmd>();
	switch (cmd.op) {
	case IOMMU_TEST_OP_ADD_RESERVED:
		return add_reserved(ucmd, cmd);
	case IOMMU_TEST_OP_MOCK_DOMAIN:
	case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
		return mock_domain(ucmd, cmd);
	case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
		return mock_domain_replace(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_MAP:
		return md_check_map(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		return md_check_refs(cmd);
	case IOMMU_TEST_OP_MD_CHECK_IOTLB:
		return md_check_iotlb(ucmd, cmd);
	case IOMMU_TEST_OP_CREATE_ACCESS:
		return create_access(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
		return access_replace_ioas(cmd);
	case IOMMU_TEST_OP_ACCESS_PAGES:
		return access_pages(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_RW:
		return access_rw(cmd);
	case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
		return destroy_access_pages(cmd);
	case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
		return set_temp_memory_limit(cmd);
	case IOMMU_TEST_OP_DIRTY:
		return set_dirty(ucmd, cmd);
	case IOMMU_TEST_OP_TRIGGER_IOPF:
		return trigger_iopf(ucmd, cmd);
	case IOMMU_TEST_OP_CXX_MOCK_SMMUV3:
		return mock_smmuv3(ucmd, cmd);
	case IOMMU_TEST_OP_CXX_SMMU_DMA:
		return smmu_dma(ucmd, cmd);
	default:
		log_user("test cmd: unknown op %u", cmd.op);
		return cxx::Err(EOPNOTSUPP);
	}
}

} // namespace iommufd
