/* SPDX-License-Identifier: GPL-2.0 */
/* suites.h - what glue.c calls of suites.c (CONFIG_KUNIT only). */
#ifndef IOMMUFD_CXX_KUNIT_SUITES_H
#define IOMMUFD_CXX_KUNIT_SUITES_H

/* Run every suite now (module init, kunit=1), printing KTAP to the log. */
void iommufd_cxx_kunit_run(void);
/* Module exit: drop what running them registered (debugfs). */
void iommufd_cxx_kunit_exit(void);

#endif /* IOMMUFD_CXX_KUNIT_SUITES_H */
