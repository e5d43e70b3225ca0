/* Fleet-wide throttling (src/gw/fleet.c, the fleet hooks of limits.c):
 * the datagram's encoding and HMAC check (truncated, altered, wrong-key,
 * malformed and replayed datagrams refused), the key file's refusals, and
 * how the counter table drains local calls and merges a peer's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "gw/fleet.h"
#include "gw/limits.h"

static const unsigned char KEY[] = "0123456789abcdef0123456789abcdef";
#define KEYLEN 32

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sample(struct cg_fleet_msg *m, unsigned count)
{
	memset(m, 0, sizeof(*m));
	m->sender = 0x0102030405060708ull;
	m->seq = 7;
	m->time_ms = wall_ms();
	m->count = count;
	for (unsigned i = 0; i < count; i++) {
		memset(m->rec[i].key.h, (int)(i + 1), 32);
		m->rec[i].period_ms = 60000;
		m->rec[i].end_ms = 1700000040000 + i;
		m->rec[i].delta = 3 + i;
	}
}

static void t_roundtrip(void **state)
{
	(void)state;
	unsigned char buf[CG_FLEET_MAX_DGRAM];
	for (unsigned count = 0; count <= CG_FLEET_MAX_RECORDS; count += 4) {
		struct cg_fleet_msg m, got;
		sample(&m, count);
		size_t len = cg_fleet_encode(&m, KEY, KEYLEN, buf, sizeof(buf));
		assert_int_equal(len, CG_FLEET_HEAD_LEN + count * CG_FLEET_REC_LEN + CG_FLEET_MAC_LEN);
		assert_int_equal(cg_fleet_decode(buf, len, KEY, KEYLEN, &got), CG_FLEET_OK);
		assert_int_equal(got.sender, m.sender);
		assert_int_equal(got.seq, m.seq);
		assert_int_equal(got.time_ms, m.time_ms);
		assert_int_equal(got.count, count);
		for (unsigned i = 0; i < count; i++) {
			assert_memory_equal(got.rec[i].key.h, m.rec[i].key.h, 32);
			assert_int_equal(got.rec[i].period_ms, 60000);
			assert_int_equal(got.rec[i].end_ms, m.rec[i].end_ms);
			assert_int_equal(got.rec[i].delta, m.rec[i].delta);
		}
	}
	/* a negative window end and "never" survive the unsigned wire */
	struct cg_fleet_msg m, got;
	sample(&m, 2);
	m.rec[0].end_ms = -5;
	m.rec[1].end_ms = INT64_MAX;
	size_t len = cg_fleet_encode(&m, KEY, KEYLEN, buf, sizeof(buf));
	assert_int_equal(cg_fleet_decode(buf, len, KEY, KEYLEN, &got), CG_FLEET_OK);
	assert_int_equal(got.rec[0].end_ms, -5);
	assert_int_equal(got.rec[1].end_ms, INT64_MAX);
	/* too many records: nothing encoded */
	m.count = CG_FLEET_MAX_RECORDS + 1;
	assert_int_equal(cg_fleet_encode(&m, KEY, KEYLEN, buf, sizeof(buf)), 0);
}

static void t_truncated_and_altered(void **state)
{
	(void)state;
	unsigned char buf[CG_FLEET_MAX_DGRAM + 8];
	struct cg_fleet_msg m, got;
	sample(&m, 3);
	size_t len = cg_fleet_encode(&m, KEY, KEYLEN, buf, sizeof(buf));
	for (size_t cut = 0; cut < len; cut++) {
		enum cg_fleet_verdict v = cg_fleet_decode(buf, cut, KEY, KEYLEN, &got);
		assert_true(v == CG_FLEET_MALFORMED || v == CG_FLEET_BAD_MAC);
	}
	for (size_t at = 0; at < len; at++) {
		buf[at] ^= 0x01;
		assert_int_equal(cg_fleet_decode(buf, len, KEY, KEYLEN, &got), CG_FLEET_BAD_MAC);
		buf[at] ^= 0x01;
	}
	/* a byte appended: the MAC no longer sits at the end */
	buf[len] = 0;
	assert_int_not_equal(cg_fleet_decode(buf, len + 1, KEY, KEYLEN, &got), CG_FLEET_OK);
	/* another key */
	static const unsigned char OTHER[] = "fedcba9876543210fedcba9876543210";
	assert_int_equal(cg_fleet_decode(buf, len, OTHER, KEYLEN, &got), CG_FLEET_BAD_MAC);
	/* oversized */
	unsigned char big[CG_FLEET_MAX_DGRAM + 1];
	memset(big, 0, sizeof(big));
	assert_int_equal(cg_fleet_decode(big, sizeof(big), KEY, KEYLEN, &got), CG_FLEET_MALFORMED);
	assert_int_equal(cg_fleet_decode(buf, len, KEY, KEYLEN, &got), CG_FLEET_OK);
}

