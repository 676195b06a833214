/* SPDX-License-Identifier: MIT */
/* test_mcpauth.c: the pure parsers and decisions of MCP authorization:
 * Bearer challenges (challenge.c), well-known URLs and server metadata
 * (discover.c), protected resource metadata and its checks (resource.c),
 * registration answers (clients.c), step-up (stepup.c), and the atomic
 * private files they are stored in (statefile.c). */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "kai.h"

static enum ka_status chal(const char *s, struct kai_bearer_challenge *c)
{
	return kai_bearer_challenge_parse(s, strlen(s), c);
}

/* ---- WWW-Authenticate ---------------------------------------------------- */

static void test_challenge_sdk(void **state)
{
	struct kai_bearer_challenge c;

	(void)state;
	/* As @modelcontextprotocol/sdk 1.32 answers a request without a token. */
	assert_int_equal(chal("Bearer error=\"invalid_token\", error_description="
			      "\"Missing Authorization header\", scope=\"mcp:tools\", "
			      "resource_metadata=\"http://127.0.0.1:5/.well-known/"
			      "oauth-protected-resource/mcp\"", &c), KA_OK);
	assert_true(c.found);
	assert_string_equal(c.error, "invalid_token");
	assert_string_equal(c.scope, "mcp:tools");
	assert_string_equal(c.resource_metadata,
			    "http://127.0.0.1:5/.well-known/oauth-protected-resource/mcp");
	assert_string_equal(c.error_description, "Missing Authorization header");
}

static void test_challenge_forms(void **state)
{
	struct kai_bearer_challenge c;

	(void)state;
	/* Another scheme first, its token68 and params skipped. */
	assert_int_equal(chal("Basic abc==, Negotiate, bearer realm=x,"
			      "scope=\"a b\"", &c), KA_OK);
	assert_true(c.found);
	assert_string_equal(c.realm, "x");
	assert_string_equal(c.scope, "a b");
	/* Case-insensitive names, quoted-pair, spaces around '='. */
	assert_int_equal(chal("BEARER ERROR = \"insufficient_scope\", "
			      "Scope=\"x\\\"y\"", &c), KA_OK);
	assert_string_equal(c.error, "insufficient_scope");
	assert_string_equal(c.scope, "x\"y");
	/* A bare challenge, and none at all. */
	assert_int_equal(chal("Bearer", &c), KA_OK);
	assert_true(c.found);
	assert_string_equal(c.scope, "");
	assert_int_equal(chal("Basic realm=\"r\"", &c), KA_OK);
	assert_false(c.found);
	assert_int_equal(chal("", &c), KA_OK);
	assert_false(c.found);
	/* Bearer params of another challenge do not leak into ours. */
	assert_int_equal(chal("Bearer scope=\"a\", DPoP scope=\"b\"", &c), KA_OK);
	assert_string_equal(c.scope, "a");
}

static void test_challenge_malformed(void **state)
{
	static const char *const bad[] = {
		"Bearer scope=\"unterminated",
		"Bearer scope=\"a\", scope=\"b\"",	/* twice */
		"Bearer scope=\"a\nb\"",		/* a control byte */
		"Bearer scope=\"a\" junk",
		"Bearer a, Bearer b=1",			/* two Bearer */
		"Bearer scope=",
		"=x",
	};
	struct kai_bearer_challenge c;
	char big[KA_URL_MAX + 64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chal(bad[i], &c), KA_ERR_PROTOCOL);
		assert_false(c.found);
	}
	snprintf(big, sizeof(big), "Bearer resource_metadata=\"%0*d\"",
		 KA_URL_MAX, 0);
	assert_int_equal(chal(big, &c), KA_ERR_PROTOCOL);
	/* An embedded NUL is refused, not cut. */
	assert_int_equal(kai_bearer_challenge_parse("Bearer\0scope=x", 14, &c),
			 KA_ERR_PROTOCOL);
}

