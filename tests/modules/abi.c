/* SPDX-License-Identifier: MIT */
/* abi.c: test modules `test_abi_major`, `test_abi_minor` and
 * `test_abi_old`: a source built for a newer module ABI major
 * (-DABI_TEST_MAJOR=1) or minor (-DABI_TEST_MINOR=1) than the loader's,
 * or for the ABI before the last major bump, 1.2 (-DABI_TEST_OLD=1). */
#include "config.h"

#include "kiwiauth-module.h"

#ifndef ABI_TEST_MAJOR
#define ABI_TEST_MAJOR 0
#endif
#ifndef ABI_TEST_MINOR
#define ABI_TEST_MINOR 0
#endif
#ifndef ABI_TEST_OLD
#define ABI_TEST_OLD 0
#endif
#if ABI_TEST_MAJOR + ABI_TEST_MINOR + ABI_TEST_OLD != 1
#error "build with one of -DABI_TEST_MAJOR=1, -DABI_TEST_MINOR=1, -DABI_TEST_OLD=1"
#endif
#if ABI_TEST_OLD && KA_MODULE_ABI_MAJOR != 2
#error "test_abi_old stands for ABI 1.2: update it to the major before KA_MODULE_ABI_MAJOR"
#endif

static enum ka_status abi_load(struct ka_mctx *m, const char *service,
			       const char *account, struct ka_record **out,
			       ka_error *err)
{
	*out = 0;
	return KA_ERR_NOT_FOUND;
}

static const struct ka_source_ops abi_ops = {
	.load = abi_load,
};

__attribute__((visibility("default")))
const struct ka_module ka_module = {
#if ABI_TEST_OLD
	.abi_major = 1,
	.abi_minor = 2,
	.name = "test_abi_old",
	.description = "test source built for module ABI 1.2",
#else
	.abi_major = KA_MODULE_ABI_MAJOR + ABI_TEST_MAJOR,
	.abi_minor = KA_MODULE_ABI_MINOR + ABI_TEST_MINOR,
	.name = ABI_TEST_MAJOR ? "test_abi_major" : "test_abi_minor",
	.description = "test source built for a newer module ABI",
#endif
	.kind = KA_MODULE_SOURCE,
	.source = &abi_ops,
};
