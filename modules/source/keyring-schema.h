/* SPDX-License-Identifier: MIT */
/* keyring-schema.h: the Secret Service schema of kiwi-auth's keyring items,
 * shared by the keyring module, its tests and its benchmark: xdg:schema
 * org.kiwiauth.Token with the attributes service and account; the secret
 * is the token record as JSON. Other tools (secret-tool, python-keyring)
 * see items by these names. */
#ifndef KIWIAUTH_KEYRING_SCHEMA_H
#define KIWIAUTH_KEYRING_SCHEMA_H

#include <libsecret/secret.h>

static const SecretSchema kiwiauth_keyring_schema = {
	.name = "org.kiwiauth.Token",
	.flags = SECRET_SCHEMA_NONE,
	.attributes = {
		{ "service", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ "account", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ NULL, 0 },
	},
};

#endif
