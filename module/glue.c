// SPDX-License-Identifier: GPL-2.0
/*
 * glue.c - registration only: module init/exit, module parameters, the
 * /dev/iommu misc device whose file_operations forward into the C++ core
 * through kapi.h, and (CONFIG_KUNIT) the switch that runs the KUnit suites
 * of kunit/suites.c.  No policy lives here.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

#include "kapi.h"
#include "vfio_compat/vfio_glue.h"
#if IS_ENABLED(CONFIG_KUNIT)
#include "kunit/suites.h"
#endif

static char *devname = "iommu";
module_param(devname, charp, 0444);
MODULE_PARM_DESC(devname,
		 "name of the iommufd device node under /dev (default \"iommu\"; "
		 "choose another when the kernel's own iommufd is loaded)");

static int param_get_live_objects(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%ld\n", iommufd_cxx_live_objects());
}

/* Heap blocks made at load for the module's lifetime (the software SMMUv3). */
static long load_allocs;

static int param_get_live_allocs(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%ld\n", iommufd_cxx_live_allocs() - load_allocs);
}

static const struct kernel_param_ops live_objects_ops = {
	.get = param_get_live_objects,
};
static const struct kernel_param_ops live_allocs_ops = {
	.get = param_get_live_allocs,
};
module_param_cb(live_objects, &live_objects_ops, NULL, 0444);
MODULE_PARM_DESC(live_objects, "objects alive in all open files (read-only, for tests)");
module_param_cb(live_allocs, &live_allocs_ops, NULL, 0444);
MODULE_PARM_DESC(live_allocs, "heap blocks the module holds beyond those made at load (read-only, for tests)");

#if IS_ENABLED(CONFIG_KUNIT)
/* Opt-in: running KUnit suites taints the kernel (kunit/suites.c says more). */
static bool kunit;
module_param(kunit, bool, 0444);
MODULE_PARM_DESC(kunit, "run the in-module KUnit suites at load (KTAP in the kernel log)");
#endif

static int iommufd_cxx_fops_open(struct inode *inode, struct file *filp)
{
	return iommufd_cxx_open(&filp->private_data, filp);
}

static int iommufd_cxx_fops_release(struct inode *inode, struct file *filp)
{
	iommufd_cxx_release(filp->private_data);
	return 0;
}

static long iommufd_cxx_fops_ioctl(struct file *filp, unsigned int cmd,
				   unsigned long arg)
{
	return iommufd_cxx_ioctl(filp->private_data, cmd, arg);
}

static const struct file_operations iommufd_cxx_fops = {
	.owner = THIS_MODULE,
	.open = iommufd_cxx_fops_open,
	.release = iommufd_cxx_fops_release,
	.unlocked_ioctl = iommufd_cxx_fops_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice iommufd_cxx_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.fops = &iommufd_cxx_fops,
	.mode = 0660,
};

static int __init iommufd_cxx_module_init(void)
{
	int ret;

	ret = iommufd_cxx_init();
	if (ret)
		return ret;
	load_allocs = iommufd_cxx_live_allocs();
	kapi_fault_init();
	iommufd_cxx_misc.name = devname;
	iommufd_cxx_misc.nodename = devname;
	ret = misc_register(&iommufd_cxx_misc);
	if (ret) {
		pr_err("cannot register /dev/%s: %d\n", devname, ret);
		kapi_fault_exit();
		iommufd_cxx_exit();
		return ret;
	}
	pr_info("/dev/%s ready\n", devname);
	ret = iommufd_cxx_vfio_glue_init();
	if (ret) {
		misc_deregister(&iommufd_cxx_misc);
		kapi_fault_exit();
		iommufd_cxx_exit();
		return ret;
	}
#if IS_ENABLED(CONFIG_KUNIT)
	if (kunit)
		iommufd_cxx_kunit_run();
#endif
	return 0;
}

static void __exit iommufd_cxx_module_exit(void)
{
#if IS_ENABLED(CONFIG_KUNIT)
	iommufd_cxx_kunit_exit();
#endif
	iommufd_cxx_vfio_glue_exit();
	misc_deregister(&iommufd_cxx_misc);
	kapi_fault_exit();
	iommufd_cxx_exit();
	/* Every file is closed by now: anything still alive has leaked. */
	WARN(iommufd_cxx_live_objects() || iommufd_cxx_live_allocs(),
	     "leaked %ld objects and %ld heap blocks\n",
	     iommufd_cxx_live_objects(), iommufd_cxx_live_allocs());
}

module_init(iommufd_cxx_module_init);
module_exit(iommufd_cxx_module_exit);

MODULE_DESCRIPTION("iommufd user API (/dev/iommu) in freestanding C++");
MODULE_LICENSE("GPL");
