// SPDX-License-Identifier: GPL-2.0
/*
 * file.c - struct file services for the C++ core: references on the
 * /dev/iommu file, and the anonymous-inode fds of test accesses and fault
 * queues.  Each fd kind has its own file_operations, so a lookup by fd
 * number can tell our files from any other (EBADF).
 */
#include "shim.h"

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/wait.h>

#include "../kapi.h"

void kapi_file_get(void *file)
{
	get_file((struct file *)file);
}

void kapi_file_put(void *file)
{
	fput((struct file *)file);
}

/* A NULL private_data is a file whose creation was aborted. */
static int access_fop_release(struct inode *inode, struct file *filp)
{
	if (filp->private_data)
		iommufd_cxx_fd_release(KAPI_FD_ACCESS, filp->private_data);
	return 0;
}

static const struct file_operations access_fops = {
	.owner = THIS_MODULE,
	.release = access_fop_release,
};

static int fault_fop_release(struct inode *inode, struct file *filp)
{
	if (filp->private_data)
		iommufd_cxx_fd_release(KAPI_FD_FAULT, filp->private_data);
	return 0;
}

static ssize_t fault_fop_read(struct file *filp, char __user *buf, size_t count,
			      loff_t *ppos)
{
	if (*ppos)
		return -ESPIPE;
	return iommufd_cxx_fault_read(filp->private_data, (uintptr_t)buf, count);
}

static ssize_t fault_fop_write(struct file *filp, const char __user *buf,
			       size_t count, loff_t *ppos)
{
	if (*ppos)
		return -ESPIPE;
	return iommufd_cxx_fault_write(filp->private_data, (uintptr_t)buf, count);
}

static __poll_t fault_fop_poll(struct file *filp, struct poll_table_struct *wait)
{
	struct kapi_waitq *q = iommufd_cxx_fault_waitq(filp->private_data);

	poll_wait(filp, (wait_queue_head_t *)q, wait);
	return EPOLLOUT | (iommufd_cxx_fault_readable(filp->private_data) ?
			   EPOLLIN | EPOLLRDNORM : 0);
}

static const struct file_operations fault_fops = {
	.owner = THIS_MODULE,
	.open = nonseekable_open,
	.read = fault_fop_read,
	.write = fault_fop_write,
	.poll = fault_fop_poll,
	.release = fault_fop_release,
};

static int veventq_fop_release(struct inode *inode, struct file *filp)
{
	if (filp->private_data)
		iommufd_cxx_fd_release(KAPI_FD_VEVENTQ, filp->private_data);
	return 0;
}

static ssize_t veventq_fop_read(struct file *filp, char __user *buf, size_t count,
				loff_t *ppos)
{
	if (*ppos)
		return -ESPIPE;
	return iommufd_cxx_veventq_read(filp->private_data, (uintptr_t)buf, count);
}

static __poll_t veventq_fop_poll(struct file *filp, struct poll_table_struct *wait)
{
	struct kapi_waitq *q = iommufd_cxx_veventq_waitq(filp->private_data);

	poll_wait(filp, (wait_queue_head_t *)q, wait);
	return iommufd_cxx_veventq_readable(filp->private_data) ? EPOLLIN | EPOLLRDNORM : 0;
}

static const struct file_operations veventq_fops = {
	.owner = THIS_MODULE,
	.open = nonseekable_open,
	.read = veventq_fop_read,
	.poll = veventq_fop_poll,
	.release = veventq_fop_release,
};

static const struct file_operations *const fd_fops[] = {
	[KAPI_FD_ACCESS] = &access_fops,
	[KAPI_FD_FAULT] = &fault_fops,
	[KAPI_FD_VEVENTQ] = &veventq_fops,
};

static const char *const fd_names[] = {
	[KAPI_FD_ACCESS] = "[iommufd_cxx_test_access]",
	[KAPI_FD_FAULT] = "[iommufd_cxx_fault]",
	[KAPI_FD_VEVENTQ] = "[iommufd_cxx_viommu_event]",
};

struct kapi_fd {
	struct file *file;
	int fd;
};

int kapi_fd_reserve(enum kapi_fd_kind kind, void *priv, struct kapi_fd **out)
{
	struct kapi_fd *f = kzalloc(sizeof(*f), GFP_KERNEL);
	int rc;

	if (!f)
		return -ENOMEM;
	f->fd = get_unused_fd_flags(O_CLOEXEC);
	if (f->fd < 0) {
		rc = f->fd;
		goto err_free;
	}
	f->file = anon_inode_getfile(fd_names[kind], fd_fops[kind], priv, O_RDWR);
	if (IS_ERR(f->file)) {
		rc = PTR_ERR(f->file);
		goto err_fd;
	}
	if (kind == KAPI_FD_FAULT || kind == KAPI_FD_VEVENTQ)
		f->file->f_mode |= FMODE_PREAD | FMODE_PWRITE;
	*out = f;
	return f->fd;

err_fd:
	put_unused_fd(f->fd);
err_free:
	kfree(f);
	return rc;
}

void kapi_fd_install(struct kapi_fd *f)
{
	fd_install(f->fd, f->file);
	kfree(f);
}

void kapi_fd_abort(struct kapi_fd *f)
{
	/* The owner keeps priv: release must not run on it. */
	f->file->private_data = NULL;
	put_unused_fd(f->fd);
	fput(f->file);
	kfree(f);
}

void *kapi_fd_get(int fd, enum kapi_fd_kind kind, void **ref)
{
	struct file *file = fget(fd);

	if (!file)
		return NULL;
	if (file->f_op != fd_fops[kind] || !file->private_data) {
		fput(file);
		return NULL;
	}
	*ref = file;
	return file->private_data;
}

void kapi_fd_put(void *ref)
{
	fput((struct file *)ref);
}

struct kapi_waitq *kapi_waitq_create(void)
{
	wait_queue_head_t *q = kmalloc(sizeof(*q), GFP_KERNEL_ACCOUNT);

	if (q)
		init_waitqueue_head(q);
	return (struct kapi_waitq *)q;
}

void kapi_waitq_destroy(struct kapi_waitq *q)
{
	kfree(q);
}

void kapi_waitq_wake(struct kapi_waitq *q)
{
	wake_up_interruptible((wait_queue_head_t *)q);
}
