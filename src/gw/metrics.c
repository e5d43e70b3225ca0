/* /metrics: Prometheus text exposition of the data plane's counters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "gw/cache.h"
#include "gw/emitmetric.h"
#include "gw/fleet.h"
#include "gw/limits.h"
#include "gw/worker.h"
#include "tls/crl.h"
#include "tls/srv.h"
#include "tls/tls.h"
#include "tls/vcc.h"

void cg_stats_cert_seen(struct cg_worker *w, struct cg_tls_srv *tsess)
{
	struct cg_stats *st = w->stats;
	char tp[41];
	if (!st || !cg_tls_srv_peer_thumbprint(tsess, tp))
		return;
	/* Open addressing on the thumbprint's first hex digits. */
	unsigned h = 0;
	for (int i = 0; i < 8; i++)
		h = h * 16 + (unsigned)(tp[i] <= '9' ? tp[i] - '0' : tp[i] - 'A' + 10);
	uint64_t now = uv_now(&w->loop);
	pthread_mutex_lock(&st->certs_lock);
	struct cg_cert_seen *slot = NULL, *oldest = NULL;
	for (unsigned k = 0; k < 16; k++) {
		struct cg_cert_seen *e = &st->certs[(h + k) % CG_STATS_CERTS_SEEN];
		if (strcmp(e->thumbprint, tp) == 0) {
			e->last_seen_ms = now;
			pthread_mutex_unlock(&st->certs_lock);
			return;
		}
		if (!e->thumbprint[0] && !slot)
			slot = e;
		if (!oldest || e->last_seen_ms < oldest->last_seen_ms)
			oldest = e;
	}
	/* A full neighbourhood forgets the certificate seen longest ago. */
	struct cg_cert_seen *e = slot ? slot : oldest;
	struct cg_str der = cg_tls_srv_peer_der(tsess);
	free(e->der);
	memset(e, 0, sizeof(*e));
	memcpy(e->thumbprint, tp, sizeof(tp));
	e->der = der.len ? malloc(der.len) : NULL;
	if (e->der) {
		memcpy(e->der, der.ptr, der.len);
		e->der_len = der.len;
	}
	e->last_seen_ms = now;
	pthread_mutex_unlock(&st->certs_lock);
}

/* Subject and expiry of an entry, decoded once (certs_lock held). */
static void cert_seen_decode(struct cg_cert_seen *e)
{
	if (!e->der)
		return;
	const unsigned char *p = e->der;
	X509 *x = d2i_X509(NULL, &p, (long)e->der_len);
	free(e->der);
	e->der = NULL;
	e->der_len = 0;
	if (!x) {
		ERR_clear_error();
		return;
	}
	BIO *b = BIO_new(BIO_s_mem());
	if (b) {
		X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
		int n = BIO_read(b, e->subject, (int)sizeof(e->subject) - 1);
		e->subject[n > 0 ? n : 0] = '\0';
		BIO_free(b);
	}
	const ASN1_TIME *na = X509_get0_notAfter(x);
	struct tm tm;
	e->not_after = na && ASN1_TIME_to_tm(na, &tm) ? (int64_t)timegm(&tm) : 0;
	X509_free(x);
}

void cg_stats_free(struct cg_stats *st)
{
	if (!st)
		return;
	for (size_t k = 0; k < CG_STATS_CERTS_SEEN; k++)
		free(st->certs[k].der);
	pthread_mutex_destroy(&st->certs_lock);
	free(st);
}

static uint64_t sum(const struct cg_gateway *gw, size_t off)
{
	uint64_t t = 0;
	for (int i = 0; i < gw->nworkers; i++) {
		const char *base = (const char *)gw->workers[i].stats;
		if (base)
			t += atomic_load_explicit((const atomic_uint_fast64_t *)(base + off),
						  memory_order_relaxed);
	}
	return t;
}

#define SUM(field) sum(gw, offsetof(struct cg_stats, field))

/* Throttling: refusals by policy kind, and the process-wide counter table
 * (gw/limits.c) the policies share. */
