/* SPDX-License-Identifier: MIT */
/* abi.c: test modules `test_abi_major` and `test_abi_minor`: a source built
 * for a newer module ABI major (-DABI_TEST_MAJOR=1) or minor
 * (-DABI_TEST_MINOR=1) than the loader's. */
#include "config.h"

#include "kiwiauth-module.h"

#ifndef ABI_TEST_MAJOR
#define ABI_TEST_MAJOR 0
#endif
#ifndef ABI_TEST_MINOR
#define ABI_TEST_MINOR 0
#endif
#if ABI_TEST_MAJOR + ABI_TEST_MINOR != 1
#error "build with one of -DABI_TEST_MAJOR=1 and -DABI_TEST_MINOR=1"
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
	.abi_major = KA_MODULE_ABI_MAJOR + ABI_TEST_MAJOR,
	.abi_minor = KA_MODULE_ABI_MINOR + ABI_TEST_MINOR,
	.kind = KA_MODULE_SOURCE,
	.name = ABI_TEST_MAJOR ? "test_abi_major" : "test_abi_minor",
	.description = "test source built for a newer module ABI",
	.source = &abi_ops,
};
