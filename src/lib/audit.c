/* SPDX-License-Identifier: MIT */
/* audit.c: the audit trail of authorization decisions, with a keyed, irreversible token fingerprint. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "kai.h"

/*
 * One line per decision, to ctx->audit_file and/or syslog (LOG_AUTHPRIV):
 *
 *   2026-11-05T10:00:00Z kiwi-auth[PID]: outcome=injected service=S
 *     scope=SC account=A origin=https://h method=GET tool=T fp=HEX16
 *
 * fp is HMAC-SHA256(key, token) cut to 16 hex characters: it tells two
 * tokens apart without revealing either, and a dictionary of guessed
 * tokens is useless without the key. The key is 32 random bytes in
 * $XDG_STATE_HOME/kiwi-auth/audit.key (default ~/.local/state/...), made
 * on first use, mode 0600. The file and the key are opened per event: no
 * state to keep in the context, a rotated log is picked up at once, and
 * the cost only arises when auditing is on.
 */

/* ---- SHA-256 (FIPS 180-4) ----------------------------------------------- */

struct sha256 {
	uint32_t h[8];
	uint8_t buf[64];
	size_t n;		/* bytes in buf */
	uint64_t total;		/* bytes hashed */
};

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha256_block(struct sha256 *c, const uint8_t *p)
{
	uint32_t w[64], v[8], t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (; i < 64; i++)
		w[i] = w[i - 16] + w[i - 7] +
		       (ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3)) +
		       (ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10));
	memcpy(v, c->h, sizeof(v));
	for (i = 0; i < 64; i++) {
		t1 = v[7] + (ror(v[4], 6) ^ ror(v[4], 11) ^ ror(v[4], 25)) +
		     ((v[4] & v[5]) ^ (~v[4] & v[6])) + K[i] + w[i];
		t2 = (ror(v[0], 2) ^ ror(v[0], 13) ^ ror(v[0], 22)) +
		     ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
		memmove(v + 1, v, 7 * sizeof(*v));
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (i = 0; i < 8; i++)
		c->h[i] += v[i];
	kai_wipe(w, sizeof(w));
	kai_wipe(v, sizeof(v));
}

static void sha256_init(struct sha256 *c)
{
	static const uint32_t h0[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(c->h, h0, sizeof(h0));
	c->n = 0;
	c->total = 0;
}

static void sha256_update(struct sha256 *c, const void *msg, size_t len)
{
	const uint8_t *p = msg;

	c->total += len;
	while (len > 0) {
		size_t k = 64 - c->n < len ? 64 - c->n : len;

		memcpy(c->buf + c->n, p, k);
		c->n += k;
		p += k;
		len -= k;
		if (c->n == 64) {
			sha256_block(c, c->buf);
			c->n = 0;
		}
	}
}

static void sha256_final(struct sha256 *c, uint8_t out[KAI_SHA256_LEN])
{
	uint64_t bits = c->total * 8;
	uint8_t pad = 0x80, len[8];

	for (int i = 0; i < 8; i++)
		len[i] = (uint8_t)(bits >> (56 - 8 * i));
	sha256_update(c, &pad, 1);
	pad = 0;
	while (c->n != 56)
		sha256_update(c, &pad, 1);
	sha256_update(c, len, 8);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(c->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)c->h[i];
	}
	kai_wipe(c, sizeof(*c));
}

void kai_sha256(const void *msg, size_t len, uint8_t out[KAI_SHA256_LEN])
{
	struct sha256 c;

	sha256_init(&c);
	sha256_update(&c, msg, len);
	sha256_final(&c, out);
}

/* RFC 2104. */
void kai_hmac_sha256(const void *key, size_t klen, const void *msg,
		     size_t len, uint8_t out[KAI_SHA256_LEN])
{
	uint8_t k[64] = { 0 }, pad[64], inner[KAI_SHA256_LEN];
	struct sha256 c;

	if (klen > sizeof(k))
		kai_sha256(key, klen, k);
	else if (klen > 0)
		memcpy(k, key, klen);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	sha256_init(&c);
	sha256_update(&c, pad, sizeof(pad));
	sha256_update(&c, msg, len);
	sha256_final(&c, inner);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	sha256_init(&c);
	sha256_update(&c, pad, sizeof(pad));
	sha256_update(&c, inner, sizeof(inner));
	sha256_final(&c, out);
	kai_wipe(k, sizeof(k));
	kai_wipe(pad, sizeof(pad));
	kai_wipe(inner, sizeof(inner));
}

/* ---- the installation key ----------------------------------------------- */

#define KEY_LEN 32

