// SPDX-License-Identifier: GPL-2.0
//
// log.hpp - logging from C++.  Anything a user can trigger goes through
// log_user(), which is ratelimited; module-internal events use log_err/info.
#pragma once

#include "../kapi.h"

#define log_err(fmt, ...) kapi_log(KAPI_LOG_ERR, fmt, ##__VA_ARGS__)
#define log_warn(fmt, ...) kapi_log(KAPI_LOG_WARN, fmt, ##__VA_ARGS__)
#define log_info(fmt, ...) kapi_log(KAPI_LOG_INFO, fmt, ##__VA_ARGS__)
// Bad input from user space: say what was wrong, at most a few times a second.
#define log_user(fmt, ...) kapi_log_ratelimited(KAPI_LOG_INFO, fmt, ##__VA_ARGS__)
