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

// ==== pinning (iopt::Pages; see fake_kapi.h) ================================

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <unordered_map>

namespace {

constexpr uint64_t kPage = 4096;

struct FakeProcess {
	int uid = 0;
	uint64_t rlimit = ~0ull; // bytes
	bool mm_gone = false;
	uint64_t locked_vm = 0;	 // mm->locked_vm, pages
	uint64_t pinned_vm = 0;	 // mm->pinned_vm, pages
};

struct FakeMemfd {
	uint64_t npages = 0;
	uint64_t folio_pages = 1;
	bool writable = true;
	bool shmem = true;
	bool fragmented = false;
	std::map<uint64_t, uint64_t> folios; // first page index -> head PFN
};

struct PinState {
	std::mutex lock;
	std::map<uint64_t, uint64_t> va_to_pfn; // user page -> PFN
	uint64_t next_pfn = fake_kapi::kSimPfnBase;
	std::map<uint64_t, uint64_t> folio_size; // head PFN -> pages (multi-page folios)
	std::unordered_map<uint64_t, uint64_t> pins; // folio head PFN -> pins
	std::unordered_map<uint64_t, bool> dirty;    // PFN -> dirty
	std::unordered_map<uint64_t, std::unique_ptr<std::array<uint8_t, kPage>>> phys;
	std::vector<FakeProcess> procs{ FakeProcess{} };
	std::map<int, uint64_t> user_locked_vm; // uid -> pages
	int current = 0;
	bool user_copy_is_direct = false; // see set_user_copy_direct()
	bool cap_ipc_lock = false;
	bool cap_sys_resource = false;
	unsigned pin_short = 0;
	long calls_fast = 0, calls_remote = 0, calls_memfd = 0;
	unsigned max_batch = 0;
	long owners = 0;
	std::map<int, FakeMemfd> files;
	int next_fd = 1000;
	long file_refs = 0;
};

PinState &ps()
{
	static PinState s;
	return s;
}

// The folio holding pfn: (head, pages).  Caller holds ps().lock.
std::pair<uint64_t, uint64_t> folio_of_locked(uint64_t pfn)
{
	auto &s = ps();
	auto it = s.folio_size.upper_bound(pfn);
	if (it != s.folio_size.begin()) {
		--it;
		if (pfn < it->first + it->second)
			return { it->first, it->second };
	}
	return { pfn, 1 };
}

uint64_t translate_locked(uint64_t va)
{
	auto &s = ps();
	auto it = s.va_to_pfn.find(va & ~(kPage - 1));
	return it != s.va_to_pfn.end() ? it->second : va / kPage;
}

uint8_t *phys_page_locked(uint64_t pfn)
{
	auto &s = ps();
	if (pfn < fake_kapi::kSimPfnBase)
		return reinterpret_cast<uint8_t *>(pfn * kPage);
	auto &p = s.phys[pfn];
	if (!p) {
		p = std::make_unique<std::array<uint8_t, kPage>>();
		p->fill(0);
	}
	return p->data();
}

void unpin_folio_locked(uint64_t head)
{
	auto &s = ps();
	auto it = s.pins.find(head);
	if (it == s.pins.end() || it->second == 0) {
		fprintf(stderr, "fake kapi: unpin of unpinned folio %#llx\n", (unsigned long long)head);
		abort();
	}
	if (--it->second == 0)
		s.pins.erase(it);
}

} // namespace

struct kapi_pin_owner {
	int process;
	int uid;
};

struct kapi_pin_file {
	int fd;
};

