// SPDX-License-Identifier: GPL-2.0
/*
 * lock.c - mutexes for the C++ core.  struct mutex stays opaque to C++, so
 * it is allocated here; each kapi_lock_class has its own static lockdep key
 * and name, so lockdep tells the lock sites apart.
 */
#include "shim.h"

#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/slab.h>

#include "../kapi.h"

static struct lock_class_key lock_keys[KAPI_LOCK_NR];
static const char *const lock_names[KAPI_LOCK_NR] = {
	[KAPI_LOCK_OBJECTS] = "iommufd_cxx:objects",
	[KAPI_LOCK_IOPT] = "iommufd_cxx:iopt",
	[KAPI_LOCK_PAGES] = "iommufd_cxx:pages",
	[KAPI_LOCK_ACCESS] = "iommufd_cxx:access",
	[KAPI_LOCK_DEVICE] = "iommufd_cxx:device",
	[KAPI_LOCK_FAULT] = "iommufd_cxx:fault",
	[KAPI_LOCK_DOMAIN] = "iommufd_cxx:domain",
	[KAPI_LOCK_IOAS] = "iommufd_cxx:ioas",
	[KAPI_LOCK_VFIO] = "iommufd_cxx:vfio",
	[KAPI_LOCK_VFIO_BACKEND] = "iommufd_cxx:vfio_backend",
	[KAPI_LOCK_SMMU] = "iommufd_cxx:smmu",
	[KAPI_LOCK_VIOMMU] = "iommufd_cxx:viommu",
	[KAPI_LOCK_VEVENTQ] = "iommufd_cxx:veventq",
};

struct kapi_mutex *kapi_mutex_create(enum kapi_lock_class cls)
{
	struct mutex *m = kmalloc(sizeof(*m), GFP_KERNEL);

	if (!m)
		return NULL;
	__mutex_init(m, lock_names[cls], &lock_keys[cls]);
	return (struct kapi_mutex *)m;
}

void kapi_mutex_destroy(struct kapi_mutex *m)
{
	mutex_destroy((struct mutex *)m);
	kfree(m);
}

void kapi_mutex_lock(struct kapi_mutex *m)
{
	mutex_lock((struct mutex *)m);
}

void kapi_mutex_unlock(struct kapi_mutex *m)
{
	mutex_unlock((struct mutex *)m);
}
