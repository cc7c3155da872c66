// SPDX-License-Identifier: GPL-2.0
/*
 * vfio_glue.c - registration of the VFIO container personality, and its
 * module parameters:
 *
 *  - when vfio.ko is loaded, this module registers as one of its IOMMU
 *    backends (vfio_register_iommu_driver), so containers of the kernel's
 *    own /dev/vfio/vfio with real VFIO groups are served by the C++ core
 *    (vfio_compat/backend.cpp);
 *  - when it is not, this module can provide /dev/vfio/vfio itself (misc
 *    minor 196, as VFIO): a /dev/iommu file with mm accounting on which the
 *    container ioctls run against IOMMU_VFIO_IOAS (mock devices only, since
 *    there are no VFIO groups without vfio.ko).  While it exists vfio.ko
 *    cannot load (the minor is taken).
 *
 * vfio.ko's symbols are looked up at load time (symbol_get), not linked, so
 * this module loads with or without vfio.ko.  struct vfio_iommu_driver_ops
 * lives in vfio's private drivers/vfio/vfio.h, not in any installed header,
 * so it is mirrored here; the mirror is its Linux 6.12 layout and the
 * backend is built only for 6.12.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/iommu.h>
#include <linux/kobject.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/panic.h>
#include <linux/version.h>
#include <uapi/linux/vfio.h>

#include "../kapi.h"
#include "vfio_glue.h"

static bool vfio_backend = true;
module_param(vfio_backend, bool, 0444);
MODULE_PARM_DESC(vfio_backend,
		 "serve VFIO type1 containers of the kernel's vfio.ko, if it is loaded (default Y)");

static bool vfio_backend_first = true;
module_param(vfio_backend_first, bool, 0444);
MODULE_PARM_DESC(vfio_backend_first,
		 "take TYPE1/TYPE1v2 containers even while vfio_iommu_type1 is loaded (default Y; "
		 "N: leave them to vfio_iommu_type1 whenever it is present)");

static bool vfio_node = true;
module_param(vfio_node, bool, 0444);
MODULE_PARM_DESC(vfio_node,
		 "provide /dev/vfio/vfio when vfio.ko is not loaded (default Y)");

static bool enable_unsafe_noiommu_mode;
module_param(enable_unsafe_noiommu_mode, bool, 0444);
MODULE_PARM_DESC(enable_unsafe_noiommu_mode,
		 "offer VFIO_NOIOMMU_IOMMU containers: no translation, no isolation, taints the kernel (default N)");

static bool allow_unsafe_interrupts;
module_param(allow_unsafe_interrupts, bool, 0644);
MODULE_PARM_DESC(allow_unsafe_interrupts,
		 "attach VFIO groups without MSI isolation (interrupt remapping), as vfio_iommu_type1's parameter (default N)");

static int param_get_vfio_containers(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%ld\n", iommufd_cxx_vfio_containers());
}

static const struct kernel_param_ops vfio_containers_ops = {
	.get = param_get_vfio_containers,
};
module_param_cb(vfio_containers, &vfio_containers_ops, NULL, 0444);
MODULE_PARM_DESC(vfio_containers, "vfio.ko containers this module serves now (read-only)");

bool kapi_vfio_noiommu_enabled(void)
{
	return enable_unsafe_noiommu_mode;
}

bool kapi_vfio_allow_unsafe_interrupts(void)
{
	return READ_ONCE(allow_unsafe_interrupts);
}

bool kapi_capable_sys_rawio(void)
{
	return capable(CAP_SYS_RAWIO);
}

void kapi_vfio_noiommu_taint(void)
{
	pr_warn("no-IOMMU container opened by %s (%d): devices can DMA anywhere\n",
		current->comm, task_pid_nr(current));
	add_taint(TAINT_USER, LOCKDEP_STILL_OK);
}

/* ---- /dev/vfio/vfio of our own ------------------------------------------- */

static int vfio_node_open(struct inode *inode, struct file *filp)
{
	return iommufd_cxx_open_vfio_node(&filp->private_data, filp);
}

static int vfio_node_release(struct inode *inode, struct file *filp)
{
	iommufd_cxx_release(filp->private_data);
	return 0;
}

