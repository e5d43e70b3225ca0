/* Worker threads: one libuv loop each, with its own SO_REUSEPORT listeners
 * (the kernel spreads connections), its own upstream pool and connection
 * list. The main thread talks to a worker only through its uv_async. */
#include <errno.h>
#include <malloc.h>
#ifdef CG_WITH_MIMALLOC
#include <mimalloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "gw/worker.h"
#include "gw/pipeline.h"
#include "tls/trust.h"

/* Connections accepted per listener wake. Each accepted connection runs its
 * first handshake step at once (~150-250 us for an mTLS ClientHello), so a
 * batch stalls every other connection of the worker for that long: 8 keeps
 * the stall near 2 ms (64 made it 10-16 ms in an accept burst). */
#define CG_ACCEPT_BATCH 8
#define CG_ACCEPT_PAUSE_MS 100 /* accepts rest this long when out of descriptors */

const char *cg_worker_date(struct cg_worker *w)
{
	time_t now = time(NULL);
	if ((uint64_t)now != w->date_sec) {
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(w->date, sizeof(w->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		w->date_sec = (uint64_t)now;
	}
	return w->date;
}

static void accept_cb(uv_poll_t *h, int status, int events);

static void accept_resume(uv_timer_t *t)
{
	struct cg_listener *l = t->data;
	if (l->open)
		uv_poll_start(&l->poll, UV_READABLE, accept_cb);
}

/* accept(2) failed for want of descriptors or memory. The poll is
 * level-triggered: left on, it would wake the loop again at once, forever
 * (a busy loop logging one line per wake). Accepts rest instead, and the
 * kernel keeps the waiting connections in the backlog meanwhile. */
static void accept_pause(struct cg_listener *l, int err)
{
	cg_log_warn("accept: %s; not accepting for %d ms", strerror(err), CG_ACCEPT_PAUSE_MS);
	uv_poll_stop(&l->poll);
	uv_timer_start(&l->pause, accept_resume, CG_ACCEPT_PAUSE_MS, 0);
}

static void accept_cb(uv_poll_t *h, int status, int events)
{
	struct cg_listener *l = h->data;
	struct cg_worker *w = l->w;
	for (int i = 0; i < CG_ACCEPT_BATCH; i++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(l->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				accept_pause(l, errno);
			else if (errno != EAGAIN)
				cg_log_warn("accept: %s", strerror(errno));
			return;
		}
		if (w->num_conns >= w->gw->set.max_conns_per_worker || w->draining) {
			close(fd); /* over the connection limit: shed load early */
			continue;
		}
		cg_conn_accept(l, fd, &peer);
	}
}

static void listener_start(struct cg_worker *w, struct cg_listener *l)
{
	if (l->fd < 0)
		return;
	l->w = w;
	uv_poll_init_socket(&w->loop, &l->poll, l->fd);
	l->poll.data = l;
	uv_timer_init(&w->loop, &l->pause);
	l->pause.data = l;
	uv_poll_start(&l->poll, UV_READABLE, accept_cb);
	l->open = true;
}

static void listener_stop(struct cg_listener *l)
{
	if (!l->open)
		return;
	l->open = false;
	uv_poll_stop(&l->poll);
	close(l->fd);
	l->fd = -1;
	uv_close((uv_handle_t *)&l->poll, NULL);
	uv_close((uv_handle_t *)&l->pause, NULL);
}

static void worker_maybe_exit(struct cg_worker *w)
{
	if (!w->draining || w->num_conns > 0)
		return;
	cg_upconn_pool_free(w);
	if (!uv_is_closing((uv_handle_t *)&w->wake)) {
		uv_close((uv_handle_t *)&w->wake, NULL);
		uv_close((uv_handle_t *)&w->sweep, NULL);
	}
}

static void begin_drain(struct cg_worker *w)
{
	if (w->draining)
		return;
	w->draining = true;
	w->drain_ms = uv_now(&w->loop);
	listener_stop(&w->lst_tls);
	listener_stop(&w->lst_http);
	struct cg_link *l = w->conns.next;
	while (l != &w->conns) {
		struct cg_link *next = l->next;
		cg_conn_drain(cg_container_of(l, struct cg_conn, link));
		l = next;
	}
}

/* glibc's malloc_trim must not run under AddressSanitizer, whose allocator
 * replaces glibc's (malloc_trim would walk an uninitialised heap). */
#if defined(__SANITIZE_ADDRESS__)
#define CG_HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CG_HAVE_ASAN 1
#endif
#endif

static void trim_heap(void)
{
#if defined(CG_WITH_MIMALLOC)
	mi_collect(true); /* the process's allocator (CMakeLists.txt CG_MALLOC) */
#elif !defined(CG_HAVE_ASAN)
	malloc_trim(0);
#endif
}

static void sweep_cb(uv_timer_t *t)
{
	struct cg_worker *w = t->data;
	cg_upconn_pool_sweep(w);
	/* Buffers of finished connections go back to malloc, which keeps them
	 * resident; after a burst of connections that is most of the RSS.
	 * Hand free pages back to the kernel (glibc) once the connection
	 * count has fallen well below its peak: under a steady load the
	 * memory is reused, and a trim walking a large heap would stall the
	 * loop (a latency spike) for nothing. */
	if (++w->sweeps % 5 == 0 && w->conns_peak >= 64 && w->num_conns < w->conns_peak - w->conns_peak / 4) {
		trim_heap();
		w->conns_peak = w->num_conns;
	}
	worker_maybe_exit(w);
}

static void wake_cb(uv_async_t *a)
{
	struct cg_worker *w = a->data;
	struct cg_gateway *gw = w->gw;
	pthread_mutex_lock(&gw->snap_lock);
	if (gw->snap != w->snap) {
		struct cg_snapshot *old = w->snap;
		w->snap = cg_snapshot_ref(gw->snap);
		pthread_mutex_unlock(&gw->snap_lock);
		cg_snapshot_unref(old);
	} else {
		pthread_mutex_unlock(&gw->snap_lock);
	}
	int drain = atomic_load(&gw->drain);
	if (drain >= 1 && !w->draining) {
		begin_drain(w);
		uv_timer_start(&w->sweep, sweep_cb, 50, 50);
	}
	if (drain >= 2 && !w->stopping) {
		w->stopping = true;
		struct cg_link *l = w->conns.next;
		while (l != &w->conns) {
			struct cg_link *next = l->next;
			cg_conn_force_close(cg_container_of(l, struct cg_conn, link));
			l = next;
		}
	}
	worker_maybe_exit(w);
}

static void *worker_main(void *arg)
{
	struct cg_worker *w = arg;
	uv_run(&w->loop, UV_RUN_DEFAULT);
	/* Close whatever is left (listeners closed by drain) and run the
	 * close callbacks. */
	uv_run(&w->loop, UV_RUN_NOWAIT);
	if (w->snap) {
		cg_snapshot_unref(w->snap);
		w->snap = NULL;
	}
	cg_trust_cache_free(w->trust_cache);
	w->trust_cache = NULL;
	cg_body_cert_cache_free(w->body_certs);
	free(w->body_certs);
	w->body_certs = NULL;
	return NULL;
}

int cg_worker_init(struct cg_worker *w, struct cg_gateway *gw, int index, int fd_tls, int fd_http,
		   SSL_CTX *client_ctx)
{
	memset(w, 0, sizeof(*w));
	w->gw = gw;
	w->index = index;
	w->client_ctx = client_ctx;
	if (getrandom(&w->rng, sizeof(w->rng), 0) != sizeof(w->rng))
		w->rng = (uint64_t)time(NULL) ^ ((uint64_t)index << 32);
	cg_link_init(&w->conns);
	w->trust_cache = cg_trust_cache_new(0);
	w->stats = calloc(1, sizeof(*w->stats));
	w->body_certs = calloc(1, sizeof(*w->body_certs));
	if (!w->trust_cache || !w->stats || !w->body_certs || uv_loop_init(&w->loop) != 0)
		return -1;
	pthread_mutex_init(&w->stats->certs_lock, NULL);
	uv_async_init(&w->loop, &w->wake, wake_cb);
	w->wake.data = w;
	uv_timer_init(&w->loop, &w->sweep);
	w->sweep.data = w;
	uv_timer_start(&w->sweep, sweep_cb, 1000, 1000);
	w->lst_tls.fd = fd_tls;
	w->lst_tls.tls = true;
	w->lst_http.fd = fd_http;
	w->lst_http.tls = false;
	listener_start(w, &w->lst_tls);
	listener_start(w, &w->lst_http);
	pthread_mutex_lock(&gw->snap_lock);
	w->snap = cg_snapshot_ref(gw->snap);
	pthread_mutex_unlock(&gw->snap_lock);
	return 0;
}

int cg_worker_start(struct cg_worker *w)
{
	return pthread_create(&w->thread, NULL, worker_main, w) == 0 ? 0 : -1;
}

void cg_worker_wake(struct cg_worker *w)
{
	/* A joined worker's loop is closed: its wake descriptor is gone (and
	 * libuv aborts on a failed async write). */
	if (!w->joined)
		uv_async_send(&w->wake);
}

bool cg_worker_try_join(struct cg_worker *w)
{
	if (w->joined)
		return true;
	if (pthread_tryjoin_np(w->thread, NULL) != 0)
		return false;
	uv_loop_close(&w->loop);
	w->joined = true;
	return true;
}

static void close_any(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

void cg_worker_discard(struct cg_worker *w)
{
	listener_stop(&w->lst_tls);
	listener_stop(&w->lst_http);
	if (w->lst_tls.fd >= 0)
		close(w->lst_tls.fd);
	if (w->lst_http.fd >= 0)
		close(w->lst_http.fd);
	uv_walk(&w->loop, close_any, NULL);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	uv_loop_close(&w->loop);
	if (w->snap)
		cg_snapshot_unref(w->snap);
	w->snap = NULL;
	cg_trust_cache_free(w->trust_cache);
	w->trust_cache = NULL;
	cg_body_cert_cache_free(w->body_certs);
	free(w->body_certs);
	w->body_certs = NULL;
}