/* Read a private key file: regular, ours, no group/other bits, KEY_LEN. */
static int key_read(const char *path, uint8_t key[KEY_LEN])
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), ok;

	if (fd < 0)
		return -1;
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	     st.st_uid == geteuid() && (st.st_mode & 077) == 0 &&
	     st.st_size == KEY_LEN && read(fd, key, KEY_LEN) == KEY_LEN;
	close(fd);
	if (!ok) {
		kai_wipe(key, KEY_LEN);
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* Create the key: write a temporary file, then link it into place, so two
 * processes racing agree on one key. */
static int key_create(const char *dir, const char *path)
{
	uint8_t key[KEY_LEN];
	char tmp[PATH_MAX];
	int fd, ok;

	if (snprintf(tmp, sizeof(tmp), "%s/.audit.key.XXXXXX", dir) >=
	    (int)sizeof(tmp) || (fd = mkstemp(tmp)) < 0)
		return -1;
	ok = getrandom(key, sizeof(key), 0) == (ssize_t)sizeof(key) &&
	     fchmod(fd, 0600) == 0 &&
	     write(fd, key, sizeof(key)) == (ssize_t)sizeof(key) &&
	     fsync(fd) == 0;
	kai_wipe(key, sizeof(key));
	if (close(fd) != 0)
		ok = 0;
	if (ok && link(tmp, path) != 0 && errno != EEXIST)
		ok = 0;
	unlink(tmp);
	return ok ? 0 : -1;
}

static int installation_key(uint8_t key[KEY_LEN])
{
	char dir[PATH_MAX], path[PATH_MAX + 16];

	if (kai_state_dir(dir, sizeof(dir)) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/audit.key", dir);
	if (key_read(path, key) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	if (kai_make_dirs(dir) != 0 || key_create(dir, path) != 0)
		return -1;
	return key_read(path, key);
}

enum ka_status kai_audit_fingerprint(const char *token, size_t len,
				     char out[KAI_FINGERPRINT_LEN],
				     ka_error *err)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t key[KEY_LEN], mac[KAI_SHA256_LEN];

	out[0] = '-';
	out[1] = '\0';
	if (installation_key(key) != 0) {
		kai_error_set(err, KA_ERR_IO, "cannot read or create the audit "
			      "key (audit.key in $XDG_STATE_HOME/kiwi-auth): it "
			      "must be a 32-byte file of yours with mode 0600");
		return KA_ERR_IO;
	}
	kai_hmac_sha256(key, sizeof(key), token, len, mac);
	for (int i = 0; i < (KAI_FINGERPRINT_LEN - 1) / 2; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[KAI_FINGERPRINT_LEN - 1] = '\0';
	kai_wipe(key, sizeof(key));
	kai_wipe(mac, sizeof(mac));
	return KA_OK;
}

/* ---- the line ------------------------------------------------------------ */

int kai_audit_enabled(const struct ka_ctx *ctx)
{
	return ctx != NULL && (ctx->audit_syslog ||
			       (ctx->audit_file != NULL && ctx->audit_file[0]));
}

/* Append " key=value" with the value cut to 128 bytes and every byte that
 * is not printable ASCII, a space, '"' or '\' turned into '_'. */
static void field(char *buf, size_t n, size_t *pos, const char *key,
		  const char *v)
{
	size_t i = 0;
	int r;

	if (*pos >= n)
		return;
	r = snprintf(buf + *pos, n - *pos, " %s=", key);
	if (r < 0 || (size_t)r >= n - *pos) {
		*pos = n;
		return;
	}
	*pos += (size_t)r;
	if (v == NULL || *v == '\0')
		v = "-";
	for (; v[i] != '\0' && i < 128 && *pos + 1 < n; i++) {
		unsigned char c = (unsigned char)v[i];

		buf[(*pos)++] = c <= 0x20 || c >= 0x7f || c == '"' ||
				c == '\\' ? '_' : (char)c;
	}
	buf[*pos < n ? *pos : n - 1] = '\0';
}

static void write_file(const struct ka_ctx *ctx, const char *line, size_t len)
{
	struct stat st;
	int fd = open(ctx->audit_file, O_WRONLY | O_APPEND | O_CREAT |
		      O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	int ok;

	if (fd < 0) {
		kai_log(ctx, 4, "audit: cannot open %s: %s", ctx->audit_file,
			strerror(errno));
		return;
	}
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	     (st.st_mode & 022) == 0;
	if (!ok)
		kai_log(ctx, 4, "audit: %s is not a regular file writable only "
			"by its owner; not writing to it", ctx->audit_file);
	else if (write(fd, line, len) != (ssize_t)len)
		kai_log(ctx, 4, "audit: cannot write to %s", ctx->audit_file);
	close(fd);
}

void kai_audit(const struct ka_ctx *ctx, const struct kai_audit_event *ev)
{
	char line[1536], fp[KAI_FINGERPRINT_LEN] = "-";
	struct tm tm;
	time_t now = time(NULL);
	size_t pos, body;
	ka_error err;

	if (!kai_audit_enabled(ctx) || ev == NULL)
		return;
	if (ev->token != NULL) {
		ka_error_clear(&err);
		if (kai_audit_fingerprint(ev->token, ev->token_len, fp, &err) !=
		    KA_OK)
			kai_log(ctx, 4, "audit: %s", err.text);
	}
	gmtime_r(&now, &tm);
	pos = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ", &tm);
	pos += (size_t)snprintf(line + pos, sizeof(line) - pos,
				" kiwi-auth[%ld]:", (long)getpid());
	body = pos + 1;		/* syslog adds its own time and ident */
	field(line, sizeof(line), &pos, "outcome", ev->outcome);
	field(line, sizeof(line), &pos, "service", ev->service);
	field(line, sizeof(line), &pos, "scope", ev->scope);
	field(line, sizeof(line), &pos, "account", ev->account);
	field(line, sizeof(line), &pos, "origin", ev->origin);
	field(line, sizeof(line), &pos, "method", ev->method);
	field(line, sizeof(line), &pos, "tool", ev->tool);
	if (ev->reason != NULL)
		field(line, sizeof(line), &pos, "reason", ev->reason);
	field(line, sizeof(line), &pos, "fp", fp);
	if (pos + 2 > sizeof(line))
		pos = sizeof(line) - 2;
	line[pos++] = '\n';
	line[pos] = '\0';
	if (ctx->audit_file != NULL && ctx->audit_file[0] != '\0')
		write_file(ctx, line, pos);
	if (ctx->audit_syslog)
		syslog(LOG_AUTHPRIV | LOG_INFO, "kiwi-auth audit: %.*s",
		       (int)(pos - body - 1), line + body);
}
