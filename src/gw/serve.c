/* `certgate serve`: options, startup, hot reload, signals, graceful stop. */
#include "gw/serve.h"

#include <limits.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <getopt.h>
#include <openssl/crypto.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/admin.h"
#include "base/log.h"
#include "gw/cache.h"
#include "gw/emitmetric.h"
#include "gw/fleet.h"
#include "gw/oidc.h"
#include "gw/worker.h"
#include "store/store.h"
#include "tls/crl.h"
#include "tls/srv.h"
#include "tls/tls.h"

#define CG_RELOAD_POLL_MS 250 /* how often the store is checked for changes */

void cg_gw_serve_usage(void)
{
	printf("usage: certgate [--store FILE] serve --listen ADDR:PORT [options]\n"
	       "\n"
	       "Runs the gateway: HTTPS on --listen (certificates per hostname by SNI, client\n"
	       "certificates negotiated where the hostname asks for them), optional plain HTTP,\n"
	       "proxying to each API's backend. Configuration changes in the store are applied\n"
	       "while running, within a second, without dropping connections.\n"
	       "\n"
	       "options:\n"
	       "  --listen ADDR:PORT          HTTPS listener (e.g. 0.0.0.0:443, 127.0.0.1:8443, [::1]:8443)\n"
	       "  --http-listen ADDR:PORT     also serve plain HTTP here\n"
	       "  --workers N                 worker threads (default: number of cores)\n"
	       "  --header-timeout SEC        whole request head, and the TLS handshake (default 10)\n"
	       "  --idle-timeout SEC          keep-alive wait between requests (default 60)\n"
	       "  --body-timeout SEC          no progress while a body streams (default 60)\n"
	       "  --backend-connect-timeout SEC  backend connect + TLS handshake, else 502 (default 5)\n"
	       "  --backend-timeout SEC       backend response head, else 504 (default 300, as APIM)\n"
	       "  --grace SEC                 graceful stop bound on SIGTERM/SIGINT (default 30)\n"
	       "  --max-body BYTES            request body limit, else 413 (default 104857600)\n"
	       "  --revocation-fail-open      an unknown revocation status (no CRL or OCSP answer\n"
	       "                              yet) passes instead of failing (default: fails)\n"
	       "  --no-crl-fetch              use uploaded CRLs only; never fetch from the CRL\n"
	       "                              distribution points or OCSP responders\n"
	       "  --openid-refresh SEC        validate-jwt openid-config key sets are fetched again\n"
	       "                              this often (default 3600, as APIM); an unknown kid\n"
	       "                              refetches at most every min(SEC, 300)\n"
	       "  --max-buffered-body BYTES   a body a policy reads is buffered whole: request\n"
	       "                              over it 413, response over it 502 (default 4194304)\n"
	       "  --cache-max-bytes BYTES     built-in cache of cache-store-value: all entries\n"
	       "                              (default 67108864); least recently used go first\n"
	       "  --cache-max-entries N       its entry count limit (default 100000)\n"
	       "  --cache-max-entry-bytes BYTES  one key + value; larger values are not stored\n"
	       "                              (default 1048576)\n"
	       "  --emit-metric-max-series N  label sets of emit-metric metrics, all metrics\n"
	       "                              (default 10000); past it, a metric's new label sets\n"
	       "                              are folded into its {overflow=\"true\"} series\n"
	       "  --emit-metric-max-series-per-metric N  the same per metric (default 1000)\n"
	       "  --max-header-bytes N        request head limit, else 431 (default 32768)\n"
	       "  --max-headers N             header count limit, else 431 (default 100)\n"
	       "  --max-connections N         per worker (default 50000)\n"
	       "  --access-log on|off         one line per request on stderr (default on)\n"
	       "  --tls-engine gnutls|openssl TLS library of the HTTPS listener (default gnutls:\n"
	       "                              cheaper handshakes; backends always use OpenSSL)\n"
	       "  --log-level LEVEL           error, warn, info or debug (default info)\n"
	       "\n"
	       "fleet-wide throttling (docs/fleet.md; all off unless --fleet-listen is given):\n"
	       "  --fleet-listen ADDR:PORT    UDP address the fleet's peers send their counts to\n"
	       "  --fleet-peer ADDR:PORT      a peer's --fleet-listen (repeatable, at most 64)\n"
	       "  --fleet-key-file FILE       shared key signing every datagram (HMAC-SHA256),\n"
	       "                              at least 32 bytes, e.g. openssl rand -hex 32\n"
	       "  --fleet-interval-ms N       counts are sent this often, 10-1000 (default 50)\n"
	       "\n");
	cg_admin_usage();
	printf("\n"
	       "SIGTERM/SIGINT: stop accepting, finish requests in flight (bounded by --grace),\n"
	       "then exit 0.\n");
}

