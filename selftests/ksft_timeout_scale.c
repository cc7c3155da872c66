// SPDX-License-Identifier: GPL-2.0
/*
 * ksft_timeout_scale.c - linked into the kernel's own iommufd selftests by
 * scripts/upstream-selftests.sh with -Wl,--wrap=alarm; the test sources stay
 * as the tree has them.
 *
 * The kselftest harness arms alarm(t->timeout) around each test, 30 s unless
 * the test says otherwise, fixed at compile time.  On the debug kernel
 * (KASAN, lockdep, kmemleak) under QEMU TCG some tests need minutes: there
 * the guest sets KSFT_TIMEOUT_SCALE=N and every timeout is N times longer.
 * Unset (the stock kernel), the harness behaves exactly as built upstream.
 */
#include <stdlib.h>
#include <unistd.h>

unsigned int __real_alarm(unsigned int seconds);
unsigned int __wrap_alarm(unsigned int seconds);

unsigned int __wrap_alarm(unsigned int seconds)
{
	const char *s = getenv("KSFT_TIMEOUT_SCALE");
	unsigned long k = s ? strtoul(s, NULL, 10) : 1;

	if (seconds && k > 1 && k <= 100)
		seconds *= k;
	return __real_alarm(seconds);
}
