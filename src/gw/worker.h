/* Workers, client connections and upstream connections (gateway internals).
 * One worker = one thread, one libuv loop, its own SO_REUSEPORT listeners,
 * its own upstream pool. Nothing here is shared between workers except the
 * refcounted snapshot. */
#ifndef CG_GW_WORKER_H
#define CG_GW_WORKER_H

#include <pthread.h>

#include "expr/ctx-t.h"
#include "tls/x509-t.h"
#include "gw/gw-t.h"
#include "gw/snapshot.h"

struct cg_gateway;
struct cg_tls_srv;
struct cg_worker;

/* Counters a worker keeps for /metrics. Written only by the worker (relaxed
 * load+store, no locked instructions), read by the admin thread. */
#define CG_STATS_VCC_REASONS 16

/* Requests the throttling policies refused (gw/throttle.c). */
enum cg_stats_throttle {
	CG_STATS_RATE_LIMIT = 0, /* rate-limit, rate-limit-by-key: 429 */
	CG_STATS_QUOTA,          /* quota, quota-by-key: 403 */
	CG_STATS_CONCURRENCY,    /* limit-concurrency: 429 */
	CG_STATS_THROTTLE_KINDS
};
#define CG_STATS_CERTS_SEEN 1024 /* client certificates remembered for expiry gauges, per worker */

struct cg_cert_seen {
	char thumbprint[41];     /* "" = free slot */
	char subject[160];       /* RFC 2253, truncated */
	int64_t not_after;       /* UTC seconds */
	uint64_t last_seen_ms;
	/* Until /metrics first reads the entry: the DER, not decoded yet (a
	 * handshake only hashes the client's certificate). */
	unsigned char *der;
	size_t der_len;
};

struct cg_stats {
	atomic_uint_fast64_t requests[6];       /* by status class: [1]=1xx .. [5]=5xx, [0]=other */
	atomic_uint_fast64_t handshakes_cert;   /* completed, the client sent a certificate */
	atomic_uint_fast64_t handshakes_nocert; /* completed without one */
	atomic_uint_fast64_t handshake_failures;
	atomic_uint_fast64_t vcc_failures[CG_STATS_VCC_REASONS]; /* by enum cg_vcc_reason */
	atomic_uint_fast64_t backend_failures;  /* 502 */
	atomic_uint_fast64_t backend_timeouts;  /* 504 */
	atomic_uint_fast64_t breaker_rejects;   /* 503: every candidate backend's breaker open */
	atomic_uint_fast64_t sub_refused[2];    /* 401 for a subscription key: [0] missing, [1] invalid */
	atomic_uint_fast64_t throttled[CG_STATS_THROTTLE_KINDS]; /* refused by enum cg_stats_throttle */
	pthread_mutex_t certs_lock;             /* guards certs: the admin thread reads them */
	struct cg_cert_seen certs[CG_STATS_CERTS_SEEN];
};

static inline void cg_stat_inc(atomic_uint_fast64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1, memory_order_relaxed);
}

/* Intrusive doubly linked list. */
struct cg_link {
	struct cg_link *prev, *next;
};

/* An upstream (backend) connection: in use by one client connection, or
 * idle in its worker's pool. */
struct cg_upconn {
	struct cg_link link; /* pool idle list */
	struct cg_worker *w;
	struct cg_conn *owner; /* NULL while idle */
	struct cg_pool *pool;
	int fd;
	SSL *ssl;
	uv_poll_t poll;
	int events;          /* registered poll events */
	int want;            /* events the last blocked operation needs */
	bool drained;        /* a read found the socket empty since the last wake */
	int state;           /* CG_UP_* */
	bool reused;         /* taken from the pool (may have been closed by the peer) */
	uint64_t idle_since; /* uv_now when parked */
};

/* Idle upstream connections of one backend origin, per worker. */
struct cg_pool {
	struct cg_pool *next;
	char *key; /* backend pool_key (malloc'd) */
	struct cg_link idle;
	unsigned num_idle;
};

enum cg_conn_state {
	CG_C_HANDSHAKE,
	CG_C_HEAD,    /* reading a request head (or idle between requests) */
	CG_C_PROXY,   /* exchanging with a backend */
	CG_C_RESPOND, /* writing a locally made response */
	CG_C_BUFFER,  /* reading the whole request body (policies read it) */
	CG_C_CLOSING, /* flushing what is left, then closing */
};

enum cg_body_state { CG_BODY_NONE, CG_BODY_STREAM, CG_BODY_DONE };

