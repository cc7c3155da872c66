// SPDX-License-Identifier: GPL-2.0
/* log.c - kernel log output and bug reports for the C++ core. */
#include "shim.h"

#include <linux/bug.h>
#include <linux/printk.h>
#include <linux/ratelimit.h>

#include "../kapi.h"

static void kapi_vlog(enum kapi_log_level level, const char *fmt, va_list *args)
{
	struct va_format vaf = { .fmt = fmt, .va = args };

	switch (level) {
	case KAPI_LOG_ERR:
		pr_err("%pV\n", &vaf);
		break;
	case KAPI_LOG_WARN:
		pr_warn("%pV\n", &vaf);
		break;
	case KAPI_LOG_INFO:
		pr_info("%pV\n", &vaf);
		break;
	default:
		pr_debug("%pV\n", &vaf);
		break;
	}
}

void kapi_log(enum kapi_log_level level, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	kapi_vlog(level, fmt, &args);
	va_end(args);
}

void kapi_log_ratelimited(enum kapi_log_level level, const char *fmt, ...)
{
	static DEFINE_RATELIMIT_STATE(rs, DEFAULT_RATELIMIT_INTERVAL,
				      DEFAULT_RATELIMIT_BURST);
	va_list args;

	if (!__ratelimit(&rs))
		return;
	va_start(args, fmt);
	kapi_vlog(level, fmt, &args);
	va_end(args);
}

void kapi_warn_pure_virtual(void)
{
	WARN(1, "pure virtual function called\n");
}

void kapi_assert_failed(const char *expr, const char *file, int line)
{
	WARN(1, "assertion failed: %s at %s:%d\n", expr, file, line);
}