/* Signed by the key holder, yet not our format: refused after the MAC. */
static void t_malformed_but_signed(void **state)
{
	(void)state;
	unsigned char buf[CG_FLEET_MAX_DGRAM];
	struct cg_fleet_msg m, got;
	sample(&m, 2);
	size_t len = cg_fleet_encode(&m, KEY, KEYLEN, buf, sizeof(buf));
	size_t body = len - CG_FLEET_MAC_LEN;
	unsigned int n;
	buf[0] = 'X'; /* magic */
	HMAC(EVP_sha256(), KEY, KEYLEN, buf, body, buf + body, &n);
	assert_int_equal(cg_fleet_decode(buf, len, KEY, KEYLEN, &got), CG_FLEET_MALFORMED);
	buf[0] = 'C';
	buf[29] = 3; /* says 3 records, holds 2 */
	HMAC(EVP_sha256(), KEY, KEYLEN, buf, body, buf + body, &n);
	assert_int_equal(cg_fleet_decode(buf, len, KEY, KEYLEN, &got), CG_FLEET_MALFORMED);
	buf[28] = 0xff; /* 65,283 records */
	HMAC(EVP_sha256(), KEY, KEYLEN, buf, body, buf + body, &n);
	assert_int_equal(cg_fleet_decode(buf, len, KEY, KEYLEN, &got), CG_FLEET_MALFORMED);
}

static void t_replay(void **state)
{
	(void)state;
	struct cg_fleet_replay *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	struct cg_fleet_msg m;
	sample(&m, 0);
	int64_t now = m.time_ms;
	m.seq = 10;
	assert_int_equal(cg_fleet_replay_check(r, &m, now), CG_FLEET_OK);
	assert_int_equal(cg_fleet_replay_check(r, &m, now), CG_FLEET_REPLAY);
	m.seq = 8; /* late, not seen: accepted once */
	assert_int_equal(cg_fleet_replay_check(r, &m, now), CG_FLEET_OK);
	assert_int_equal(cg_fleet_replay_check(r, &m, now), CG_FLEET_REPLAY);
	m.seq = 200;
	assert_int_equal(cg_fleet_replay_check(r, &m, now), CG_FLEET_OK);
	m.seq = 9; /* below the window: cannot tell, refused */
	assert_int_equal(cg_fleet_replay_check(r, &m, now), CG_FLEET_REPLAY);
	m.seq = 200 - CG_FLEET_REPLAY_WINDOW + 1;
	assert_int_equal(cg_fleet_replay_check(r, &m, now), CG_FLEET_OK);
	m.seq = 0;
	assert_int_equal(cg_fleet_replay_check(r, &m, now), CG_FLEET_REPLAY);
	/* another sender has its own sequence */
	m.sender++;
	m.seq = 10;
	assert_int_equal(cg_fleet_replay_check(r, &m, now), CG_FLEET_OK);
	/* time outside the skew either way */
	m.seq = 11;
	m.time_ms = now - CG_FLEET_MAX_SKEW_MS - 1;
	assert_int_equal(cg_fleet_replay_check(r, &m, now), CG_FLEET_STALE);
	m.time_ms = now + CG_FLEET_MAX_SKEW_MS + 1;
	assert_int_equal(cg_fleet_replay_check(r, &m, now), CG_FLEET_STALE);
	m.time_ms = now;
	assert_int_equal(cg_fleet_replay_check(r, &m, now), CG_FLEET_OK);
	/* more senders than slots: the state stays bounded, new ones accepted */
	for (uint64_t s = 1000; s < 1000 + 3 * CG_FLEET_MAX_SENDERS; s++) {
		m.sender = s;
		m.seq = 1;
		assert_int_equal(cg_fleet_replay_check(r, &m, now + (int64_t)(s - 1000)), CG_FLEET_OK);
	}
	m.sender = 1000 + 3 * CG_FLEET_MAX_SENDERS - 1; /* the latest is still known */
	assert_int_equal(cg_fleet_replay_check(r, &m, now + 500), CG_FLEET_REPLAY);
	free(r);
}