namespace fake_kapi {

void pin_reset()
{
	auto &s = ps();
	std::lock_guard<std::mutex> g(s.lock);
	s.va_to_pfn.clear();
	s.next_pfn = kSimPfnBase;
	s.folio_size.clear();
	s.pins.clear();
	s.dirty.clear();
	s.phys.clear();
	s.procs.assign(1, FakeProcess{});
	s.user_locked_vm.clear();
	s.current = 0;
	s.user_copy_is_direct = false;
	s.cap_ipc_lock = s.cap_sys_resource = false;
	s.pin_short = 0;
	s.calls_fast = s.calls_remote = s.calls_memfd = 0;
	s.max_batch = 0;
	s.files.clear();
}

void set_user_copy_direct(bool on)
{
	std::lock_guard<std::mutex> g(ps().lock);
	ps().user_copy_is_direct = on;
}

void map_user(uint64_t va, uint64_t npages, uint64_t pfn)
{
	std::lock_guard<std::mutex> g(ps().lock);
	for (uint64_t i = 0; i < npages; i++)
		ps().va_to_pfn[va + i * kPage] = pfn + i;
}

void unmap_user(uint64_t va, uint64_t npages)
{
	std::lock_guard<std::mutex> g(ps().lock);
	for (uint64_t i = 0; i < npages; i++)
		ps().va_to_pfn.erase(va + i * kPage);
}

uint64_t alloc_pfns(uint64_t n, uint64_t align)
{
	std::lock_guard<std::mutex> g(ps().lock);
	auto &s = ps();
	uint64_t pfn = (s.next_pfn + align - 1) / align * align;
	s.next_pfn = pfn + n + 1; // a gap: consecutive allocations are not contiguous
	return pfn;
}

int new_process()
{
	std::lock_guard<std::mutex> g(ps().lock);
	auto &s = ps();
	FakeProcess p;
	p.uid = int(s.procs.size());
	s.procs.push_back(p);
	return int(s.procs.size()) - 1;
}

void set_current_process(int id)
{
	std::lock_guard<std::mutex> g(ps().lock);
	ps().current = id;
}
void set_mm_gone(int id, bool gone)
{
	std::lock_guard<std::mutex> g(ps().lock);
	ps().procs.at(id).mm_gone = gone;
}
void set_uid(int id, int uid)
{
	std::lock_guard<std::mutex> g(ps().lock);
	ps().procs.at(id).uid = uid;
}
void set_rlimit_memlock(int id, uint64_t bytes)
{
	std::lock_guard<std::mutex> g(ps().lock);
	ps().procs.at(id).rlimit = bytes;
}
void set_cap_ipc_lock(bool on) { ps().cap_ipc_lock = on; }
void set_cap_sys_resource(bool on) { ps().cap_sys_resource = on; }
uint64_t user_locked_vm(int uid)
{
	std::lock_guard<std::mutex> g(ps().lock);
	auto it = ps().user_locked_vm.find(uid);
	return it == ps().user_locked_vm.end() ? 0 : it->second;
}
uint64_t mm_locked_vm(int id)
{
	std::lock_guard<std::mutex> g(ps().lock);
	return ps().procs.at(id).locked_vm;
}
uint64_t mm_pinned_vm(int id)
{
	std::lock_guard<std::mutex> g(ps().lock);
	return ps().procs.at(id).pinned_vm;
}
long owners_alive() { return ps().owners; }

uint64_t pfn_pins(uint64_t pfn)
{
	std::lock_guard<std::mutex> g(ps().lock);
	auto it = ps().pins.find(folio_of_locked(pfn).first);
	return it == ps().pins.end() ? 0 : it->second;
}
uint64_t total_pins()
{
	std::lock_guard<std::mutex> g(ps().lock);
	uint64_t n = 0;
	for (auto &p : ps().pins)
		n += p.second;
	return n;
}
bool pfn_dirty(uint64_t pfn)
{
	std::lock_guard<std::mutex> g(ps().lock);
	auto it = ps().dirty.find(pfn);
	return it != ps().dirty.end() && it->second;
}
void set_pin_short(unsigned n) { ps().pin_short = n; }
long pin_calls_fast() { return ps().calls_fast; }
long pin_calls_remote() { return ps().calls_remote; }
long memfd_pin_calls() { return ps().calls_memfd; }
unsigned max_pin_batch() { return ps().max_batch; }

void phys_write(uint64_t pfn, size_t offset, const void *src, size_t len)
{
	std::lock_guard<std::mutex> g(ps().lock);
	memcpy(phys_page_locked(pfn) + offset, src, len);
}
void phys_read(uint64_t pfn, size_t offset, void *dst, size_t len)
{
	std::lock_guard<std::mutex> g(ps().lock);
	memcpy(dst, phys_page_locked(pfn) + offset, len);
}

int memfd_create(uint64_t npages, uint64_t folio_pages, bool writable, bool fragmented)
{
	std::lock_guard<std::mutex> g(ps().lock);
	FakeMemfd f;
	f.npages = npages;
	f.folio_pages = folio_pages;
	f.writable = writable;
	f.fragmented = fragmented;
	int fd = ps().next_fd++;
	ps().files[fd] = f;
	return fd;
}

int plain_fd()
{
	std::lock_guard<std::mutex> g(ps().lock);
	FakeMemfd f;
	f.npages = 1024;
	f.shmem = false;
	int fd = ps().next_fd++;
	ps().files[fd] = f;
	return fd;
}

void memfd_punch(int fd, uint64_t index)
{
	std::lock_guard<std::mutex> g(ps().lock);
	auto &f = ps().files.at(fd);
	f.folios.erase(index - index % f.folio_pages);
}

uint64_t memfd_pfn(int fd, uint64_t index)
{
	std::lock_guard<std::mutex> g(ps().lock);
	auto &f = ps().files.at(fd);
	auto it = f.folios.find(index - index % f.folio_pages);
	return it == f.folios.end() ? 0 : it->second + index % f.folio_pages;
}

long memfd_refs() { return ps().file_refs; }

} // namespace fake_kapi