/* One request on a connection. Its memory (copied head, derived strings)
 * lives in the request arena, reset for every request. */
struct cg_req {
	struct cg_h1_request h;
	struct cg_h1_header *hdrs;       /* in the request arena */
	struct cg_snapshot *snap;        /* pinned for the request's lifetime */
	struct cg_route route;
	const struct cg_rt_sub *sub;     /* the subscription of the request's key, or NULL */
	struct cg_str sub_key;           /* that key, as sent */
	uint64_t start_ms;               /* uv_now at the first byte */
	uint64_t body_left;              /* CL bodies: bytes still to read */
	struct cg_h1_chunked chunked;    /* chunked request body decoder */
	enum cg_body_state body;
	/* response side */
	struct cg_h1_response resp;
	struct cg_h1_header *resp_hdrs;
	bool resp_head_done;             /* response head parsed */
	bool resp_started;               /* bytes of the response sent/queued to the client */
	bool resp_done;                  /* response body fully read from the backend */
	enum cg_h1_body_kind resp_body;  /* framing from the backend */
	uint64_t resp_left;
	struct cg_h1_chunked resp_chunked;
	bool resp_chunk_out;             /* re-encoding the body as chunked to the client */
	bool close_after;                /* close the client connection after this response */
	int status;                      /* status sent to the client (for the log) */
	uint64_t bytes_out;
	uint64_t up_start_ms;            /* when we started talking to the backend */
	bool sent_continue;
	/* policies */
	struct cg_pipe *pipe;            /* NULL when the effective policy is trivial */
	const struct cg_rt_backend *backend; /* the API's, or set-backend-service's */
	bool breaker_armed;              /* its outcome is owed to r->backend's circuit breaker */
	const struct cg_rt_client_cert *client_cert; /* authentication-certificate */
	struct cg_str pool_key;          /* backend pool key (+ the client certificate) */
	uint64_t backend_timeout_ms;     /* forward-request timeout, else --backend-timeout */
	bool discard_body;               /* set-body replaced the request body: drop the client's */
	bool outbound_ran;               /* the response head comes from the pipe (outbound edits) */
	const struct cg_pipeline *pl_pending; /* CG_C_BUFFER: the pipeline to run once the body is in */
	bool buffered;                   /* the request body is in bodybuf (consumed from the client) */
	struct cg_buf bodybuf;           /* the buffered request body */
	bool resp_buffering;             /* the response body goes to respbuf, then outbound runs */
	struct cg_buf respbuf;
};

struct cg_conn {
	struct cg_link link; /* worker's connection list */
	struct cg_worker *w;
	int fd;
	struct cg_tls_srv *tsess; /* NULL on the plain-HTTP listener */
	uv_poll_t poll;
	uv_timer_t timer;
	int events;
	int want;
	uint64_t deadline; /* uv_now-based ms, 0 = none */
	uint64_t timer_at; /* when the libuv timer fires (<= deadline), 0 = not armed */
	int handles_open;  /* poll + timer not yet closed */
	enum cg_conn_state state;
	bool tls;
	bool negotiate;        /* the handshake's hostname negotiates client certificates */
	uint32_t settings_id;  /* the handshake's hostname's TLS settings */
	bool sni_default;      /* the handshake fell back to the default hostname */
	char sni_name[256];    /* the hostname the handshake chose */
	struct cg_snapshot *hs_snap; /* held during the handshake for SNI selection */
	uint64_t accepted_ms;
	uint64_t last_ms;      /* last progress (body timeouts) */
	uint64_t nreq;
	char peer_ip[48];
	struct cg_buf in;      /* raw client bytes */
	struct cg_buf out;     /* bytes for the client */
	struct cg_buf up_out;  /* bytes for the backend */
	struct cg_buf up_in;   /* raw backend bytes */
	size_t head_seen;      /* bytes of `in` the head parser already saw */
	size_t resp_seen;
	struct cg_upconn *up;
	struct cg_arena arena; /* request arena */
	struct cg_req req;
	bool in_run;           /* re-entrancy guard */
	bool dead;             /* closing: handles being closed */
	bool eof;              /* client sent EOF */
	bool drained;          /* plain HTTP: a read found the socket empty since the last wake */
	struct cg_arena carena;    /* connection lifetime: the client certificate's view */
	const struct cg_expr_cert *cert; /* context.Request.Certificate: thumbprint and DER only */
	const struct cg_expr_cert *cert_full; /* all its fields, decoded on first use */
	const struct cg_x509 *x509;      /* their .NET view (validate-client-certificate) */
	bool cert_done;
	bool cert_undecodable; /* decoding it failed: cert_full stays NULL */
	bool lingering;        /* half-closed, discarding input before the close */
	bool ran_idle;         /* the last conn_run made no progress (a wake for nothing) */
};