static int render_throttle(const struct cg_gateway *gw, struct cg_buf *out)
{
	static const char *const kinds[CG_STATS_THROTTLE_KINDS] = { "rate-limit", "quota", "concurrency" };
	int rc = cg_buf_printf(out, "# HELP certgate_throttle_refusals_total Requests refused by rate-limit(-by-key) "
				    "(429), quota(-by-key) (403) and limit-concurrency (429).\n"
				    "# TYPE certgate_throttle_refusals_total counter\n");
	for (int k = 0; k < CG_STATS_THROTTLE_KINDS; k++)
		rc |= cg_buf_printf(out, "certgate_throttle_refusals_total{policy=\"%s\"} %llu\n", kinds[k],
				    (unsigned long long)SUM(throttled[k]));
	struct cg_limits_stats ls;
	cg_limits_stats(&ls);
	rc |= cg_buf_printf(out,
			    "# HELP certgate_throttle_keys Live counters of the throttling policies (cap 65536).\n"
			    "# TYPE certgate_throttle_keys gauge\ncertgate_throttle_keys %llu\n"
			    "# HELP certgate_throttle_overflows_total Counted calls whose key found its shard full "
			    "and shared the shard's overflow counter (limited more strictly).\n"
			    "# TYPE certgate_throttle_overflows_total counter\ncertgate_throttle_overflows_total %llu\n"
			    "# HELP certgate_throttle_reclaimed_total Counters reclaimed after their window ended.\n"
			    "# TYPE certgate_throttle_reclaimed_total counter\ncertgate_throttle_reclaimed_total %llu\n",
			    (unsigned long long)ls.keys, (unsigned long long)ls.overflows,
			    (unsigned long long)ls.reclaimed);
	return rc;
}

/* The built-in value cache (gw/cache.c) of cache-store-value. */
static int render_cache(struct cg_buf *out)
{
	struct cg_cache_stats cs;
	cg_cache_stats(&cs);
	return cg_buf_printf(
		out,
		"# HELP certgate_cache_entries Entries in the built-in value cache (cap %llu).\n"
		"# TYPE certgate_cache_entries gauge\ncertgate_cache_entries %llu\n"
		"# HELP certgate_cache_bytes Bytes held by the built-in value cache (cap %llu).\n"
		"# TYPE certgate_cache_bytes gauge\ncertgate_cache_bytes %llu\n"
		"# HELP certgate_cache_lookups_total cache-lookup-value calls, by result.\n"
		"# TYPE certgate_cache_lookups_total counter\n"
		"certgate_cache_lookups_total{result=\"hit\"} %llu\ncertgate_cache_lookups_total{result=\"miss\"} %llu\n"
		"# HELP certgate_cache_stores_total Values stored by cache-store-value.\n"
		"# TYPE certgate_cache_stores_total counter\ncertgate_cache_stores_total %llu\n"
		"# HELP certgate_cache_evictions_total Live entries dropped to make room (least recently used).\n"
		"# TYPE certgate_cache_evictions_total counter\ncertgate_cache_evictions_total %llu\n"
		"# HELP certgate_cache_expired_total Entries freed after their duration.\n"
		"# TYPE certgate_cache_expired_total counter\ncertgate_cache_expired_total %llu\n"
		"# HELP certgate_cache_refused_total Values not stored: too large, or of a type the cache does not hold.\n"
		"# TYPE certgate_cache_refused_total counter\ncertgate_cache_refused_total %llu\n",
		(unsigned long long)cs.max_entries, (unsigned long long)cs.entries, (unsigned long long)cs.max_bytes,
		(unsigned long long)cs.bytes, (unsigned long long)cs.hits, (unsigned long long)cs.misses,
		(unsigned long long)cs.stores, (unsigned long long)cs.evictions, (unsigned long long)cs.expired,
		(unsigned long long)cs.refused);
}

