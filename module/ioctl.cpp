// SPDX-License-Identifier: GPL-2.0
//
// ioctl.cpp - the entry points glue.c calls, and ioctl dispatch.
//
// Every /dev/iommu ioctl is _IO(';', nr) and passes a struct whose first u32
// is its size, so structs can grow: a caller built against an older header
// passes a shorter struct (we zero-extend it), a newer one a longer struct
// (accepted if the bytes we do not know are zero, else E2BIG).  A size
// below the last field the command has always had is EINVAL.
#include "device.hpp"
#include "fault.hpp"
#include "hwpt.hpp"
#include "ioas.hpp"
#include "selftest.hpp"
#include "ucmd.hpp"
#include "veventq.hpp"
#include "viommu.hpp"
#include "smmuv3/vsmmu.hpp"
#include "vfio_compat/container.hpp"

#include "cxxrt/log.hpp"
#include "uapi/iommufd.h"
#include "uapi/iommufd_test.h"

namespace iommufd {
namespace {

// Copy a size-versioned struct from user space into `dst` (ksize bytes).
Status copy_struct_from_user(void *dst, uint32_t ksize, uint64_t usrc, uint32_t usize)
{
	uint32_t n = cxx::min(ksize, usize);
	if (kapi_copy_from_user(dst, usrc, n))
		return cxx::Err(EFAULT);
	if (usize < ksize)
		__builtin_memset(static_cast<char *>(dst) + usize, 0, ksize - usize);
	if (usize > ksize) {
		int zero = kapi_check_zeroed_user(usrc + ksize, usize - ksize);
		if (zero < 0)
			return cxx::Error(zero);
		if (!zero) {
			log_user("ioctl: unknown non-zero fields past byte %u", ksize);
			return cxx::Err(E2BIG);
		}
	}
	return {};
}

Status destroy_ioctl(Ucmd &ucmd)
{
	uint32_t id = ucmd.cmd<iommu_destroy>().id;
	TRY(ucmd.ctx.objects().destroy(id));
	ucmd.ctx.forget_vfio_ioas(id);
	return {};
}

// Every command struct, so one stack buffer fits whichever is in flight.
union CmdBuffer {
	iommu_destroy destroy;
	iommu_ioas_alloc ioas_alloc;
	iommu_ioas_allow_iovas ioas_allow_iovas;
	iommu_ioas_iova_ranges ioas_iova_ranges;
	iommu_ioas_map ioas_map;
	iommu_ioas_map_file ioas_map_file;
	iommu_ioas_copy ioas_copy;
	iommu_ioas_unmap ioas_unmap;
	iommu_option option;
	iommu_vfio_ioas vfio_ioas;
	iommu_hwpt_alloc hwpt_alloc;
	iommu_hw_info hw_info;
	iommu_hwpt_set_dirty_tracking set_dirty_tracking;
	iommu_hwpt_get_dirty_bitmap get_dirty_bitmap;
	iommu_hwpt_invalidate hwpt_invalidate;
	iommu_fault_alloc fault_alloc;
	iommu_ioas_change_process change_process;
	iommu_viommu_alloc viommu_alloc;
	iommu_vdevice_alloc vdevice_alloc;
	iommu_veventq_alloc veventq_alloc;
	iommu_test_cmd test;
};

struct IoctlOp {
	Status (*execute)(Ucmd &);
	uint32_t min_size; // through the last field every version has had
	uint32_t size;	   // the struct as this module knows it
	bool test_only;	   // served only with test_abi=1
};

// Indexed by nr - IOMMUFD_CMD_BASE, up to the test command; a command we do
// not serve has no execute.
struct OpTable {
	static constexpr unsigned int count = _IOC_NR(IOMMU_TEST_CMD) - IOMMUFD_CMD_BASE + 1;
	IoctlOp op[count];