struct cg_listener {
	int fd;
	bool tls;
	uv_poll_t poll;
	uv_timer_t pause; /* out of descriptors: accepts rest, then resume */
	struct cg_worker *w;
	bool open;
};

struct cg_worker {
	struct cg_gateway *gw;
	int index;
	pthread_t thread;
	uv_loop_t loop;
	uv_async_t wake;      /* snapshot swap / stop requests from the main thread */
	uv_timer_t sweep;     /* pool expiry */
	struct cg_listener lst_tls, lst_http;
	struct cg_snapshot *snap; /* current snapshot (a reference) */
	struct cg_link conns;
	unsigned num_conns;
	struct cg_pool *pools;
	SSL_CTX *client_ctx;  /* HTTPS backends */
	bool draining;
	uint64_t drain_ms;    /* uv_now when draining began */
	bool stopping;        /* grace expired: close everything */
	bool joined;          /* main thread only: thread joined, loop closed (wake no more) */
	char date[40];        /* cached Date header value */
	uint64_t date_sec;
	/* counters */
	uint64_t n_requests, n_accepted, n_handshake_fail;
	uint64_t rng;         /* request ids (not security-sensitive) */
	uint64_t lb_cursor;   /* backend pool choices of this worker (gw/lb.h) */
	struct cg_stats *stats;
	struct cg_body_cert_cache *body_certs; /* authentication-certificate body contexts */
	unsigned sweeps;      /* sweep timer ticks (1 s) */
	unsigned conns_peak;  /* most connections open since the last heap trim */
	struct cg_trust_cache *trust_cache; /* chain verification results (Verify(), validate-trust) */
};

struct cg_gateway {
	struct cg_gw_settings set;
	int nworkers;
	struct cg_worker *workers;
	pthread_mutex_t snap_lock;
	struct cg_snapshot *snap; /* latest; workers pick it up on wake */
	atomic_int drain;         /* 1: draining, 2: stop now */
	const char *listen, *http_listen;
	struct cg_crl_fetcher *crl; /* CRL/OCSP fetching from distribution points */
	struct cg_fleet *fleet;     /* fleet-wide throttling counters (NULL: off) */
};

/* conn.c */
void cg_conn_accept(struct cg_listener *l, int fd, const struct sockaddr_storage *peer);
void cg_conn_drain(struct cg_conn *c);
void cg_conn_force_close(struct cg_conn *c);
void cg_upconn_pool_sweep(struct cg_worker *w);
void cg_upconn_pool_free(struct cg_worker *w);

/* metrics.c */
/* Remembers the client certificate of a completed handshake (expiry gauge). */
void cg_stats_cert_seen(struct cg_worker *w, struct cg_tls_srv *tsess);
void cg_stats_free(struct cg_stats *st);
/* Prometheus text for the whole gateway (all workers); user is the gateway. */
int cg_gw_metrics_render(void *user, struct cg_buf *out);

/* worker.c */
const char *cg_worker_date(struct cg_worker *w);
/* Sets up a worker on its listening sockets (fd -1: none); the loop runs
 * once cg_worker_start is called. Returns 0 or -1. */
int cg_worker_init(struct cg_worker *w, struct cg_gateway *gw, int index, int fd_tls, int fd_http,
		   SSL_CTX *client_ctx);
int cg_worker_start(struct cg_worker *w);
/* Asks the worker (from another thread) to pick up the current snapshot
 * and the drain state. */
void cg_worker_wake(struct cg_worker *w);
/* Main thread: joins the worker if its thread has ended (then closes its
 * loop, after which it must not be woken). Returns true once joined. */
bool cg_worker_try_join(struct cg_worker *w);
/* Releases a worker that was initialised but never started. */
void cg_worker_discard(struct cg_worker *w);

static inline void cg_link_init(struct cg_link *l)
{
	l->prev = l->next = l;
}
static inline void cg_link_insert(struct cg_link *head, struct cg_link *l)
{
	l->next = head->next;
	l->prev = head;
	head->next->prev = l;
	head->next = l;
}
static inline void cg_link_remove(struct cg_link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->prev = l->next = l;
}
static inline bool cg_link_empty(const struct cg_link *head)
{
	return head->next == head;
}
#define cg_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#endif
