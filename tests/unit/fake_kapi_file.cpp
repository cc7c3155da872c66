// SPDX-License-Identifier: GPL-2.0
//
// fake_kapi_file.cpp - the hosted kapi's file services (kapi.h, "files and
// fds"): a table of fake fds standing for the anonymous-inode files of test
// accesses and fault queues, and reference counts on the /dev/iommu file
// (a null handle on the host, so the counts only balance).
#include <map>

#include "fake_kapi.h"
#include "kapi.h"

namespace {

struct FakeFd {
	kapi_fd_kind kind;
	void *priv;
	bool installed;
	int refs; // the fd itself plus lookups in flight
};

std::map<int, FakeFd> fds;
int next_fd = 100;
long file_refs;

} // namespace

struct kapi_fd {
	int fd;
};

extern "C" {

void kapi_file_get(void *) { file_refs++; }
void kapi_file_put(void *) { file_refs--; }

int kapi_fd_reserve(enum kapi_fd_kind kind, void *priv, struct kapi_fd **out)
{
	auto *f = new kapi_fd{ next_fd++ };
	fds[f->fd] = FakeFd{ kind, priv, false, 1 };
	*out = f;
	return f->fd;
}

void kapi_fd_install(struct kapi_fd *f)
{
	fds[f->fd].installed = true;
	delete f;
}

void kapi_fd_abort(struct kapi_fd *f)
{
	fds.erase(f->fd);
	delete f;
}

void *kapi_fd_get(int fd, enum kapi_fd_kind kind, void **ref)
{
	auto it = fds.find(fd);
	if (it == fds.end() || !it->second.installed || it->second.kind != kind)
		return nullptr;
	it->second.refs++;
	*ref = reinterpret_cast<void *>(intptr_t(fd));
	return it->second.priv;
}

void kapi_fd_put(void *ref)
{
	int fd = int(intptr_t(ref));
	auto it = fds.find(fd);
	if (it != fds.end() && --it->second.refs == 0) {
		FakeFd f = it->second;
		fds.erase(it);
		iommufd_cxx_fd_release(f.kind, f.priv);
	}
}

struct kapi_waitq *kapi_waitq_create(void) { return reinterpret_cast<kapi_waitq *>(new int(0)); }
void kapi_waitq_destroy(struct kapi_waitq *q) { delete reinterpret_cast<int *>(q); }
void kapi_waitq_wake(struct kapi_waitq *q) { (*reinterpret_cast<int *>(q))++; }

} // extern "C"

namespace fake_kapi {

bool close_fd(int fd)
{
	auto it = fds.find(fd);
	if (it == fds.end())
		return false;
	kapi_fd_put(reinterpret_cast<void *>(intptr_t(fd)));
	return true;
}

long file_refs_held() { return file_refs; }

void close_all_fds()
{
	while (!fds.empty())
		close_fd(fds.begin()->first);
}

} // namespace fake_kapi
