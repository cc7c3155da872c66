// SPDX-License-Identifier: GPL-2.0
//
// fake_kapi.cpp - the hosted implementation of kapi.h (see fake_kapi.h).
#include "fake_kapi.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <mutex>
#include <new>
#include <vector>

#include "kapi.h"

namespace {

std::atomic<long> live_allocs{0};
std::atomic<long> fail_countdown{-1};
std::atomic<bool> did_inject{false};
std::atomic<long> held{0};
std::atomic<long> lines{0};
std::atomic<bool> test_abi{false};

std::mutex fault_lock;
std::vector<std::pair<uint64_t, uint64_t>> fault_ranges; // [first, last]

bool should_fail()
{
	long n = fail_countdown.load();
	while (n >= 0) {
		if (fail_countdown.compare_exchange_weak(n, n - 1)) {
			if (n == 0) {
				did_inject = true;
				return true;
			}
			return false;
		}
	}
	return false;
}

bool faults(uint64_t addr, size_t len)
{
	if (len == 0)
		return false;
	if (addr < 4096 || addr + len - 1 < addr)
		return true;
	std::lock_guard<std::mutex> g(fault_lock);
	for (auto &r : fault_ranges)
		if (addr <= r.second && addr + len - 1 >= r.first)
			return true;
	return false;
}

} // namespace

namespace fake_kapi {
void fail_alloc_after(long n)
{
	did_inject = false;
	fail_countdown = n;
}
bool injected() { return did_inject; }
void add_fault_range(uint64_t addr, size_t len)
{
	std::lock_guard<std::mutex> g(fault_lock);
	fault_ranges.push_back({ addr, addr + len - 1 });
}
void clear_fault_ranges()
{
	std::lock_guard<std::mutex> g(fault_lock);
	fault_ranges.clear();
}
long mutexes_held() { return held; }
long log_lines() { return lines; }
void set_test_abi(bool on) { test_abi = on; }
} // namespace fake_kapi

extern "C" {

void *kapi_alloc(size_t size, unsigned int flags)
{
	if (!(flags & KAPI_ALLOC_NOFAIL) && should_fail())
		return nullptr;
	void *p = (flags & KAPI_ALLOC_ZERO) ? calloc(1, size) : malloc(size);
	if (p)
		live_allocs++;
	return p;
}

void kapi_free(const void *p)
{
	if (!p)
		return;
	live_allocs--;
	free(const_cast<void *>(p));
}

long iommufd_cxx_live_allocs(void) { return live_allocs; }

int kapi_copy_from_user(void *dst, uint64_t uptr, size_t len)
{
	if (faults(uptr, len))
		return -EFAULT;
	memcpy(dst, reinterpret_cast<const void *>(uptr), len);
	return 0;
}

int kapi_copy_to_user(uint64_t uptr, const void *src, size_t len)
{
	if (faults(uptr, len))
		return -EFAULT;
	memcpy(reinterpret_cast<void *>(uptr), src, len);
	return 0;
}

int kapi_check_zeroed_user(uint64_t uptr, size_t len)
{
	// Like the kernel: report non-zero bytes before a fault further on.
	for (size_t i = 0; i < len; i++) {
		if (faults(uptr + i, 1))
			return -EFAULT;
		if (reinterpret_cast<const uint8_t *>(uptr)[i])
			return 0;
	}
	return 1;
}

struct kapi_mutex {
	pthread_mutex_t m;
	enum kapi_lock_class cls;
};

struct kapi_mutex *kapi_mutex_create(enum kapi_lock_class cls)
{
	if (should_fail())
		return nullptr;
	auto *m = static_cast<kapi_mutex *>(malloc(sizeof(kapi_mutex)));
	if (!m)
		return nullptr;
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	// Relocking (a self-deadlock in the kernel) fails loudly here.
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&m->m, &a);
	pthread_mutexattr_destroy(&a);
	m->cls = cls;
	live_allocs++;
	return m;
}

void kapi_mutex_destroy(struct kapi_mutex *m)
{
	if (pthread_mutex_destroy(&m->m))
		abort(); // destroyed while locked
	live_allocs--;
	free(m);
}

void kapi_mutex_lock(struct kapi_mutex *m)
{
	if (pthread_mutex_lock(&m->m))
		abort();
	held++;
}

void kapi_mutex_unlock(struct kapi_mutex *m)
{
	held--;
	if (pthread_mutex_unlock(&m->m))
		abort();
}

static void vlog(const char *fmt, va_list ap)
{
	lines++;
	if (getenv("FAKE_KAPI_LOG")) {
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
}

void kapi_log(enum kapi_log_level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void kapi_log_ratelimited(enum kapi_log_level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

bool kapi_test_abi_enabled(void) { return test_abi; }

int kapi_test_page_pins(uint64_t uptr, unsigned int *pins)
{
	if (faults(uptr, 1))
		return -EFAULT;
	*pins = 0; // the host pins nothing
	return 0;
}

void kapi_warn_pure_virtual(void)
{
	fprintf(stderr, "pure virtual function called\n");
	abort();
}

void kapi_assert_failed(const char *expr, const char *file, int line)
{
	fprintf(stderr, "assertion failed: %s at %s:%d\n", expr, file, line);
	abort();
}

} // extern "C"

// The core allocates objects with nothrow new (cxx::make_unique).  Route the
// plain allocation functions through malloc/free, so the nothrow form can
// honour fail_alloc_after() and new/delete still pair up for ASan.
void *operator new(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}
void *operator new[](size_t n) { return operator new(n); }
void *operator new(size_t n, const std::nothrow_t &) noexcept
{
	return should_fail() ? nullptr : malloc(n ? n : 1);
}
void *operator new[](size_t n, const std::nothrow_t &) noexcept
{
	return should_fail() ? nullptr : malloc(n ? n : 1);
}
void operator delete(void *p) noexcept { free(p); }
void operator delete[](void *p) noexcept { free(p); }
void operator delete(void *p, size_t) noexcept { free(p); }
void operator delete[](void *p, size_t) noexcept { free(p); }
void operator delete(void *p, const std::nothrow_t &) noexcept { free(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { free(p); }