	template <typename T>
	constexpr void set(unsigned int nr, Status (*fn)(Ucmd &), uint32_t min_size,
			   bool test_only = false)
	{
		op[nr - IOMMUFD_CMD_BASE] = { fn, min_size, sizeof(T), test_only };
	}
};

constexpr OpTable build_ops()
{
	OpTable t{};
	t.set<iommu_destroy>(IOMMUFD_CMD_DESTROY, destroy_ioctl, offsetofend(iommu_destroy, id));
	t.set<iommu_ioas_alloc>(IOMMUFD_CMD_IOAS_ALLOC, ioas_alloc_ioctl,
				offsetofend(iommu_ioas_alloc, out_ioas_id));
	t.set<iommu_ioas_allow_iovas>(IOMMUFD_CMD_IOAS_ALLOW_IOVAS, ioas_allow_iovas_ioctl,
				      offsetofend(iommu_ioas_allow_iovas, allowed_iovas));
	t.set<iommu_ioas_iova_ranges>(IOMMUFD_CMD_IOAS_IOVA_RANGES, ioas_iova_ranges_ioctl,
				      offsetofend(iommu_ioas_iova_ranges, out_iova_alignment));
	t.set<iommu_ioas_map>(IOMMUFD_CMD_IOAS_MAP, ioas_map_ioctl, offsetofend(iommu_ioas_map, iova));
	t.set<iommu_ioas_map_file>(IOMMUFD_CMD_IOAS_MAP_FILE, ioas_map_file_ioctl,
				   offsetofend(iommu_ioas_map_file, iova));
	t.set<iommu_ioas_copy>(IOMMUFD_CMD_IOAS_COPY, ioas_copy_ioctl,
			       offsetofend(iommu_ioas_copy, src_iova));
	t.set<iommu_ioas_unmap>(IOMMUFD_CMD_IOAS_UNMAP, ioas_unmap_ioctl,
				offsetofend(iommu_ioas_unmap, length));
	t.set<iommu_option>(IOMMUFD_CMD_OPTION, option_ioctl, offsetofend(iommu_option, val64));
	t.set<iommu_vfio_ioas>(IOMMUFD_CMD_VFIO_IOAS, vfio_ioas_ioctl,
			       offsetofend(iommu_vfio_ioas, __reserved));
	t.set<iommu_hwpt_alloc>(IOMMUFD_CMD_HWPT_ALLOC, hwpt_alloc_ioctl,
				offsetofend(iommu_hwpt_alloc, __reserved));
	t.set<iommu_hw_info>(IOMMUFD_CMD_GET_HW_INFO, get_hw_info_ioctl,
			     offsetofend(iommu_hw_info, __reserved));
	t.set<iommu_hwpt_set_dirty_tracking>(IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING,
					     hwpt_set_dirty_tracking_ioctl,
					     offsetofend(iommu_hwpt_set_dirty_tracking, __reserved));
	t.set<iommu_hwpt_get_dirty_bitmap>(IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP,
					   hwpt_get_dirty_bitmap_ioctl,
					   offsetofend(iommu_hwpt_get_dirty_bitmap, data));
	t.set<iommu_hwpt_invalidate>(IOMMUFD_CMD_HWPT_INVALIDATE, hwpt_invalidate_ioctl,
				     offsetofend(iommu_hwpt_invalidate, __reserved));
	t.set<iommu_fault_alloc>(IOMMUFD_CMD_FAULT_QUEUE_ALLOC, fault_queue_alloc_ioctl,
				 offsetofend(iommu_fault_alloc, out_fault_fd));
	t.set<iommu_ioas_change_process>(IOMMUFD_CMD_IOAS_CHANGE_PROCESS, ioas_change_process_ioctl,
					 offsetofend(iommu_ioas_change_process, __reserved));
	t.set<iommu_viommu_alloc>(IOMMUFD_CMD_VIOMMU_ALLOC, viommu_alloc_ioctl,
				  offsetofend(iommu_viommu_alloc, out_viommu_id));
	t.set<iommu_vdevice_alloc>(IOMMUFD_CMD_VDEVICE_ALLOC, vdevice_alloc_ioctl,
				   offsetofend(iommu_vdevice_alloc, virt_id));
	t.set<iommu_veventq_alloc>(IOMMUFD_CMD_VEVENTQ_ALLOC, veventq_alloc_ioctl,
				   offsetofend(iommu_veventq_alloc, out_veventq_fd));
	t.set<iommu_test_cmd>(_IOC_NR(IOMMU_TEST_CMD), test_cmd_ioctl,
			      offsetofend(iommu_test_cmd, last), true);
	return t;
}


constexpr OpTable ops = build_ops();

long dispatch(Context &ctx, unsigned int cmd, uint64_t arg)
{
	unsigned int nr = _IOC_NR(cmd);
	// The VFIO container ioctls share the ';' type below our numbers.
	if (nr < IOMMUFD_CMD_BASE || nr - IOMMUFD_CMD_BASE >= OpTable::count)
		return vfio::container_ioctl(ctx, cmd, arg);

	uint32_t user_size;
	if (kapi_copy_from_user(&user_size, arg, sizeof(user_size)))
		return -EFAULT;

	const IoctlOp &op = ops.op[nr - IOMMUFD_CMD_BASE];
	if (!op.execute || cmd != _IO(IOMMUFD_TYPE, nr))
		return -ENOIOCTLCMD;
	if (op.test_only && !kapi_test_abi_enabled())
		return -ENOIOCTLCMD;
	if (user_size < op.min_size) {
		log_user("ioctl 0x%x: size %u below the minimum %u", nr, user_size,
			 op.min_size);
		return -EINVAL;
	}

	CmdBuffer buf;
	static_assert(sizeof(buf) <= 256, "keep the ioctl buffer small on the stack");
	Status st = copy_struct_from_user(&buf, op.size, arg, user_size);
	if (!st.ok())
		return st.code();
	Ucmd ucmd(ctx, arg, user_size, &buf, op.size);
	return op.execute(ucmd).code();
}

} // namespace

Status Ucmd::respond()
{
	if (kapi_copy_to_user(ubuffer_, cmd_, cxx::min(user_size_, cmd_size_)))
		return cxx::Err(EFAULT);
	return {};
}

} // namespace iommufd

