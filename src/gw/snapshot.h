/* Immutable, refcounted configuration snapshots. A snapshot is built from a
 * store model off the hot path (fully validated: certificates, keys,
 * backends, templates), then swapped in; a request keeps the snapshot it
 * started with. */
#ifndef CG_GW_SNAPSHOT_H
#define CG_GW_SNAPSHOT_H

#include "gw/gw-t.h"
#include "store/model-t.h"

/* Builds a snapshot. Returns NULL and fills err (what and where) when the
 * model is unusable: no hostname, a bad certificate or key, an unresolvable
 * or malformed backend URL, a malformed URL template. */
struct cg_snapshot *cg_snapshot_build(const struct cg_model *m, uint64_t generation, char *err,
				      size_t errlen);
/* The same, taking over what can be shared from the running snapshot prev
 * (decoded certificate views), so a change costs only what changed. */
struct cg_snapshot *cg_snapshot_build_from(const struct cg_model *m, uint64_t generation,
					   const struct cg_snapshot *prev, char *err, size_t errlen);

static inline struct cg_snapshot *cg_snapshot_ref(struct cg_snapshot *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}
/* Drops a reference; the last one frees the snapshot (any thread). */
void cg_snapshot_unref(struct cg_snapshot *s);

/* The hostname serving a name (lowercase, no port): exact match, then a
 * wildcard "*.rest" covering one label; NULL when none matches. */
/* The product of id, or NULL (binary search over s->products). */
const struct cg_rt_product *cg_snapshot_find_product(const struct cg_snapshot *s, struct cg_str id);

/* The entry of api in product p (its pipelines), or NULL when the product
 * does not contain it. */
const struct cg_rt_product_api *cg_product_find_api(const struct cg_rt_product *p,
						     const struct cg_rt_api *api);

const struct cg_rt_host *cg_snapshot_find_host(const struct cg_snapshot *s, struct cg_str name);

/* Routes a request as APIM does: among the APIs served over scheme (the
 * listener's CG_MODEL_PROTO_HTTP or CG_MODEL_PROTO_HTTPS), the API whose
 * URL suffix is the longest segment-prefix of path (case-insensitive), then
 * the most specific operation matching method + template; an API without
 * operations matches everything. Returns false (404) when nothing matches;
 * out->api is then the API matched without an operation, or NULL. */
bool cg_route_find(const struct cg_snapshot *s, unsigned scheme, struct cg_str method,
		   struct cg_str path, struct cg_str query, struct cg_route *out);

struct cg_crl_fetcher;
/* Sets, before the first snapshot is built, the CRL/OCSP fetcher every
 * snapshot's trust store consults (NULL: uploaded CRLs only) and whether an
 * unknown revocation status passes (default: fails). */
void cg_snapshot_set_revocation(struct cg_crl_fetcher *f, bool fail_open);

/* The backend entity with this id, or NULL. */
const struct cg_rt_backend *cg_snapshot_find_backend(const struct cg_snapshot *s, struct cg_str id);

/* A client context presenting the uploaded certificate named by id (or by
 * thumbprint, case-insensitive), with default server verification, owned
 * by the snapshot. *resolved_id gets the certificate's id. NULL with err
 * when there is no such certificate or it has no private key. Call only
 * while the snapshot is being built. */
SSL_CTX *cg_snapshot_client_cert_ctx(struct cg_snapshot *s, struct cg_str cert_id, bool by_thumbprint,
				     struct cg_str *resolved_id, char *err, size_t errlen);

/* Parses a backend URL ("http[s]://host[:port][/path]", no query, fragment
 * or user info) into b (strings in a) and resolves its host (blocking
 * getaddrinfo: call off the request path, or with a numeric host).
 * Returns 0, or -1 with err filled for a malformed URL. A host that does not
 * resolve is not an error: b->unresolved is set and err says why. */
int cg_backend_parse(struct cg_arena *a, const char *url, struct cg_rt_backend *b, char *err,
		     size_t errlen);

/* Parses a URL template into segments (snapshot build and store checks).
 * Returns 0, or -1 with err filled. */
int cg_route_compile_template(struct cg_arena *a, struct cg_str tmpl, struct cg_rt_op *op,
			      char *err, size_t errlen);

#endif