static void settings_default(struct cg_gw_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->header_timeout_ms = 10000;
	s->idle_timeout_ms = 60000;
	s->body_timeout_ms = 60000;
	s->connect_timeout_ms = 5000;
	s->backend_timeout_ms = 300000;
	s->grace_ms = 30000;
	s->max_body_bytes = 100ull * 1024 * 1024;
	s->max_buffered_body = 4ull * 1024 * 1024;
	s->h1.max_head_bytes = CG_H1_DEFAULT_MAX_HEAD_BYTES;
	s->h1.max_line_bytes = CG_H1_DEFAULT_MAX_LINE_BYTES;
	s->h1.max_uri_bytes = CG_H1_DEFAULT_MAX_URI_BYTES;
	s->h1.max_headers = CG_H1_DEFAULT_MAX_HEADERS;
	s->max_conns_per_worker = 50000;
	s->max_idle_upstream = 256;
	s->upstream_idle_ms = 30000;
	s->access_log = true;
}

static int parse_seconds(const char *opt, const char *v, uint64_t *ms)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (errno || end == v || *end || !(d > 0) || d > 86400 * 7) {
		fprintf(stderr, "certgate serve: %s: '%s' is not a number of seconds in (0, 604800]\n",
			opt, v);
		return -1;
	}
	*ms = (uint64_t)ceil(d * 1000);
	return 0;
}