/* Fleet-wide throttling (gw/fleet.c): only when the fleet is on. */
static int render_fleet(const struct cg_gateway *gw, struct cg_buf *out)
{
	if (!gw->fleet)
		return 0;
	struct cg_fleet_stats fs;
	cg_fleet_stats(gw->fleet, &fs);
	int rc = cg_buf_printf(out,
			       "# HELP certgate_fleet_datagrams_sent_total Datagrams of counts sent to peers "
			       "(one per peer).\n# TYPE certgate_fleet_datagrams_sent_total counter\n"
			       "certgate_fleet_datagrams_sent_total %llu\n"
			       "# HELP certgate_fleet_datagrams_received_total Datagrams from peers accepted.\n"
			       "# TYPE certgate_fleet_datagrams_received_total counter\n"
			       "certgate_fleet_datagrams_received_total %llu\n"
			       "# HELP certgate_fleet_datagrams_rejected_total Datagrams refused, by reason (mac: "
			       "not signed with the fleet key).\n"
			       "# TYPE certgate_fleet_datagrams_rejected_total counter\n",
			       (unsigned long long)fs.sent, (unsigned long long)fs.received);
	for (int v = CG_FLEET_OK + 1; v < CG_FLEET_VERDICTS; v++)
		rc |= cg_buf_printf(out, "certgate_fleet_datagrams_rejected_total{reason=\"%s\"} %llu\n",
				    cg_fleet_verdict_name((enum cg_fleet_verdict)v), (unsigned long long)fs.rejected[v]);
	rc |= cg_buf_printf(out,
			    "# HELP certgate_fleet_counts_total Counter updates received from peers: applied, "
			    "or ignored (a window that is not current here).\n"
			    "# TYPE certgate_fleet_counts_total counter\n"
			    "certgate_fleet_counts_total{result=\"applied\"} %llu\n"
			    "certgate_fleet_counts_total{result=\"ignored\"} %llu\n"
			    "# HELP certgate_fleet_peers_up Peers heard from in the last 3 s.\n"
			    "# TYPE certgate_fleet_peers_up gauge\ncertgate_fleet_peers_up %llu\n"
			    "# HELP certgate_fleet_peers Peers configured (--fleet-peer).\n"
			    "# TYPE certgate_fleet_peers gauge\ncertgate_fleet_peers %d\n",
			    (unsigned long long)fs.applied, (unsigned long long)fs.ignored,
			    (unsigned long long)fs.peers_up, fs.num_peers);
	return rc;
}