using iommufd::Context;

int iommufd_cxx_init(void) { return iommufd::smmuv3::soft_smmu_init().code(); }

void iommufd_cxx_exit(void) { iommufd::smmuv3::soft_smmu_exit(); }

int iommufd_cxx_open(void **out, void *file)
{
	auto ctx = Context::create(file);
	if (!ctx.ok())
		return ctx.error().code();
	*out = ctx.take().release();
	return 0;
}

int iommufd_cxx_open_vfio_node(void **out, void *file)
{
	auto ctx = Context::create(file);
	if (!ctx.ok())
		return ctx.error().code();
	// VFIO charges pinned memory to the mm (locked_vm), and so does a
	// container opened through /dev/vfio/vfio, as upstream's.
	cxx::Status st = ctx.value()->set_account_mode(iommufd::iopt::AccountMode::Mm);
	if (!st.ok())
		return st.code();
	*out = ctx.take().release();
	return 0;
}

void iommufd_cxx_release(void *ctx)
{
	cxx::UniquePtr<Context> gone(static_cast<Context *>(ctx));
}

long iommufd_cxx_ioctl(void *ctx, unsigned int cmd, unsigned long arg)
{
	return iommufd::dispatch(*static_cast<Context *>(ctx), cmd, arg);
}

long iommufd_cxx_live_objects(void) { return iommufd::Object::live_count(); }

void iommufd_cxx_fd_release(enum kapi_fd_kind kind, void *priv)
{
	switch (kind) {
	case KAPI_FD_ACCESS:
		iommufd::test_access_fd_released(priv);
		break;
	case KAPI_FD_FAULT:
		static_cast<iommufd::Fault *>(priv)->fd_released();
		break;
	case KAPI_FD_VEVENTQ:
		static_cast<iommufd::Veventq *>(priv)->fd_released();
		break;
	}
}

long iommufd_cxx_fault_read(void *priv, uint64_t ubuf, size_t count)
{
	return static_cast<iommufd::Fault *>(priv)->read(ubuf, count);
}

long iommufd_cxx_fault_write(void *priv, uint64_t ubuf, size_t count)
{
	return static_cast<iommufd::Fault *>(priv)->write(ubuf, count);
}

bool iommufd_cxx_fault_readable(void *priv)
{
	return static_cast<iommufd::Fault *>(priv)->readable();
}

struct kapi_waitq *iommufd_cxx_fault_waitq(void *priv)
{
	return static_cast<iommufd::Fault *>(priv)->waitq();
}

long iommufd_cxx_veventq_read(void *priv, uint64_t ubuf, size_t count)
{
	return static_cast<iommufd::Veventq *>(priv)->read(ubuf, count);
}

bool iommufd_cxx_veventq_readable(void *priv)
{
	return static_cast<iommufd::Veventq *>(priv)->readable();
}

struct kapi_waitq *iommufd_cxx_veventq_waitq(void *priv)
{
	return static_cast<iommufd::Veventq *>(priv)->waitq();
}