static long vfio_node_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	return iommufd_cxx_ioctl(filp->private_data, cmd, arg);
}

static const struct file_operations vfio_node_fops = {
	.owner = THIS_MODULE,
	.open = vfio_node_open,
	.release = vfio_node_release,
	.unlocked_ioctl = vfio_node_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice vfio_node_misc = {
	.minor = VFIO_MINOR,
	.name = "iommufd_cxx_vfio",
	.nodename = "vfio/vfio",
	.fops = &vfio_node_fops,
	.mode = 0666,
};
static bool vfio_node_registered;

/* ---- the vfio.ko backend --------------------------------------------------- */

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0) && LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0)
#define HAVE_VFIO_BACKEND 1

/* drivers/vfio/vfio.h of Linux 6.12: enum vfio_group_type. */
enum mirror_vfio_group_type {
	MIRROR_VFIO_IOMMU,
	MIRROR_VFIO_EMULATED_IOMMU,
	MIRROR_VFIO_NO_IOMMU,
};

struct vfio_device;

/* drivers/vfio/vfio.h of Linux 6.12: struct vfio_iommu_driver_ops. */
struct mirror_vfio_iommu_driver_ops {
	char *name;
	struct module *owner;
	void *(*open)(unsigned long arg);
	void (*release)(void *iommu_data);
	long (*ioctl)(void *iommu_data, unsigned int cmd, unsigned long arg);
	int (*attach_group)(void *iommu_data, struct iommu_group *group,
			    enum mirror_vfio_group_type type);
	void (*detach_group)(void *iommu_data, struct iommu_group *group);
	int (*pin_pages)(void *iommu_data, struct iommu_group *group, dma_addr_t user_iova,
			 int npage, int prot, struct page **pages);
	void (*unpin_pages)(void *iommu_data, dma_addr_t user_iova, int npage);
	void (*register_device)(void *iommu_data, struct vfio_device *vdev);
	void (*unregister_device)(void *iommu_data, struct vfio_device *vdev);
	int (*dma_rw)(void *iommu_data, dma_addr_t user_iova, void *data, size_t count,
		      bool write);
	struct iommu_domain *(*group_iommu_domain)(void *iommu_data, struct iommu_group *group);
};

typedef int (*vfio_register_fn)(const struct mirror_vfio_iommu_driver_ops *ops);
typedef void (*vfio_unregister_fn)(const struct mirror_vfio_iommu_driver_ops *ops);

static vfio_register_fn vfio_register;
static vfio_unregister_fn vfio_unregister;

/*
 * vfio_backend_first=N: is vfio_iommu_type1 (module or built in) present?
 * Every loaded module, and every built-in one with parameters, has a
 * kobject in the same kset as ours (/sys/module).
 */
static bool type1_present(void)
{
	struct kobject *k = kset_find_obj(THIS_MODULE->mkobj.kobj.kset, "vfio_iommu_type1");

	if (!k)
		return false;
	kobject_put(k);
	return true;
}

static bool defer_to_type1(void)
{
	return !vfio_backend_first && type1_present();
}

static void *backend_open(unsigned long type)
{
	void *c;
	int ret;

	if (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU)
		return ERR_PTR(-EINVAL);
	if (defer_to_type1())
		return ERR_PTR(-ENODEV);
	ret = iommufd_cxx_vfio_open(type == VFIO_TYPE1v2_IOMMU, &c);
	return ret ? ERR_PTR(ret) : c;
}

static void backend_release(void *data)
{
	iommufd_cxx_vfio_release(data);
}

static long backend_ioctl(void *data, unsigned int cmd, unsigned long arg)
{
	/* vfio.ko polls every backend with no container first. */
	if (!data) {
		if (cmd != VFIO_CHECK_EXTENSION)
			return -ENOTTY;
		return defer_to_type1() ? 0 : iommufd_cxx_vfio_check_extension(arg);
	}
	return iommufd_cxx_vfio_ioctl(data, cmd, arg);
}