static void test_scope_lists(void **state)
{
	char l[32] = "a b";

	(void)state;
	assert_true(kai_scope_list_has(l, "b"));
	assert_false(kai_scope_list_has(l, "c"));
	assert_false(kai_scope_list_has("ab", "a"));
	assert_int_equal(kai_scope_list_add(l, sizeof(l), "b  c a d"), KA_OK);
	assert_string_equal(l, "a b c d");
	assert_int_equal(kai_scope_list_add(l, 10, "eeeeeeee"), KA_ERR_INVALID);
	assert_string_equal(l, "a b c d");
	assert_true(kai_scope_list_ok("mcp:tools files:read"));
	assert_true(kai_scope_list_ok(""));
	assert_false(kai_scope_list_ok("a  b"));
	assert_false(kai_scope_list_ok(" a"));
	assert_false(kai_scope_list_ok("a\""));
	assert_false(kai_scope_list_ok("r\xc3\xa9"));
}

/* ---- well-known URLs and authorization server metadata ------------------ */

static void test_well_known(void **state)
{
	char u[3][KA_URL_MAX];

	(void)state;
	assert_int_equal(kai_well_known_urls("https://a.example/tenant1/",
					     "openid-configuration", 1, u, 3), 2);
	assert_string_equal(u[0], "https://a.example/.well-known/openid-configuration/tenant1");
	assert_string_equal(u[1], "https://a.example/tenant1/.well-known/openid-configuration");
	assert_int_equal(kai_well_known_urls("https://a.example", "oauth-authorization-server",
					     1, u, 3), 1);
	assert_string_equal(u[0], "https://a.example/.well-known/oauth-authorization-server");
	assert_int_equal(kai_well_known_urls("https://h:8443/public/mcp",
					     "oauth-protected-resource", 0, u, 1), 1);
	assert_string_equal(u[0], "https://h:8443/.well-known/oauth-protected-resource/public/mcp");
	assert_int_equal(kai_well_known_urls("no-scheme", "x", 1, u, 3), 0);
}

#define AS_DOC "{\"issuer\":\"https://as.example\"," \
	"\"authorization_endpoint\":\"https://as.example/auth\"," \
	"\"token_endpoint\":\"https://as.example/token\"," \
	"\"registration_endpoint\":\"https://as.example/reg\"," \
	"\"code_challenge_methods_supported\":[\"plain\",\"S256\"]," \
	"\"authorization_response_iss_parameter_supported\":true," \
	"\"scopes_supported\":[\"openid\",\"offline_access\"]%s}"

static enum ka_status as_parse(const char *extra, const char *issuer,
			       int strict, struct ka_oauth_metadata *md,
			       ka_error *err)
{
	char doc[2048];

	snprintf(doc, sizeof(doc), AS_DOC, extra);
	ka_error_clear(err);
	return kai_as_metadata_parse(doc, strlen(doc), issuer, strict, md, err);
}

static void test_as_metadata(void **state)
{
	struct ka_oauth_metadata md;
	ka_error err;

	(void)state;
	assert_int_equal(as_parse("", "https://as.example", 1, &md, &err), KA_OK);
	assert_string_equal(md.issuer, "https://as.example");
	assert_string_equal(md.ep.token, "https://as.example/token");
	assert_string_equal(md.registration, "https://as.example/reg");
	assert_true(md.flags & KA_META_S256);
	assert_true(md.flags & KA_META_ISS_RESPONSE);
	assert_true(md.flags & KA_META_OFFLINE_ACCESS);
	assert_false(md.flags & KA_META_CLIENT_ID_DOC);
	assert_int_equal(kai_as_metadata_check(&md, &err), KA_OK);
	/* RFC 8414 section 3.3: another issuer is never used; strict means
	 * byte for byte, lenient forgives a trailing slash only. */
	assert_int_equal(as_parse("", "https://as.example/", 1, &md, &err),
			 KA_ERR_PROTOCOL);
	assert_true(tu_contains(err.text, "names another issuer"));
	assert_string_equal(md.issuer, "");
	assert_int_equal(as_parse("", "https://as.example/", 0, &md, &err), KA_OK);
	assert_int_equal(as_parse("", "https://evil.example", 0, &md, &err),
			 KA_ERR_PROTOCOL);
	assert_int_equal(as_parse(",\"client_id_metadata_document_supported\":true",
				  "https://as.example", 1, &md, &err), KA_OK);
	assert_true(md.flags & KA_META_CLIENT_ID_DOC);
}

