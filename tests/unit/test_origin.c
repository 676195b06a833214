/* SPDX-License-Identifier: MIT */
/* test_origin.c: URL parsing and origin matching against a corpus of tricky URLs (git credential CVEs as the model). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "kai.h"

enum expect {
	MATCH,		/* parses and matches the pattern */
	NOMATCH,	/* parses, does not match */
	REFUSED,	/* refused by the parser (denied or invalid) */
};

struct urlcase {
	const char *url;
	const char *pattern;
	enum expect expect;
};

static const struct urlcase corpus[] = {
	/* plain */
	{ "https://good.com/", "https://good.com", MATCH },
	{ "https://good.com", "https://good.com", MATCH },
	{ "https://good.com:443/x", "https://good.com", MATCH },
	{ "https://good.com/path?q=1#frag", "https://good.com", MATCH },
	/* mixed case and trailing dots */
	{ "HTTPS://GOOD.COM/", "https://good.com", MATCH },
	{ "https://Good.Com./", "https://good.com", MATCH },
	{ "https://good.com../", "https://good.com", REFUSED },
	/* a dotted loopback name or address is resolved through DNS */
	{ "http://localhost.:8080/", "http://localhost:8080", REFUSED },
	{ "http://127.0.0.1./", "http://127.0.0.1", REFUSED },
	{ "https://203.0.113.7./", "https://203.0.113.7", REFUSED },
	{ "https://.good.com/", "https://good.com", REFUSED },
	{ "https://good..com/", "https://good.com", REFUSED },
	/* suffix and prefix confusion */
	{ "https://good.com.evil.com/", "https://good.com", NOMATCH },
	{ "https://good.com.evil.com/", "https://*.good.com", NOMATCH },
	{ "https://evilgood.com/", "https://*.good.com", NOMATCH },
	{ "https://evilgood.com/", "https://good.com", NOMATCH },
	{ "https://api.good.com/", "https://*.good.com", MATCH },
	{ "https://a.b.good.com/", "https://*.good.com", MATCH },
	{ "https://API.Good.COM./v1", "https://*.good.com", MATCH },
	{ "https://good.com/", "https://*.good.com", NOMATCH },
	{ "https://api.good.com/", "https://good.com", NOMATCH },
	/* userinfo, fragments and query tricks (CVE-2020-11008 style) */
	{ "https://good.com@evil.com/", "https://good.com", REFUSED },
	{ "https://good.com@evil.com/", "https://evil.com", REFUSED },
	{ "https://user:pw@good.com/", "https://good.com", REFUSED },
	{ "https://:@good.com/", "https://good.com", REFUSED },
	{ "https://evil.com#@good.com/", "https://good.com", NOMATCH },
	{ "https://evil.com#@good.com/", "https://evil.com", MATCH },
	{ "https://evil.com?@good.com/", "https://good.com", NOMATCH },
	{ "https://evil.com/@good.com", "https://good.com", NOMATCH },
	/* backslashes (parsers disagree on them) */
	{ "https://evil.com\\@good.com/", "https://good.com", REFUSED },
	{ "https://good.com\\.evil.com/", "https://good.com", REFUSED },
	{ "https:\\\\good.com/", "https://good.com", REFUSED },
	{ "https://good.com/a\\b", "https://good.com", REFUSED },
	/* encoded and raw control bytes (CVE-2020-5260, CVE-2024-52006) */
	{ "https://good.com%0a.evil.com/", "https://good.com", REFUSED },
	{ "https://good.com%0d.evil.com/", "https://good.com", REFUSED },
	{ "https://good.com%00.evil.com/", "https://good.com", REFUSED },
	{ "https://good.com%2eevil.com/", "https://*.evil.com", REFUSED },
	{ "https://%67ood.com/", "https://good.com", REFUSED },
	{ "https://good.com\n.evil.com/", "https://good.com", REFUSED },
	{ "https://good.com\r.evil.com/", "https://good.com", REFUSED },
	{ "https://good.com/\r\nHost: evil.com", "https://good.com", REFUSED },
	{ "https://good.com/a b", "https://good.com", REFUSED },
	{ "https://good.com/\x7f", "https://good.com", REFUSED },
	{ "https://g\xc3\xb6od.com/", "https://good.com", REFUSED },
	/* ports */
	{ "https://good.com:8443/", "https://good.com", NOMATCH },
	{ "https://good.com:8443/", "https://good.com:8443", MATCH },
	{ "https://good.com/", "https://good.com:8443", NOMATCH },
	{ "https://good.com:8443/", "https://*.good.com:*", NOMATCH },
	{ "https://x.good.com:8443/", "https://*.good.com:*", MATCH },
	{ "https://x.good.com/", "https://*.good.com:*", MATCH },
	{ "https://good.com:99999/", "https://good.com:*", REFUSED },
	{ "https://good.com:0/", "https://good.com:*", REFUSED },
	{ "https://good.com:-1/", "https://good.com:*", REFUSED },
	/* schemes */
	{ "http://good.com/", "https://good.com", REFUSED },
	{ "ftp://good.com/", "https://good.com", REFUSED },
	{ "file:///etc/passwd", "https://good.com", REFUSED },
	{ "good.com/x", "https://good.com", REFUSED },
	{ "//good.com/x", "https://good.com", REFUSED },
	{ "https:///good.com/", "https://good.com", REFUSED },
	{ "https://good.com/", "http://good.com", NOMATCH },
	/* loopback may use http */
	{ "http://127.0.0.1/", "http://127.0.0.1", MATCH },
	{ "http://127.0.0.1:8080/", "http://127.0.0.1", NOMATCH },
	{ "http://127.0.0.1:8080/", "http://127.0.0.1:*", MATCH },
	{ "http://127.0.0.1:8080/", "https://127.0.0.1:*", NOMATCH },
	{ "http://localhost:8080/", "http://localhost:8080", MATCH },
	{ "http://LOCALHOST./", "http://localhost", REFUSED },	/* DNS, not loopback */
	{ "http://127.1/", "http://127.0.0.1", REFUSED },
	{ "http://0x7f.0.0.1/", "http://127.0.0.1", REFUSED },
	{ "http://2130706433/", "http://127.0.0.1", REFUSED },
	{ "http://127.0.0.2/", "http://127.0.0.1:*", REFUSED },
	/* IPv6 literals */
	{ "http://[::1]:8080/", "http://[::1]:8080", MATCH },
	{ "http://[0:0:0:0:0:0:0:1]:8080/", "http://[::1]:*", MATCH },
	{ "https://[2001:db8::1]/", "https://[2001:db8::1]", MATCH },
	{ "https://[2001:DB8:0::1]/", "https://[2001:db8::1]", MATCH },
	{ "https://[2001:db8::2]/", "https://[2001:db8::1]", NOMATCH },
	{ "https://[fe80::1%25eth0]/", "https://[fe80::1]", REFUSED },
	{ "https://[::1/", "https://[::1]", REFUSED },
	{ "http://[::2]/", "http://[::1]", REFUSED },
	/* IPv4 never matches a wildcard; numeric last labels must be IPs */
	{ "https://203.0.0.1/", "https://*.0.0.1", NOMATCH },
	{ "https://1.2.3.4/", "https://1.2.3.4", MATCH },
	{ "https://evil.1/", "https://*.1", REFUSED },
	{ "https://good.com.1.2.3.4/", "https://*.1.2.3.4", REFUSED },
	/* '_' is a host name character in URLs and patterns alike; a label
	 * never starts or ends with '-' in either */
	{ "https://build_01.corp.example/", "https://build_01.corp.example", MATCH },
	{ "https://_a.good.com/", "https://*.good.com", MATCH },
	{ "https://-a.good.com/", "https://*.good.com", REFUSED },
	{ "https://a-.good.com/", "https://*.good.com", REFUSED },
};