int cg_gw_metrics_render(void *user, struct cg_buf *out)
{
	const struct cg_gateway *gw = user;
	int rc = 0;
	rc |= cg_buf_printf(out, "# HELP certgate_requests_total Requests answered, by status class.\n"
				 "# TYPE certgate_requests_total counter\n");
	static const char *const cls[] = { "other", "1xx", "2xx", "3xx", "4xx", "5xx" };
	for (int k = 0; k < 6; k++)
		rc |= cg_buf_printf(out, "certgate_requests_total{code=\"%s\"} %llu\n", cls[k],
				    (unsigned long long)SUM(requests[k]));
	rc |= cg_buf_printf(out,
			    "# HELP certgate_tls_handshakes_total Completed TLS handshakes, by whether the "
			    "client sent a certificate.\n# TYPE certgate_tls_handshakes_total counter\n"
			    "certgate_tls_handshakes_total{client_certificate=\"yes\"} %llu\n"
			    "certgate_tls_handshakes_total{client_certificate=\"no\"} %llu\n"
			    "# HELP certgate_tls_handshake_failures_total TLS handshakes that failed.\n"
			    "# TYPE certgate_tls_handshake_failures_total counter\n"
			    "certgate_tls_handshake_failures_total %llu\n",
			    (unsigned long long)SUM(handshakes_cert), (unsigned long long)SUM(handshakes_nocert),
			    (unsigned long long)SUM(handshake_failures));
	rc |= cg_buf_printf(out, "# HELP certgate_client_certificate_validation_failures_total "
				 "validate-client-certificate failures, by reason.\n"
				 "# TYPE certgate_client_certificate_validation_failures_total counter\n");
	for (int k = 1; k < CG_VCC_REASONS && k < CG_STATS_VCC_REASONS; k++)
		rc |= cg_buf_printf(out, "certgate_client_certificate_validation_failures_total{reason=\"%s\"} %llu\n",
				    cg_vcc_reason_name((enum cg_vcc_reason)k),
				    (unsigned long long)SUM(vcc_failures[k]));
	rc |= cg_buf_printf(out,
			    "# HELP certgate_backend_failures_total Requests answered 502 or 504 because of "
			    "the backend.\n# TYPE certgate_backend_failures_total counter\n"
			    "certgate_backend_failures_total{kind=\"connection\"} %llu\n"
			    "certgate_backend_failures_total{kind=\"timeout\"} %llu\n",
			    (unsigned long long)SUM(backend_failures), (unsigned long long)SUM(backend_timeouts));
	rc |= cg_buf_printf(out,
			    "# HELP certgate_subscription_refusals_total Requests answered 401 for their "
			    "subscription key.\n# TYPE certgate_subscription_refusals_total counter\n"
			    "certgate_subscription_refusals_total{reason=\"missing\"} %llu\n"
			    "certgate_subscription_refusals_total{reason=\"invalid\"} %llu\n",
			    (unsigned long long)SUM(sub_refused[0]), (unsigned long long)SUM(sub_refused[1]));
	rc |= render_throttle(gw, out);
	rc |= render_cache(out);
	rc |= render_fleet(gw, out);
	rc |= cg_emetric_render(out);
	uint64_t conns = 0;
	for (int i = 0; i < gw->nworkers; i++)
		conns += gw->workers[i].num_conns; /* a gauge: a racy read is fine */
	rc |= cg_buf_printf(out, "# HELP certgate_connections Open client connections.\n"
				 "# TYPE certgate_connections gauge\ncertgate_connections %llu\n",
			    (unsigned long long)conns);
	pthread_mutex_lock((pthread_mutex_t *)&gw->snap_lock);
	uint64_t gen = gw->snap ? gw->snap->generation : 0;
	pthread_mutex_unlock((pthread_mutex_t *)&gw->snap_lock);
	rc |= cg_buf_printf(out, "# HELP certgate_config_generation Configuration generation in use.\n"
				 "# TYPE certgate_config_generation gauge\ncertgate_config_generation %llu\n",
			    (unsigned long long)gen);
	rc |= cg_buf_printf(out, "# HELP certgate_client_certificate_expiry_days Days until a client "
				 "certificate seen in traffic expires (negative: expired).\n"
				 "# TYPE certgate_client_certificate_expiry_days gauge\n");
	time_t now = time(NULL);
	for (int i = 0; i < gw->nworkers && !rc; i++) {
		struct cg_stats *st = gw->workers[i].stats;
		if (!st)
			continue;
		pthread_mutex_lock(&st->certs_lock);
		for (size_t k = 0; k < CG_STATS_CERTS_SEEN && !rc; k++) {
			struct cg_cert_seen *e = &st->certs[k];
			if (!e->thumbprint[0])
				continue;
			/* Workers remember certificates independently: report each
			 * thumbprint once (the first worker that has it). */
			bool dup = false;
			for (int j = 0; j < i && !dup; j++) {
				struct cg_stats *o = gw->workers[j].stats;
				if (!o)
					continue;
				pthread_mutex_lock(&o->certs_lock);
				for (size_t q = 0; q < CG_STATS_CERTS_SEEN && !dup; q++)
					dup = strcmp(o->certs[q].thumbprint, e->thumbprint) == 0;
				pthread_mutex_unlock(&o->certs_lock);
			}
			if (dup)
				continue;
			cert_seen_decode(e);
			rc |= cg_buf_printf(out, "certgate_client_certificate_expiry_days{thumbprint=\"%s\",subject=\"",
					    e->thumbprint);
			rc |= cg_emetric_label_escape(out, cg_str_from_c(e->subject));
			rc |= cg_buf_printf(out, "\"} %.2f\n", (double)(e->not_after - (int64_t)now) / 86400.0);
		}
		pthread_mutex_unlock(&st->certs_lock);
	}
	if (!rc && gw->crl) {
		char *tmp = malloc(64 * 1024);
		if (tmp) {
			size_t n = cg_crl_fetcher_metrics(gw->crl, (int64_t)time(NULL), tmp, 64 * 1024);
			rc |= cg_buf_append(out, tmp, n);
			free(tmp);
		}
	}
	return rc ? -1 : 0;
}