static void test_as_metadata_bad(void **state)
{
	static const char *const bad[] = {
		"[]", "{}", "not json",
		"{\"issuer\":\"https://as.example\"}",	/* no token endpoint */
		("{\"issuer\":\"https://as.example\",\"token_endpoint\":"
		 "\"http://as.example/token\"}"),	/* plain http */
		"{\"issuer\":\"https://as.example\",\"issuer\":\"x\"}",
	};
	struct ka_oauth_metadata md;
	ka_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ka_error_clear(&err);
		assert_int_equal(kai_as_metadata_parse(bad[i], strlen(bad[i]),
						       "https://as.example", 1,
						       &md, &err), KA_ERR_PROTOCOL);
		assert_int_not_equal(err.text[0], '\0');
	}
}

static void test_as_metadata_check(void **state)
{
	static const char nos256[] = "{\"issuer\":\"https://as.example\","
		"\"token_endpoint\":\"https://as.example/t\","
		"\"authorization_endpoint\":\"https://as.example/a\"}";
	struct ka_oauth_metadata md;
	ka_error err;

	(void)state;
	/* Without S256, kiwi-auth does not sign in there. */
	ka_error_clear(&err);
	assert_int_equal(kai_as_metadata_parse(nos256, strlen(nos256),
					       "https://as.example", 1, &md,
					       &err), KA_OK);
	ka_error_clear(&err);
	assert_int_equal(kai_as_metadata_check(&md, &err), KA_ERR_PROTOCOL);
	assert_true(tu_contains(err.text, "PKCE with S256"));
	/* A token endpoint on another origin than the issuer's. */
	assert_int_equal(as_parse("", "https://as.example", 1, &md, &err), KA_OK);
	snprintf(md.ep.token, KA_URL_MAX, "https://other.example/token");
	ka_error_clear(&err);
	assert_int_equal(kai_as_metadata_check(&md, &err), KA_ERR_PROTOCOL);
	assert_true(tu_contains(err.text, "token endpoint on another origin"));
	assert_int_equal(as_parse("", "https://as.example", 1, &md, &err), KA_OK);
	snprintf(md.registration, KA_URL_MAX, "https://as.example:444/reg");
	ka_error_clear(&err);
	assert_int_equal(kai_as_metadata_check(&md, &err), KA_ERR_PROTOCOL);
	assert_true(tu_contains(err.text, "registration endpoint"));
}

/* ---- protected resource metadata (RFC 9728) ----------------------------- */

static void test_resource_canon(void **state)
{
	char c[KA_URL_MAX];
	ka_error err;

	(void)state;
	ka_error_clear(&err);
	assert_int_equal(kai_resource_canon("HTTPS://MCP.Example.com/mcp", c,
					    sizeof(c), &err), KA_OK);
	assert_string_equal(c, "https://mcp.example.com/mcp");
	assert_int_equal(kai_resource_canon("https://mcp.example.com/", c,
					    sizeof(c), &err), KA_OK);
	assert_string_equal(c, "https://mcp.example.com");
	assert_int_equal(kai_resource_canon("https://mcp.example.com:8443", c,
					    sizeof(c), &err), KA_OK);
	assert_string_equal(c, "https://mcp.example.com:8443");
	assert_int_equal(kai_resource_canon("https://h/mcp#frag", c, sizeof(c),
					    &err), KA_ERR_INVALID);
	ka_error_clear(&err);
	assert_int_equal(kai_resource_canon("https://h/mcp?x=1", c, sizeof(c),
					    &err), KA_ERR_INVALID);
	ka_error_clear(&err);
	assert_int_not_equal(kai_resource_canon("http://mcp.example.com/mcp", c,
						sizeof(c), &err), KA_OK);
	ka_error_clear(&err);
	assert_int_not_equal(kai_resource_canon("mcp.example.com", c, sizeof(c),
						&err), KA_OK);
}

static enum ka_status prm(const char *doc, struct ka_resource_metadata *rm,
			  ka_error *err)
{
	ka_error_clear(err);
	return kai_resource_metadata_parse(doc, strlen(doc),
					   "https://mcp.example.com/mcp", rm, err);
}