static const char *write_file(const char *name, const char *text)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/cg-fleet-%d-%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		 (int)getpid(), name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void t_key_file(void **state)
{
	(void)state;
	unsigned char key[CG_FLEET_KEY_MAX];
	char err[512];
	const char *p = write_file("ok", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
	assert_int_equal(cg_fleet_key_load(p, key, sizeof(key), err, sizeof(err)), 64);
	assert_memory_equal(key, "0123456789abcdef", 16);
	unlink(p);
	p = write_file("short", "0123456789abcdef0123456789abcde\n"); /* 31 bytes and a newline */
	assert_int_equal(cg_fleet_key_load(p, key, sizeof(key), err, sizeof(err)), 0);
	assert_non_null(strstr(err, "holds 31 bytes; a fleet key needs at least 32"));
	assert_null(strstr(err, "0123456789")); /* the key is never in a message */
	unlink(p);
	assert_int_equal(cg_fleet_key_load("/nonexistent/fleet.key", key, sizeof(key), err, sizeof(err)), 0);
	assert_string_equal(err, "fleet key file '/nonexistent/fleet.key': No such file or directory");
	assert_int_equal(cg_fleet_key_load("/", key, sizeof(key), err, sizeof(err)), 0);
	assert_non_null(strstr(err, "not a regular file"));
	char big[CG_FLEET_KEY_MAX + 2];
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	p = write_file("big", big);
	assert_int_equal(cg_fleet_key_load(p, key, sizeof(key), err, sizeof(err)), 0);
	assert_non_null(strstr(err, "larger than 4096 bytes"));
	unlink(p);
}

/* ---- the counter table with the fleet on ---- */

static struct cg_limit_key key_of(enum cg_limit_kind kind, uint64_t period_ms, const char *text)
{
	struct cg_limit_key k;
	cg_limit_key_make(&k, kind, period_ms, cg_str_from_c(text));
	return k;
}

static int fleet_on(void **state)
{
	(void)state;
	cg_limits_fleet_enable();
	cg_limits_reset();
	return 0;
}

/* Drains every unsent call; returns the record of key k (delta 0: none). */
static struct cg_limit_delta drained(const struct cg_limit_key *k)
{
	struct cg_limit_delta out[CG_FLEET_MAX_RECORDS], found;
	memset(&found, 0, sizeof(found));
	size_t n;
	do {
		n = cg_limits_drain(out, CG_FLEET_MAX_RECORDS);
		for (size_t i = 0; i < n; i++)
			if (memcmp(out[i].key.h, k->h, 32) == 0)
				found = out[i];
	} while (n == CG_FLEET_MAX_RECORDS);
	return found;
}

static void t_drain_local_calls(void **state)
{
	(void)state;
	struct cg_limit_window w = { 60000, false, 0 }; /* rate-limit: aligned when in a fleet */
	struct cg_limit_key k = key_of(CG_LIMIT_RATE_SCOPE, w.period_ms, "api\na");
	struct cg_limit_result r;
	for (int i = 0; i < 3; i++)
		cg_limit_take(&k, &w, 10, 1, &r);
	cg_limit_take(&k, &w, 10, 0, &r); /* a check counts nothing */
	cg_limit_add(&k, &w, 2);
	struct cg_limit_delta d = drained(&k);
	assert_int_equal(d.delta, 5);
	assert_int_equal(d.period_ms, 60000);
	assert_int_equal(d.end_ms % 60000, 0); /* a multiple of the period since the epoch */
	int64_t now = wall_ms();
	assert_true(d.end_ms > now && d.end_ms <= now + 60000);
	assert_int_equal(drained(&k).delta, 0); /* sent once */
	/* refused calls are not sent */
	for (int i = 0; i < 10; i++)
		cg_limit_take(&k, &w, 5, 1, &r);
	assert_int_equal(drained(&k).delta, 0);
	/* a never-ending quota */
	struct cg_limit_window q = { 0, false, 0 };
	struct cg_limit_key kq = key_of(CG_LIMIT_QUOTA, 0, "forever");
	cg_limit_take(&kq, &q, 10, 4, &r);
	d = drained(&kq);
	assert_int_equal(d.delta, 4);
	assert_int_equal(d.period_ms, 0);
	assert_int_equal(d.end_ms, INT64_MAX);
}

static void t_merge_remote_calls(void **state)
{
	(void)state;
	struct cg_limit_window w = { 60000, false, 0 };
	struct cg_limit_key k = key_of(CG_LIMIT_RATE, w.period_ms, "shared");
	struct cg_limit_result r;
	cg_limit_take(&k, &w, 10, 1, &r);
	struct cg_limit_delta d = drained(&k);
	assert_int_equal(d.delta, 1);
	/* a peer counted 8 in the same window: 1 call is left */
	d.delta = 8;
	assert_true(cg_limit_merge(&d));
	cg_limit_take(&k, &w, 10, 1, &r);
	assert_true(r.allowed);
	assert_int_equal(r.count, 10);
	cg_limit_take(&k, &w, 10, 1, &r);
	assert_false(r.allowed);
	/* merged calls are not sent on */
	assert_int_equal(drained(&k).delta, 1);
	/* an older window's delta, an ended one, one far ahead: refused */
	struct cg_limit_delta old = d;
	old.end_ms -= 60000;
	assert_false(cg_limit_merge(&old));
	struct cg_limit_delta ended = d;
	ended.end_ms = wall_ms() - 1;
	assert_false(cg_limit_merge(&ended));
	struct cg_limit_delta ahead = d;
	ahead.end_ms += 2 * 60000;
	assert_false(cg_limit_merge(&ahead));
	struct cg_limit_delta never = d;
	never.end_ms = INT64_MAX;
	assert_false(cg_limit_merge(&never));
	struct cg_limit_delta zero = d;
	zero.delta = 0;
	assert_false(cg_limit_merge(&zero));
	cg_limit_take(&k, &w, 10, 0, &r);
	assert_int_equal(r.count, 10);
	/* a key never seen here starts counting in the peer's window */
	struct cg_limit_key k2 = key_of(CG_LIMIT_RATE, w.period_ms, "remote-only");
	struct cg_limit_delta fresh = d;
	fresh.key = k2;
	fresh.delta = 10;
	assert_true(cg_limit_merge(&fresh));
	cg_limit_take(&k2, &w, 10, 1, &r);
	assert_false(r.allowed);
	assert_true(r.retry_after_ms >= 1 && r.retry_after_ms <= 60000);
	/* a never-ending quota */
	struct cg_limit_window q = { 0, false, 0 };
	struct cg_limit_key kq = key_of(CG_LIMIT_QUOTA, 0, "forever-remote");
	struct cg_limit_delta dq = { kq, 0, INT64_MAX, 3 };
	assert_true(cg_limit_merge(&dq));
	cg_limit_take(&kq, &q, 4, 1, &r);
	assert_true(r.allowed);
	cg_limit_take(&kq, &q, 4, 1, &r);
	assert_false(r.allowed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_roundtrip),
		cmocka_unit_test(t_truncated_and_altered),
		cmocka_unit_test(t_malformed_but_signed),
		cmocka_unit_test(t_replay),
		cmocka_unit_test(t_key_file),
		cmocka_unit_test_setup(t_drain_local_calls, fleet_on),
		cmocka_unit_test_setup(t_merge_remote_calls, fleet_on),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