static int parse_count(const char *opt, const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	if (!cg_str_to_u64(cg_str_from_c(v), max, out) || *out < min) {
		fprintf(stderr, "certgate serve: %s: '%s' must be a whole number in [%llu, %llu]\n", opt,
			v, (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	return 0;
}

int cg_gw_parse_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *len, char *err,
			size_t errlen)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	if (!colon || colon[1] == '\0') {
		snprintf(err, errlen, "'%s': expected ADDR:PORT", spec);
		return -1;
	}
	size_t hl = (size_t)(colon - spec);
	if (hl >= sizeof(host)) {
		snprintf(err, errlen, "'%s': address too long", spec);
		return -1;
	}
	memcpy(host, spec, hl);
	host[hl] = '\0';
	char *h = host;
	if (h[0] == '[') {
		size_t n = strlen(h);
		if (n < 2 || h[n - 1] != ']') {
			snprintf(err, errlen, "'%s': unterminated IPv6 address", spec);
			return -1;
		}
		h[n - 1] = '\0';
		h++;
	}
	uint64_t port;
	if (!cg_str_to_u64(cg_str_from_c(colon + 1), 65535, &port) || port == 0) {
		snprintf(err, errlen, "'%s': invalid port", spec);
		return -1;
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV },
			*res = NULL;
	char ps[8];
	snprintf(ps, sizeof(ps), "%u", (unsigned)port);
	int rc = getaddrinfo(*h ? h : NULL, ps, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "'%s': %s (use a numeric address)", spec, gai_strerror(rc));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* A bound, listening, non-blocking socket with SO_REUSEPORT (one per
 * worker: the kernel spreads connections among them). */
static int make_listener(const char *spec, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (cg_gw_parse_addr(spec, &ss, &len, err, errlen) != 0)
		return -1;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "'%s': socket: %s", spec, strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	/* Accepted sockets inherit TCP_NODELAY from the listener (Linux): no
	 * setsockopt per connection. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 4096) != 0) {
		snprintf(err, errlen, "'%s': %s", spec, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- main thread: signals, reload, stop ------------------------------------ */

struct serve_ctx {
	struct cg_gateway gw;
	struct cg_store *store;
	uint64_t token;
	uv_loop_t loop;
	uv_signal_t sigterm, sigint;
	uv_timer_t reload, grace, watch;
	int64_t last_cache_sweep_ms;
	bool stopping;
	struct cg_admin *admin;
	size_t plain_http_apis; /* as last warned (warn_plain_http) */
};

/* With a plain-HTTP listener, an API served over http runs its policies
 * there with no client certificate (context.Request.Certificate == null).
 * A policy may mean that, but on a gateway whose hostnames negotiate client
 * certificates it is usually an oversight (new APIs list both protocols).
 * Said at start and whenever the number of such APIs changes. */
static void warn_plain_http(const struct cg_gateway *gw, const struct cg_snapshot *s, size_t *last)
{
	bool mtls = false;
	for (size_t i = 0; i < s->num_hosts; i++)
		mtls |= s->hosts[i].negotiate;
	size_t n = 0;
	const struct cg_rt_api *first = NULL;
	for (size_t i = 0; gw->http_listen && mtls && i < s->num_apis; i++)
		if (s->apis[i]->protocols & CG_MODEL_PROTO_HTTP) {
			first = first ? first : s->apis[i];
			n++;
		}
	if (n == *last)
		return;
	*last = n;
	if (n == 0)
		return;
	char more[48] = " is";
	if (n > 1)
		snprintf(more, sizeof(more), " and %zu more are", n - 1);
	cg_log_warn("API '%.*s'%s served over plain HTTP too (--http-listen; protocols include http): requests "
		    "there carry no client certificate, though hostnames here negotiate them. "
		    "`certgate api set ID --protocols https` keeps an API off plain HTTP",
		    CG_STR_FMT(first->id), more);
}

static void wake_all(struct cg_gateway *gw)
{
	for (int i = 0; i < gw->nworkers; i++)
		cg_worker_wake(&gw->workers[i]);
}

/* Expired cache entries are freed by the lookups that find them; the
 * others are swept here, off the request path, every CACHE_SWEEP_MS. */
#define CACHE_SWEEP_MS 5000

static void sweep_cache(struct serve_ctx *sc)
{
	int64_t now = cg_cache_now_ms();
	if (now - sc->last_cache_sweep_ms < CACHE_SWEEP_MS)
		return;
	sc->last_cache_sweep_ms = now;
	cg_cache_sweep(now);
}

/* Builds a new snapshot from the store when it changed. An invalid
 * configuration is refused with a log line; the running one stays. */
static void reload_cb(uv_timer_t *t)
{
	struct serve_ctx *sc = t->data;
	char err[CG_STORE_ERR_LEN];
	uint64_t tok;
	if (cg_store_change_token(sc->store, &tok, err, sizeof(err)) != 0) {
		cg_log_warn("store: %s", err);
		return;
	}
	sweep_cache(sc);
	if (tok == sc->token)
		return;
	struct cg_model m;
	if (cg_store_load_model(sc->store, &m, err, sizeof(err)) != 0) {
		cg_log_error("reload: %s (keeping the running configuration)", err);
		return;
	}
	char berr[1024];
	struct cg_snapshot *s =
		cg_snapshot_build_from(&m, sc->gw.snap->generation + 1, sc->gw.snap, berr, sizeof(berr));
	cg_model_free(&m);
	if (!s) {
		cg_log_error("reload: %s (keeping the running configuration)", berr);
		sc->token = tok; /* do not retry the same broken state every tick */
		return;
	}
	sc->token = tok;
	pthread_mutex_lock(&sc->gw.snap_lock);
	struct cg_snapshot *old = sc->gw.snap;
	sc->gw.snap = s;
	pthread_mutex_unlock(&sc->gw.snap_lock);
	cg_snapshot_unref(old);
	wake_all(&sc->gw);
	cg_log_info("configuration generation %llu applied", (unsigned long long)s->generation);
	warn_plain_http(&sc->gw, s, &sc->plain_http_apis);
}

static void grace_cb(uv_timer_t *t)
{
	struct serve_ctx *sc = t->data;
	cg_log_warn("grace period over: closing the remaining connections");
	atomic_store(&sc->gw.drain, 2);
	wake_all(&sc->gw);
}

static void signal_cb(uv_signal_t *s, int signum)
{
	struct serve_ctx *sc = s->data;
	if (sc->stopping) {
		if (signum == SIGINT)
			grace_cb(&sc->grace); /* a second Ctrl-C: stop now */
		return;
	}
	sc->stopping = true;
	cg_log_info("signal %d: stopping (finishing requests in flight, at most %.1f s)", signum,
		    (double)sc->gw.set.grace_ms / 1000);
	atomic_store(&sc->gw.drain, 1);
	wake_all(&sc->gw);
	uv_timer_stop(&sc->reload);
	uv_timer_start(&sc->grace, grace_cb, sc->gw.set.grace_ms, 0);
	/* The main loop only waits for the workers from here on. */
	uv_signal_stop(&sc->sigterm);
	uv_close((uv_handle_t *)&sc->sigterm, NULL);
	uv_signal_stop(&sc->sigint);
	uv_close((uv_handle_t *)&sc->sigint, NULL);
	uv_close((uv_handle_t *)&sc->reload, NULL);
	uv_unref((uv_handle_t *)&sc->grace);
	cg_admin_stop(sc->admin);
	sc->admin = NULL;
}

static void close_handle(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int cg_gw_serve_main(const char *store_path, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "http-listen", required_argument, NULL, 'H' },
		{ "workers", required_argument, NULL, 'w' },
		{ "header-timeout", required_argument, NULL, 1 },
		{ "idle-timeout", required_argument, NULL, 2 },
		{ "body-timeout", required_argument, NULL, 3 },
		{ "backend-connect-timeout", required_argument, NULL, 4 },
		{ "backend-timeout", required_argument, NULL, 5 },
		{ "grace", required_argument, NULL, 6 },
		{ "max-body", required_argument, NULL, 7 },
		{ "max-header-bytes", required_argument, NULL, 8 },
		{ "max-headers", required_argument, NULL, 9 },
		{ "max-connections", required_argument, NULL, 10 },
		{ "access-log", required_argument, NULL, 11 },
		{ "log-level", required_argument, NULL, 12 },
		{ "admin", required_argument, NULL, 13 },
		{ "max-buffered-body", required_argument, NULL, 15 },
		{ "revocation-fail-open", no_argument, NULL, 16 },
		{ "no-crl-fetch", no_argument, NULL, 17 },
		{ "admin-token-file", required_argument, NULL, 14 },
		{ "tls-engine", required_argument, NULL, 18 },
		{ "admin-cert", required_argument, NULL, 19 },
		{ "admin-key", required_argument, NULL, 20 },
		{ "admin-key-password-file", required_argument, NULL, 21 },
		{ "admin-client-ca", required_argument, NULL, 22 },
		{ "admin-client-thumbprint", required_argument, NULL, 23 },
		{ "openid-refresh", required_argument, NULL, 24 },
		{ "cache-max-bytes", required_argument, NULL, 25 },
		{ "cache-max-entries", required_argument, NULL, 26 },
		{ "cache-max-entry-bytes", required_argument, NULL, 27 },
		{ "fleet-listen", required_argument, NULL, 28 },
		{ "fleet-peer", required_argument, NULL, 29 },
		{ "fleet-key-file", required_argument, NULL, 30 },
		{ "fleet-interval-ms", required_argument, NULL, 31 },
		{ "emit-metric-max-series", required_argument, NULL, 32 },
		{ "emit-metric-max-series-per-metric", required_argument, NULL, 33 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct serve_ctx *sc = calloc(1, sizeof(*sc));
	if (!sc)
		return 1;
	struct cg_gateway *gw = &sc->gw;
	settings_default(&gw->set);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t workers = ncpu > 0 ? (uint64_t)ncpu : 1, v;
	int rc = 2, started = 0;
	struct cg_admin_opts admin = { 0 };
	bool fail_open = false, no_fetch = false;
	uint64_t openid_refresh = CG_OIDC_REFRESH_S;
	struct cg_cache_limits cache;
	cg_cache_limits_default(&cache);
	SSL_CTX *client_ctx = NULL;
	struct cg_fleet_opts fleet = { .interval_ms = 50 };
	uint64_t em_series = CG_EMETRIC_DEFAULT_MAX_SERIES, em_per_metric = CG_EMETRIC_DEFAULT_MAX_PER_METRIC;
	bool fleet_asked = false;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			gw->listen = optarg;
			break;
		case 'H':
			gw->http_listen = optarg;
			break;
		case 'w':
			if (parse_count("--workers", optarg, 1, 256, &workers))
				goto out;
			break;
		case 1:
			if (parse_seconds("--header-timeout", optarg, &gw->set.header_timeout_ms))
				goto out;
			break;
		case 2:
			if (parse_seconds("--idle-timeout", optarg, &gw->set.idle_timeout_ms))
				goto out;
			break;
		case 3:
			if (parse_seconds("--body-timeout", optarg, &gw->set.body_timeout_ms))
				goto out;
			break;
		case 4:
			if (parse_seconds("--backend-connect-timeout", optarg, &gw->set.connect_timeout_ms))
				goto out;
			break;
		case 5:
			if (parse_seconds("--backend-timeout", optarg, &gw->set.backend_timeout_ms))
				goto out;
			break;
		case 6:
			if (parse_seconds("--grace", optarg, &gw->set.grace_ms))
				goto out;
			break;
		case 7:
			if (parse_count("--max-body", optarg, 0, UINT64_MAX / 2, &gw->set.max_body_bytes))
				goto out;
			break;
		case 8:
			if (parse_count("--max-header-bytes", optarg, 1024, 1024 * 1024, &v))
				goto out;
			gw->set.h1.max_head_bytes = v;
			if (gw->set.h1.max_line_bytes > v)
				gw->set.h1.max_line_bytes = v;
			if (gw->set.h1.max_uri_bytes > v)
				gw->set.h1.max_uri_bytes = v;
			break;
		case 9:
			if (parse_count("--max-headers", optarg, 8, 10000, &v))
				goto out;
			gw->set.h1.max_headers = v;
			break;
		case 10:
			if (parse_count("--max-connections", optarg, 1, 10000000, &v))
				goto out;
			gw->set.max_conns_per_worker = (unsigned)v;
			break;
		case 11:
			if (strcmp(optarg, "on") && strcmp(optarg, "off")) {
				fprintf(stderr, "certgate serve: --access-log: expected on or off\n");
				goto out;
			}
			gw->set.access_log = strcmp(optarg, "on") == 0;
			break;
		case 18: {
			enum cg_tls_engine e;
			if (!cg_tls_engine_parse(optarg, &e)) {
				fprintf(stderr, "certgate serve: --tls-engine: expected gnutls or openssl\n");
				goto out;
			}
			cg_tls_set_server_engine(e);
			break;
		}
		case 12: {
			int l = cg_log_level_parse(optarg);
			if (l < 0) {
				fprintf(stderr, "certgate serve: --log-level: expected error, warn, info or debug\n");
				goto out;
			}
			cg_log_threshold = (enum cg_log_level)l;
			break;
		}
		case 13:
			admin.listen = optarg;
			break;
		case 19:
			admin.cert_file = optarg;
			break;
		case 20:
			admin.key_file = optarg;
			break;
		case 21:
			admin.key_password_file = optarg;
			break;
		case 22:
			admin.client_ca_file = optarg;
			break;
		case 23:
			if (admin.num_pins == CG_ADMIN_MAX_PINS) {
				fprintf(stderr, "certgate serve: --admin-client-thumbprint: at most %d\n",
					CG_ADMIN_MAX_PINS);
				goto out;
			}
			admin.pins[admin.num_pins++] = optarg;
			break;
		case 16:
			fail_open = true;
			break;
		case 17:
			no_fetch = true;
			break;
		case 24:
			if (parse_count("--openid-refresh", optarg, 1, 86400, &openid_refresh))
				goto out;
			break;
		case 25:
			if (parse_count("--cache-max-bytes", optarg, 4096, 1ull << 40, &cache.max_bytes))
				goto out;
			break;
		case 26:
			if (parse_count("--cache-max-entries", optarg, CG_CACHE_DEFAULT_SHARDS, 100000000, &cache.max_entries))
				goto out;
			break;
		case 27:
			if (parse_count("--cache-max-entry-bytes", optarg, 256, 1ull << 30, &cache.max_entry_bytes))
				goto out;
			break;
		case 28:
			fleet.listen = optarg;
			fleet_asked = true;
			break;
		case 29:
			if (fleet.num_peers == CG_FLEET_MAX_PEERS) {
				fprintf(stderr, "certgate serve: --fleet-peer: at most %d\n", CG_FLEET_MAX_PEERS);
				goto out;
			}
			fleet.peers[fleet.num_peers++] = optarg;
			fleet_asked = true;
			break;
		case 30:
			fleet.key_file = optarg;
			fleet_asked = true;
			break;
		case 31:
			if (parse_count("--fleet-interval-ms", optarg, 10, 1000, &fleet.interval_ms))
				goto out;
			fleet_asked = true;
			break;
		case 32:
			if (parse_count("--emit-metric-max-series", optarg, 1, 10000000, &em_series))
				goto out;
			break;
		case 33:
			if (parse_count("--emit-metric-max-series-per-metric", optarg, 1, 10000000, &em_per_metric))
				goto out;
			break;
		case 15:
			if (parse_count("--max-buffered-body", optarg, 0, 1024ull * 1024 * 1024, &gw->set.max_buffered_body))
				goto out;
			break;
		case 14:
			admin.token_file = optarg;
			break;
		case 'h':
			cg_gw_serve_usage();
			rc = 0;
			goto out;
		default:
			fprintf(stderr, "certgate serve: see 'certgate serve --help'\n");
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "certgate serve: unexpected argument '%s'\n", argv[optind]);
		goto out;
	}
	if (!gw->listen) {
		fprintf(stderr, "certgate serve: --listen ADDR:PORT is required (see --help)\n");
		goto out;
	}
	if (cg_cache_configure(&cache) != 0) {
		fprintf(stderr,
			"certgate serve: --cache-max-bytes must hold at least %d entries of --cache-max-entry-bytes "
			"(one per cache shard)\n",
			CG_CACHE_DEFAULT_SHARDS);
		goto out;
	}
	if (cg_emetric_configure(em_series, em_per_metric) != 0) {
		fprintf(stderr, "certgate serve: --emit-metric-max-series-per-metric must not be above "
				"--emit-metric-max-series\n");
		goto out;
	}
	if (fleet_asked && (!fleet.listen || !fleet.key_file)) {
		fprintf(stderr, "certgate serve: the fleet options need --fleet-listen ADDR:PORT and "
				"--fleet-key-file FILE (see --help)\n");
		goto out;
	}
	if (fleet.listen) {
		/* Before anything starts: a bad key file is refused at once. */
		char kerr[PATH_MAX + 200];
		fleet.keylen = cg_fleet_key_load(fleet.key_file, fleet.key, sizeof(fleet.key), kerr, sizeof(kerr));
		if (!fleet.keylen) {
			fprintf(stderr, "certgate serve: %s\n", kerr);
			rc = 1;
			goto out;
		}
	}
	{
		char aerr[512];
		bool loopback;
		if (cg_admin_opts_check(&admin, &loopback, aerr, sizeof(aerr)) != 0) {
			fprintf(stderr, "certgate serve: %s (see --help)\n", aerr);
			goto out;
		}
	}
	{
		struct sockaddr_storage ss;
		socklen_t sl;
		char perr[300];
		if (cg_gw_parse_addr(gw->listen, &ss, &sl, perr, sizeof(perr)) != 0) {
			fprintf(stderr, "certgate serve: --listen %s\n", perr);
			goto out;
		}
		if (gw->http_listen && cg_gw_parse_addr(gw->http_listen, &ss, &sl, perr, sizeof(perr)) != 0) {
			fprintf(stderr, "certgate serve: --http-listen %s\n", perr);
			goto out;
		}
		if (fleet.listen && cg_gw_parse_addr(fleet.listen, &ss, &sl, perr, sizeof(perr)) != 0) {
			fprintf(stderr, "certgate serve: --fleet-listen %s\n", perr);
			goto out;
		}
		for (int i = 0; i < fleet.num_peers; i++)
			if (cg_gw_parse_addr(fleet.peers[i], &ss, &sl, perr, sizeof(perr)) != 0) {
				fprintf(stderr, "certgate serve: --fleet-peer %s\n", perr);
				goto out;
			}
	}
	rc = 1;
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	cg_tls_global_init();

	char err[1024];
	if (!no_fetch) {
		gw->crl = cg_crl_fetcher_new(NULL, err, sizeof(err));
		if (!gw->crl) {
			fprintf(stderr, "certgate serve: CRL fetcher: %s\n", err);
			goto out;
		}
	}
	cg_snapshot_set_revocation(gw->crl, fail_open);
	cg_oidc_enable((uint32_t)openid_refresh);
	char shown[PATH_MAX]; /* store_path without a password */
	cg_store_display(store_path, shown, sizeof(shown));
	if (cg_store_exists(store_path)) {
		/* An existing store written by an older certgate is migrated
		 * here, once, so upgrading the binary needs no extra step. A
		 * read-only store is left alone (and refused below if old). */
		struct cg_store *rw = cg_store_open(store_path, 0, err, sizeof(err));
		if (rw)
			cg_store_close(rw);
	}
	sc->store = cg_store_open(store_path, 1, err, sizeof(err));
	if (!sc->store) {
		fprintf(stderr, "certgate serve: store '%s': %s\n", shown, err);
		goto out;
	}
	if (cg_store_change_token(sc->store, &sc->token, err, sizeof(err)) != 0) {
		fprintf(stderr, "certgate serve: store '%s': %s\n", shown, err);
		goto out;
	}
	struct cg_model m;
	if (cg_store_load_model(sc->store, &m, err, sizeof(err)) != 0) {
		fprintf(stderr, "certgate serve: store '%s': %s\n", shown, err);
		goto out;
	}
	gw->snap = cg_snapshot_build(&m, 1, err, sizeof(err));
	cg_model_free(&m);
	if (!gw->snap) {
		fprintf(stderr, "certgate serve: configuration: %s\n", err);
		goto out;
	}
	client_ctx = cg_tls_client_ctx_new(err, sizeof(err));
	if (!client_ctx) {
		fprintf(stderr, "certgate serve: %s\n", err);
		goto out;
	}
	if (fleet.listen) {
		/* Before the workers: every call they count is then shared. */
		gw->fleet = cg_fleet_start(&fleet, err, sizeof(err));
		OPENSSL_cleanse(fleet.key, sizeof(fleet.key));
		if (!gw->fleet) {
			fprintf(stderr, "certgate serve: %s\n", err);
			goto out;
		}
	}
	pthread_mutex_init(&gw->snap_lock, NULL);
	gw->nworkers = (int)workers;
	gw->workers = calloc(workers, sizeof(*gw->workers));
	if (!gw->workers)
		goto out;
	for (int i = 0; i < gw->nworkers; i++) {
		int fd_tls = make_listener(gw->listen, err, sizeof(err));
		if (fd_tls < 0) {
			fprintf(stderr, "certgate serve: --listen %s\n", err);
			goto out;
		}
		int fd_http = -1;
		if (gw->http_listen) {
			fd_http = make_listener(gw->http_listen, err, sizeof(err));
			if (fd_http < 0) {
				close(fd_tls);
				fprintf(stderr, "certgate serve: --http-listen %s\n", err);
				goto out;
			}
		}
		if (cg_worker_init(&gw->workers[i], gw, i, fd_tls, fd_http, client_ctx) != 0) {
			fprintf(stderr, "certgate serve: cannot start worker %d\n", i);
			goto out;
		}
		started = i + 1;
	}
	uv_loop_init(&sc->loop);
	uv_signal_init(&sc->loop, &sc->sigterm);
	uv_signal_init(&sc->loop, &sc->sigint);
	sc->sigterm.data = sc->sigint.data = sc;
	uv_timer_init(&sc->loop, &sc->reload);
	uv_timer_init(&sc->loop, &sc->grace);
	sc->reload.data = sc->grace.data = sc;
	uv_signal_start(&sc->sigterm, signal_cb, SIGTERM);
	uv_signal_start(&sc->sigint, signal_cb, SIGINT);
	uv_timer_start(&sc->reload, reload_cb, CG_RELOAD_POLL_MS, CG_RELOAD_POLL_MS);
	if (admin.listen) {
		sc->admin = cg_admin_start(&sc->loop, &admin, store_path, err, sizeof(err));
		if (!sc->admin) {
			fprintf(stderr, "certgate serve: admin API: %s\n", err);
			/* Workers are set up but not started: release them below. */
			uv_walk(&sc->loop, close_handle, NULL);
			uv_run(&sc->loop, UV_RUN_DEFAULT);
			uv_loop_close(&sc->loop);
			goto out;
		}
		cg_admin_set_metrics(sc->admin, cg_gw_metrics_render, gw);
	}
	for (int i = 0; i < gw->nworkers; i++)
		if (cg_worker_start(&gw->workers[i]) != 0) {
			fprintf(stderr, "certgate serve: cannot start worker thread %d\n", i);
			abort(); /* threads already running cannot be unwound cleanly */
		}
	started = 0; /* from here the workers clean up after themselves */
	cg_log_info("certgate: ready: https on %s%s%s%s%s, %d workers, %zu hostnames, %zu apis", gw->listen,
		    gw->http_listen ? ", http on " : "", gw->http_listen ? gw->http_listen : "",
		    admin.listen ? ", admin API on " : "", admin.listen ? admin.listen : "", gw->nworkers,
		    gw->snap->num_hosts, gw->snap->num_apis);
	warn_plain_http(gw, gw->snap, &sc->plain_http_apis);
	/* Runs until a signal closes the signal/reload handles; the grace
	 * timer is unref'd, so the loop ends right after the signal. */
	uv_run(&sc->loop, UV_RUN_DEFAULT);
	/* Wait for workers; the grace timer forces them if they linger. */
	uv_ref((uv_handle_t *)&sc->grace);
	for (int i = 0; i < gw->nworkers; i++) {
		while (uv_run(&sc->loop, UV_RUN_NOWAIT), !cg_worker_try_join(&gw->workers[i]))
			usleep(10000);
	}
	uv_timer_stop(&sc->grace);
	uv_close((uv_handle_t *)&sc->grace, NULL);
	uv_run(&sc->loop, UV_RUN_DEFAULT);
	uv_loop_close(&sc->loop);
	cg_log_info("certgate: stopped");
	rc = 0;
out:
	OPENSSL_cleanse(fleet.key, sizeof(fleet.key));
	/* Startup failed after some workers were set up: release them. */
	for (int i = 0; i < started; i++)
		cg_worker_discard(&gw->workers[i]);
	cg_fleet_stop(gw->fleet); /* after the workers: sends their last calls */
	gw->fleet = NULL;
	SSL_CTX_free(client_ctx);
	for (int i = 0; gw->workers && i < gw->nworkers; i++)
		cg_stats_free(gw->workers[i].stats);
	if (sc->store)
		cg_store_close(sc->store);
	if (gw->snap)
		cg_snapshot_unref(gw->snap);
	gw->snap = NULL;
	cg_crl_fetcher_free(gw->crl); /* after the last snapshot: trust stores point at it */
	gw->crl = NULL;
	free(gw->workers);
	free(sc);
	return rc;
}