static void test_corpus(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(corpus) / sizeof(*corpus); i++) {
		const struct urlcase *c = &corpus[i];
		struct kai_origin o;
		enum ka_status st;
		enum expect got;
		ka_error err;

		ka_error_clear(&err);
		st = kai_origin_parse(c->url, &o, NULL, &err);
		if (st != KA_OK) {
			got = REFUSED;
			assert_true(err.code == KA_ERR_DENIED ||
				    err.code == KA_ERR_INVALID);
			assert_true(err.text[0] != '\0');
		} else {
			got = kai_origin_match(&o, c->pattern) ? MATCH : NOMATCH;
		}
		if (got != c->expect)
			fail_msg("case %zu: url %s pattern %s: expected %d, got "
				 "%d (%s)", i, c->url, c->pattern, c->expect,
				 got, err.text);
	}
}

static void test_normalised(void **state)
{
	struct kai_origin o;
	char buf[300], *canon = NULL;
	ka_error err;

	(void)state;
	ka_error_clear(&err);
	assert_int_equal(kai_origin_parse("HTTPS://API.Good.COM.:8443/x?y",
					  &o, &canon, &err), KA_OK);
	assert_string_equal(o.scheme, "https");
	assert_string_equal(o.host, "api.good.com");
	assert_int_equal(o.port, 8443);
	assert_false(o.loopback);
	assert_false(o.ip);
	kai_origin_format(&o, buf, sizeof(buf));
	assert_string_equal(buf, "https://api.good.com:8443");
	assert_non_null(canon);
	assert_true(tu_contains(canon, "/x?y"));
	free(canon);

	assert_int_equal(kai_origin_parse("http://[0::1]/", &o, NULL, &err),
			 KA_OK);
	assert_string_equal(o.host, "[::1]");
	assert_int_equal(o.port, 80);
	assert_true(o.loopback);
	assert_true(o.ip);
	kai_origin_format(&o, buf, sizeof(buf));
	assert_string_equal(buf, "http://[::1]");
}