static void test_resource_metadata(void **state)
{
	struct ka_resource_metadata rm;
	ka_error err;

	(void)state;
	assert_int_equal(prm("{\"resource\":\"https://MCP.example.com/mcp\","
			     "\"authorization_servers\":[\"ftp://x\","
			     "\"https://as.example\"],\"scopes_supported\":"
			     "[\"mcp:tools\",\"files:read\"]}", &rm, &err), KA_OK);
	assert_string_equal(rm.resource, "https://mcp.example.com/mcp");
	assert_string_equal(rm.as.issuer, "https://as.example");
	assert_string_equal(rm.scope, "mcp:tools files:read");
	assert_int_equal(prm("{\"resource\":\"https://mcp.example.com/mcp\","
			     "\"authorization_servers\":[\"https://as.example\"]}",
			     &rm, &err), KA_OK);
	assert_string_equal(rm.scope, "");
	/* RFC 9728 section 3.3: another resource is not used. */
	assert_int_equal(prm("{\"resource\":\"https://mcp.example.com/other\","
			     "\"authorization_servers\":[\"https://as.example\"]}",
			     &rm, &err), KA_ERR_PROTOCOL);
	assert_true(tu_contains(err.text, "names another resource"));
	assert_string_equal(rm.as.issuer, "");
	assert_int_equal(prm("{\"resource\":\"https://mcp.example.com:444/mcp\","
			     "\"authorization_servers\":[\"https://as.example\"]}",
			     &rm, &err), KA_ERR_PROTOCOL);
	assert_int_equal(prm("{\"resource\":\"https://mcp.example.com/mcp\"}",
			     &rm, &err), KA_ERR_PROTOCOL);
	assert_true(tu_contains(err.text, "no usable authorization server"));
	assert_int_equal(prm("{\"resource\":\"https://mcp.example.com/mcp\","
			     "\"authorization_servers\":[\"https://as.example?x\"]}",
			     &rm, &err), KA_ERR_PROTOCOL);
	assert_int_equal(prm("{\"resource\":\"https://mcp.example.com/mcp\","
			     "\"authorization_servers\":[\"https://as.example\"],"
			     "\"scopes_supported\":[\"a b\"]}", &rm, &err),
			 KA_ERR_PROTOCOL);
	assert_int_equal(prm("[1]", &rm, &err), KA_ERR_PROTOCOL);
}

/* ---- registration answers (RFC 7591) ------------------------------------ */

static void test_registration(void **state)
{
	/* As oidc-provider 9 answers (registration_access_token dropped). */
	static const char ok[] = "{\"application_type\":\"native\","
		"\"client_id\":\"ebJUuqmix\",\"client_id_issued_at\":1796172516,"
		"\"registration_access_token\":\"QrAFLM20\","
		"\"token_endpoint_auth_method\":\"none\"}";
	struct ka_oauth_client c;
	ka_error err;
	char doc[256];

	(void)state;
	ka_error_clear(&err);
	assert_int_equal(kai_registration_parse(ok, strlen(ok), &c, &err), KA_OK);
	assert_string_equal(c.client_id, "ebJUuqmix");
	assert_null(c.secret);
	kai_oauth_client_clear(&c);
	snprintf(doc, sizeof(doc), "{\"client_id\":\"id\",\"client_secret\":"
		 "\"s3cret\",\"client_secret_expires_at\":0}");
	assert_int_equal(kai_registration_parse(doc, strlen(doc), &c, &err), KA_OK);
	assert_string_equal(c.secret, "s3cret");
	kai_oauth_client_clear(&c);
	assert_null(c.secret);
	snprintf(doc, sizeof(doc), "{\"client_id\":\"id\",\"client_secret\":"
		 "\"s\",\"client_secret_expires_at\":1}");
	assert_int_equal(kai_registration_parse(doc, strlen(doc), &c, &err),
			 KA_ERR_PROTOCOL);
	assert_null(c.secret);
	for (const char *const *b = (const char *const[]){ "{}", "[]",
	     "{\"client_id\":\"a b\"}", "{\"client_id\":7}",
	     "{\"client_id\":\"a\\nb\"}", "{\"client_id\":\"x\","
	     "\"client_secret_expires_at\":\"soon\"}", NULL }; *b != NULL; b++) {
		ka_error_clear(&err);
		assert_int_equal(kai_registration_parse(*b, strlen(*b), &c, &err),
				 KA_ERR_PROTOCOL);
		assert_true(tu_contains(err.text, "client_id") ||
			    tu_contains(err.text, "expired"));
	}
}