extern "C" {

// The module's own fault injection sites count with the allocations.
bool kapi_should_fail(void) { return should_fail(); }
void kapi_fault_init(void) {}
void kapi_fault_exit(void) {}

struct kapi_pin_owner *kapi_pin_owner_current(void)
{
	if (should_fail())
		return nullptr;
	std::lock_guard<std::mutex> g(ps().lock);
	auto &s = ps();
	auto *o = new kapi_pin_owner{ s.current, s.procs.at(s.current).uid };
	s.owners++;
	live_allocs++;
	return o;
}

bool kapi_pin_owner_is_current(const struct kapi_pin_owner *o)
{
	// The fake's user memory is a model reached through pins only, unless
	// a test backs an address range with real memory and says so.
	std::lock_guard<std::mutex> g(ps().lock);
	return ps().user_copy_is_direct && o->process == ps().current;
}

void kapi_pin_owner_put(struct kapi_pin_owner *o)
{
	if (!o)
		return;
	ps().owners--;
	live_allocs--;
	delete o;
}

bool kapi_capable_ipc_lock(void) { return ps().cap_ipc_lock; }
bool kapi_capable_sys_resource(void) { return ps().cap_sys_resource; }

int kapi_pin_charge(struct kapi_pin_owner *o, enum kapi_pin_account mode, uint64_t npages)
{
	std::lock_guard<std::mutex> g(ps().lock);
	auto &s = ps();
	FakeProcess &p = s.procs.at(o->process);
	uint64_t limit = p.rlimit / kPage;
	if (!npages)
		return 0;
	switch (mode) {
	case KAPI_PIN_ACCOUNT_NONE:
		break;
	case KAPI_PIN_ACCOUNT_USER: {
		uint64_t &locked = s.user_locked_vm[o->uid];
		if (npages > limit || locked > limit - npages)
			return -ENOMEM;
		locked += npages;
		break;
	}
	case KAPI_PIN_ACCOUNT_MM:
		if (o->process != s.current && p.mm_gone)
			return -EFAULT;
		// __account_locked_vm: the caller's CAP_IPC_LOCK lifts the limit.
		if ((npages > limit || p.locked_vm > limit - npages) && !s.cap_ipc_lock)
			return -ENOMEM;
		p.locked_vm += npages;
		break;
	}
	p.pinned_vm += npages;
	return 0;
}

void kapi_pin_uncharge(struct kapi_pin_owner *o, enum kapi_pin_account mode, uint64_t npages)
{
	std::lock_guard<std::mutex> g(ps().lock);
	auto &s = ps();
	FakeProcess &p = s.procs.at(o->process);
	if (!npages)
		return;
	switch (mode) {
	case KAPI_PIN_ACCOUNT_NONE:
		break;
	case KAPI_PIN_ACCOUNT_USER: {
		uint64_t &locked = s.user_locked_vm[o->uid];
		if (locked < npages)
			abort();
		locked -= npages;
		break;
	}
	case KAPI_PIN_ACCOUNT_MM:
		if (o->process != s.current && p.mm_gone)
			break;
		if (p.locked_vm < npages)
			abort();
		p.locked_vm -= npages;
		break;
	}
	if (p.pinned_vm < npages)
		abort();
	p.pinned_vm -= npages;
}

long kapi_pin_user_pages(struct kapi_pin_owner *o, uint64_t uptr, unsigned int npages, bool write,
			 uint64_t *pfns)
{
	if (npages == 0 || npages > KAPI_PIN_BATCH_MAX || uptr % kPage)
		abort(); // the contract says the caller never does this
	std::lock_guard<std::mutex> g(ps().lock);
	auto &s = ps();
	s.max_batch = std::max(s.max_batch, npages);
	if (o->process == s.current) {
		s.calls_fast++;
	} else {
		s.calls_remote++;
		if (s.procs.at(o->process).mm_gone)
			return -EFAULT;
	}
	unsigned n = s.pin_short ? std::min(npages, s.pin_short) : npages;
	unsigned i = 0;
	for (; i < n; i++) {
		uint64_t va = uptr + uint64_t(i) * kPage;
		if (va < uptr || faults(va, kPage))
			break;
		pfns[i] = translate_locked(va);
		s.pins[pfns[i]]++;
	}
	return i ? long(i) : -EFAULT;
}

void kapi_unpin_user_pages(uint64_t pfn, uint64_t npages, bool dirty)
{
	std::lock_guard<std::mutex> g(ps().lock);
	for (uint64_t i = 0; i < npages; i++) {
		unpin_folio_locked(pfn + i);
		if (dirty)
			ps().dirty[pfn + i] = true;
	}
}

int kapi_pin_file_get(int fd, bool write, struct kapi_pin_file **out)
{
	std::lock_guard<std::mutex> g(ps().lock);
	auto it = ps().files.find(fd);
	if (it == ps().files.end())
		return -EBADF;
	if (!it->second.shmem)
		return -EINVAL;
	if (write && !it->second.writable)
		return -EPERM;
	*out = new kapi_pin_file{ fd };
	ps().file_refs++;
	return 0;
}

void kapi_pin_file_put(struct kapi_pin_file *f)
{
	if (!f)
		return;
	ps().file_refs--;
	delete f;
}

uint64_t kapi_pin_file_size(struct kapi_pin_file *f)
{
	std::lock_guard<std::mutex> g(ps().lock);
	return ps().files.at(f->fd).npages * kPage;
}

long kapi_pin_file_folios(struct kapi_pin_file *f, uint64_t start, uint64_t last,
			  struct kapi_folio *folios, unsigned int max, uint64_t *first_page)
{
	if (max == 0 || max > KAPI_PIN_BATCH_MAX || start > last)
		abort();
	std::lock_guard<std::mutex> g(ps().lock);
	auto &s = ps();
	s.calls_memfd++;
	s.max_batch = std::max(s.max_batch, max);
	FakeMemfd &file = s.files.at(f->fd);
	if (last >= file.npages * kPage)
		return -EINVAL;
	uint64_t idx = start / kPage;
	uint64_t last_idx = last / kPage;
	long n = 0;
	while (idx <= last_idx && n < long(max)) {
		uint64_t first = idx - idx % file.folio_pages;
		uint64_t &head = file.folios[first];
		if (!head) {
			// A new folio, physically contiguous and naturally aligned.
			uint64_t fp = file.folio_pages;
			head = (s.next_pfn + fp - 1) / fp * fp;
			s.next_pfn = head + fp + (file.fragmented ? 1 : 0);
			if (fp > 1)
				s.folio_size[head] = fp;
		}
		if (n == 0)
			*first_page = idx - first;
		s.pins[head]++;
		folios[n++] = kapi_folio{ head, file.folio_pages };
		idx = first + file.folio_pages;
	}
	return n;
}

void kapi_folio_of(uint64_t pfn, struct kapi_folio *out)
{
	std::lock_guard<std::mutex> g(ps().lock);
	auto f = folio_of_locked(pfn);
	*out = kapi_folio{ f.first, f.second };
}

void kapi_unpin_folios(uint64_t pfn, uint64_t npages, bool dirty, bool skip_first, bool skip_last)
{
	std::lock_guard<std::mutex> g(ps().lock);
	uint64_t end = pfn + npages;
	for (uint64_t cur = pfn; cur < end;) {
		auto f = folio_of_locked(cur);
		uint64_t next = f.first + f.second;
		if (!(skip_first && cur == pfn) && !(skip_last && next >= end)) {
			unpin_folio_locked(f.first);
			if (dirty)
				for (uint64_t p = f.first; p < next; p++)
					ps().dirty[p] = true;
		}
		cur = next;
	}
}

void kapi_copy_page(uint64_t pfn, size_t offset, void *buf, size_t len, bool to_page)
{
	if (offset > kPage || len > kPage - offset)
		abort();
	std::lock_guard<std::mutex> g(ps().lock);
	auto &s = ps();
	if (!s.pins.count(folio_of_locked(pfn).first))
		abort(); // the contract: the caller holds a pin
	uint8_t *page = phys_page_locked(pfn);
	if (to_page) {
		memcpy(page + offset, buf, len);
		s.dirty[pfn] = true;
	} else {
		memcpy(buf, page + offset, len);
	}
}

int kapi_test_user_pfn(uint64_t uptr, uint64_t *pfn)
{
	if (faults(uptr, 1))
		return -EFAULT;
	std::lock_guard<std::mutex> g(ps().lock);
	*pfn = translate_locked(uptr);
	return 0;
}

} // extern "C"