static int backend_attach_group(void *data, struct iommu_group *group,
				enum mirror_vfio_group_type type)
{
	if (type != MIRROR_VFIO_IOMMU) {
		/* mdev-style groups need pin_pages/dma_rw, not served here. */
		pr_info_ratelimited("vfio: group %d has no IOMMU of its own (emulated); not served\n",
				    iommu_group_id(group));
		return -EOPNOTSUPP;
	}
	return iommufd_cxx_vfio_attach_group(data, (struct kapi_iommu_group *)group);
}

static void backend_detach_group(void *data, struct iommu_group *group)
{
	iommufd_cxx_vfio_detach_group(data, (struct kapi_iommu_group *)group);
}

static int backend_pin_pages(void *data, struct iommu_group *group, dma_addr_t iova, int npage,
			     int prot, struct page **pages)
{
	pr_info_ratelimited("vfio: pin_pages (emulated IOMMU devices) is not served\n");
	return -EOPNOTSUPP;
}

static void backend_unpin_pages(void *data, dma_addr_t iova, int npage)
{
}

static int backend_dma_rw(void *data, dma_addr_t iova, void *buf, size_t count, bool write)
{
	pr_info_ratelimited("vfio: dma_rw (emulated IOMMU devices) is not served\n");
	return -EOPNOTSUPP;
}

static const struct mirror_vfio_iommu_driver_ops backend_ops = {
	.name = "iommufd_cxx",
	.owner = THIS_MODULE,
	.open = backend_open,
	.release = backend_release,
	.ioctl = backend_ioctl,
	.attach_group = backend_attach_group,
	.detach_group = backend_detach_group,
	.pin_pages = backend_pin_pages,
	.unpin_pages = backend_unpin_pages,
	.dma_rw = backend_dma_rw,
};

static bool backend_registered;

/* 0 registered; -ENOENT vfio.ko is not loaded; other errors from vfio.ko. */
static int backend_register(void)
{
	int ret;

	vfio_register = (vfio_register_fn)__symbol_get("vfio_register_iommu_driver");
	if (!vfio_register)
		return -ENOENT;
	vfio_unregister = (vfio_unregister_fn)__symbol_get("vfio_unregister_iommu_driver");
	if (!vfio_unregister) {
		__symbol_put("vfio_register_iommu_driver");
		return -ENOENT;
	}
	ret = vfio_register(&backend_ops);
	if (ret) {
		__symbol_put("vfio_unregister_iommu_driver");
		__symbol_put("vfio_register_iommu_driver");
		return ret;
	}
	backend_registered = true;
	return 0;
}

static void backend_unregister(void)
{
	if (!backend_registered)
		return;
	vfio_unregister(&backend_ops);
	__symbol_put("vfio_unregister_iommu_driver");
	__symbol_put("vfio_register_iommu_driver");
	backend_registered = false;
}
#else
static int backend_register(void)
{
	pr_info("vfio backend: built only for Linux 6.12 (struct vfio_iommu_driver_ops)\n");
	return -ENOENT;
}

static void backend_unregister(void)
{
}
#endif

int iommufd_cxx_vfio_glue_init(void)
{
	int ret = -ENOENT;

	if (vfio_backend) {
		ret = backend_register();
		if (ret == 0) {
			pr_info("serving VFIO TYPE1/TYPE1v2 containers of vfio.ko%s\n",
				vfio_backend_first ? "" : " (after vfio_iommu_type1)");
			return 0;
		}
		if (ret != -ENOENT) {
			pr_err("cannot register with vfio.ko: %d\n", ret);
			return ret;
		}
	}
	/* vfio.ko is absent (or not to be used): offer our own node. */
	if (vfio_node && ret == -ENOENT) {
		ret = misc_register(&vfio_node_misc);
		if (ret == -EBUSY) {
			pr_info("no /dev/vfio/vfio of ours: its minor is taken (vfio.ko is loaded)\n");
			return 0;
		}
		if (ret) {
			pr_err("cannot register /dev/vfio/vfio: %d\n", ret);
			return ret;
		}
		vfio_node_registered = true;
		pr_info("/dev/vfio/vfio ready (vfio.ko is not loaded)\n");
	}
	return 0;
}

void iommufd_cxx_vfio_glue_exit(void)
{
	backend_unregister();
	if (vfio_node_registered) {
		misc_deregister(&vfio_node_misc);
		vfio_node_registered = false;
	}
}
