/* abi_minor.c: test module `test_abi_minor`, built for a newer ABI minor. */
#include "config.h"

#include "kiwiauth-module.h"

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
	.abi_major = KA_MODULE_ABI_MAJOR,
	.abi_minor = KA_MODULE_ABI_MINOR + 1,
	.kind = KA_MODULE_SOURCE,
	.name = "test_abi_minor",
	.description = "test source built for a newer module ABI",
	.source = &abi_ops,
};