/* ---- client identities: the order and the store -------------------------- */

/* chmod every file of dir to mode; asserts there was one. */
static void chmod_entries(const char *dir, mode_t mode)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		char *p;

		if (de->d_name[0] == '.')
			continue;
		p = tu_path(dir, de->d_name);
		assert_int_equal(chmod(p, mode), 0);
		free(p);
		n++;
	}
	closedir(d);
	assert_int_equal(n, 1);
}

static void test_client_order_and_store(void **state)
{
	char *dir = tu_sandbox(), *path, issuer[KA_URL_MAX];
	struct ka_resource_metadata rm;
	struct ka_oauth_client c;
	struct stat sb;
	ka_error err;

	(void)state;
	memset(&rm, 0, sizeof(rm));
	snprintf(rm.resource, sizeof(rm.resource), "https://mcp.example.com/mcp");
	snprintf(rm.as.issuer, sizeof(rm.as.issuer), "https://as.example");
	rm.as.flags = KA_META_S256;
	/* No document support, no registration endpoint: a person must
	 * register a client (and the document URL is not used). */
	ka_error_clear(&err);
	assert_int_equal(kai_oauth_client(NULL, &rm, "https://app.example/c.json",
					  NULL, &c, &err), KA_ERR_CONFIG);
	assert_true(tu_contains(err.text, "set client_id"));
	/* A client ID metadata document where the server supports them:
	 * no request at all, and stored for the next time. */
	rm.as.flags |= KA_META_CLIENT_ID_DOC;
	ka_error_clear(&err);
	assert_int_equal(kai_oauth_client(NULL, &rm, "https://app.example/c.json",
					  NULL, &c, &err), KA_OK);
	assert_string_equal(c.client_id, "https://app.example/c.json");
	assert_string_equal(c.how, "metadata-document");
	kai_oauth_client_clear(&c);
	/* Reused: stored per (issuer, resource), mode 0600. */
	rm.as.flags &= ~KA_META_CLIENT_ID_DOC;
	assert_int_equal(kai_oauth_client(NULL, &rm, NULL, NULL, &c, &err), KA_OK);
	assert_string_equal(c.client_id, "https://app.example/c.json");
	kai_oauth_client_clear(&c);
	assert_int_equal(kai_oauth_client_find(NULL, rm.resource, issuer, &c), KA_OK);
	assert_string_equal(issuer, "https://as.example");
	kai_oauth_client_clear(&c);
	/* Keyed by issuer: another authorization server has none. */
	snprintf(rm.as.issuer, sizeof(rm.as.issuer), "https://other.example");
	ka_error_clear(&err);
	assert_int_equal(kai_oauth_client(NULL, &rm, NULL, NULL, &c, &err),
			 KA_ERR_CONFIG);
	snprintf(rm.as.issuer, sizeof(rm.as.issuer), "https://as.example");
	/* A store file others can read is refused, not used. */
	path = tu_path(dir, "state/kiwi-auth/clients");
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	chmod_entries(path, 0644);
	free(path);
	ka_error_clear(&err);
	assert_int_equal(kai_oauth_client(NULL, &rm, NULL, NULL, &c, &err),
			 KA_ERR_PERMISSION);
	assert_true(tu_contains(err.text, "chmod 600"));
	/* Dropped (after invalid_client): nothing is found any more. */
	assert_int_equal(kai_oauth_client_store(NULL, rm.as.issuer, rm.resource,
						NULL, &err), KA_OK);
	assert_int_equal(kai_oauth_client_find(NULL, rm.resource, issuer, &c),
			 KA_ERR_NOT_FOUND);
	tu_sandbox_free(NULL, dir);
}

/* ---- step-up -------------------------------------------------------------- */

#define WRITE_403 "Bearer error=\"insufficient_scope\", error_description=" \
	"\"Insufficient scope\", scope=\"mcp:tools mcp:write\", " \
	"resource_metadata=\"https://h/.well-known/oauth-protected-resource/mcp\""