/* Refusals name the reason and never echo more than the origin. */
static void test_messages(void **state)
{
	struct kai_origin o;
	ka_error err;

	(void)state;
	ka_error_clear(&err);
	assert_int_equal(kai_origin_parse("https://u:secretpw@good.com/", &o,
					  NULL, &err), KA_ERR_DENIED);
	assert_true(tu_contains(err.text, "user name or password"));
	assert_false(tu_contains(err.text, "secretpw"));

	ka_error_clear(&err);
	assert_int_equal(kai_origin_parse("http://example.com/p?secret=1",
					  &o, NULL, &err), KA_ERR_DENIED);
	assert_string_equal(err.text, "refusing http://example.com: plain "
			    "http is allowed only for loopback hosts "
			    "(127.0.0.1, [::1], localhost); use https");

	ka_error_clear(&err);
	assert_int_equal(kai_origin_parse("https://good.com%0a.evil/", &o,
					  NULL, &err), KA_ERR_DENIED);
	assert_false(tu_contains(err.text, "\n"));

	ka_error_clear(&err);
	assert_int_equal(kai_origin_parse(NULL, &o, NULL, &err),
			 KA_ERR_INVALID);
}

/* Bad patterns never match. */
static void test_bad_patterns(void **state)
{
	struct kai_origin o;
	ka_error err;

	(void)state;
	ka_error_clear(&err);
	assert_int_equal(kai_origin_parse("https://api.good.com/", &o, NULL,
					  &err), KA_OK);
	assert_false(kai_origin_match(&o, NULL));
	assert_false(kai_origin_match(&o, ""));
	assert_false(kai_origin_match(&o, "api.good.com"));
	assert_false(kai_origin_match(&o, "https://"));
	assert_false(kai_origin_match(&o, "https://*"));
	assert_false(kai_origin_match(&o, "https://*."));
	assert_false(kai_origin_match(&o, "https://api.good.com/path"));
	assert_false(kai_origin_match(&o, "https://api.good.com:"));
	assert_false(kai_origin_match(&o, "https://api.good.com:44x"));
	assert_true(kai_origin_match(&o, "HTTPS://API.GOOD.COM"));
	assert_true(kai_origin_match(&o, "https://api.good.com:443"));
	/* A pattern the configuration refuses never matches either. */
	assert_false(kai_origin_match(&o, "https://*.com"));
	assert_false(kai_origin_match(&o, "https://api.good.com."));
	assert_false(kai_origin_match(&o, "http://api.good.com"));
	assert_true(kai_origin_match(&o, "https://*.good.com"));
}

/* The URL check and the pattern parser accept the same host names: they
 * share one rule (kai_host_name_ok). */
static void test_host_names_agree(void **state)
{
	static const char *const names[] = {
		"a.example", "build_01.corp.example", "_srv.example",
		"x-y.example", "a1.b2", "1.2.3.4", "localhost",
		"-a.example", "a-.example", "a..example", "a!b.example",
		"a.example.1", "1.2.3", "0x7f.0.0.1", "a.0x1",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		struct kai_hostpat p;
		struct kai_origin o;
		char pat[64], url[64];
		const char *why;
		ka_error err;
		int in_url, in_pat;

		snprintf(pat, sizeof(pat), "https://%s", names[i]);
		snprintf(url, sizeof(url), "https://%s/x", names[i]);
		ka_error_clear(&err);
		in_url = kai_origin_parse(url, &o, NULL, &err) == KA_OK;
		in_pat = kai_hostpat_parse(pat, &p, &why) == KA_OK;
		if (in_url != in_pat)
			fail_msg("%s: URL %d, pattern %d", names[i], in_url,
				 in_pat);
		if (in_url)
			assert_true(kai_origin_match(&o, pat));
		kai_hostpat_clear(&p);
	}
}

/* The word-at-a-time scan agrees with kai_has_ctl and strlen at every
 * offset and alignment. */
static void test_ctl_scan(void **state)
{
	static const unsigned char bad[] = { 0x01, 0x0a, 0x0d, 0x1f, 0x7f };
	char buf[64];
	size_t len;

	(void)state;
	for (size_t start = 0; start < 8; start++) {
		for (size_t n = 0; n < 40; n++) {
			char *s = buf + start;

			memset(s, 'a', n);
			s[n] = '\0';
			assert_int_equal(kai_ctl_scan(s, &len), 0);
			assert_int_equal(len, n);
			for (size_t at = 0; at < n; at++) {
				for (size_t b = 0; b < sizeof(bad); b++) {
					s[at] = (char)bad[b];
					assert_int_equal(kai_ctl_scan(s, &len), 1);
					assert_int_equal(len, n);
					assert_true(kai_has_ctl(s));
				}
				s[at] = (char)0x80;	/* high bytes are fine */
				assert_int_equal(kai_ctl_scan(s, NULL), 0);
				s[at] = ' ';
				assert_int_equal(kai_ctl_scan(s, NULL), 0);
				s[at] = 'a';
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_normalised),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_bad_patterns),
		cmocka_unit_test(test_host_names_agree),
		cmocka_unit_test(test_ctl_scan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