static void test_step_up(void **state)
{
	struct ka_record *r = NULL;
	ka_error err;

	(void)state;
	assert_int_equal(ka_record_new(&r), KA_OK);
	assert_int_equal(ka_record_add_scope(r, "mcp:tools"), KA_OK);
	ka_error_clear(&err);
	assert_int_equal(kai_step_up("mcp", "default", r, 200, WRITE_403, 0, &err),
			 KAI_STEP_UP_NONE);
	assert_int_equal(kai_step_up("mcp", "default", r, 403, "Bearer", 0, &err),
			 KAI_STEP_UP_NONE);
	assert_int_equal(err.code, KA_OK);
	/* The scopes to add, and the command that adds them. */
	assert_int_equal(kai_step_up("mcp", "bob", r, 403, WRITE_403, 0, &err),
			 KAI_STEP_UP_SIGNIN);
	assert_true(err.auth_required);
	assert_true(tu_contains(err.text, "needs the scopes mcp:write"));
	assert_true(tu_contains(err.text, "kiwi-auth signin mcp --account bob "
				"--add-scope mcp:write'"));
	/* Held already: one retry with a fresh token, then no more. */
	assert_int_equal(ka_record_add_scope(r, "mcp:write"), KA_OK);
	ka_error_clear(&err);
	assert_int_equal(kai_step_up("mcp", NULL, r, 403, WRITE_403, 0, &err),
			 KAI_STEP_UP_RETRY);
	assert_int_equal(err.code, KA_OK);
	assert_int_equal(kai_step_up("mcp", NULL, r, 403, WRITE_403, 1, &err),
			 KAI_STEP_UP_FAIL);
	assert_true(tu_contains(err.text, "giving up"));
	/* Capped however the scopes look. */
	ka_error_clear(&err);
	assert_int_equal(kai_step_up("mcp", NULL, NULL, 403, WRITE_403,
				     KAI_STEP_UP_MAX, &err), KAI_STEP_UP_FAIL);
	ka_error_clear(&err);
	assert_int_equal(kai_step_up("mcp", NULL, r, 403,
				     "Bearer error=\"insufficient_scope\"", 0, &err),
			 KAI_STEP_UP_FAIL);
	assert_true(tu_contains(err.text, "names none"));
	ka_record_free(r);
}

/* ---- atomic private files -------------------------------------------------- */

static void test_write_atomic(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "f.json"), *text;
	struct stat sb;
	ka_error err;

	(void)state;
	ka_error_clear(&err);
	assert_int_equal(kai_write_atomic(dir, "f.json", "one", 3, 0, &err), KA_OK);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(kai_write_atomic(dir, "f.json", "two", 3, 0, &err), KA_OK);
	text = tu_read(path);
	assert_string_equal(text, "two");
	free(text);
	/* NOREPLACE never replaces, and leaves no temporary file behind. */
	assert_int_equal(kai_write_atomic(dir, "f.json", "three", 5,
					  KAI_WRITE_NOREPLACE, &err), KA_ERR_IO);
	assert_true(tu_contains(err.text, "already exists"));
	text = tu_read(path);
	assert_string_equal(text, "two");
	free(text);
	ka_error_clear(&err);
	assert_int_equal(kai_write_atomic("/nonexistent/x", "f", "a", 1, 0, &err),
			 KA_ERR_IO);
	assert_int_equal(kai_make_dirs(path), -1);	/* a file in the way */
	/* Only f.json is there: no temporary file was left. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_challenge_sdk),
		cmocka_unit_test(test_challenge_forms),
		cmocka_unit_test(test_challenge_malformed),
		cmocka_unit_test(test_scope_lists),
		cmocka_unit_test(test_well_known),
		cmocka_unit_test(test_as_metadata),
		cmocka_unit_test(test_as_metadata_bad),
		cmocka_unit_test(test_as_metadata_check),
		cmocka_unit_test(test_resource_canon),
		cmocka_unit_test(test_resource_metadata),
		cmocka_unit_test(test_registration),
		cmocka_unit_test(test_client_order_and_store),
		cmocka_unit_test(test_step_up),
		cmocka_unit_test(test_write_atomic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
