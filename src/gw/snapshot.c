/* Builds runtime snapshots from the store model, and routes requests. */
#include "gw/snapshot.h"
#include "gw/subs.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "base/log.h"
#include "expr/ctx.h"
#include "gw/certs.h"
#include "gw/pipeline.h"
#include "policy/exprhook.h"
#include "policy/policy.h"
#include "tls/srv.h"
#include "tls/tls.h"
#include "tls/trust.h"

static void free_tls_host(void *p)
{
	cg_tls_host_free(p);
}

void cg_snapshot_unref(struct cg_snapshot *s)
{
	if (!s)
		return;
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	cg_arena_destroy(&s->arena); /* cleanups free the TLS hosts */
	free(s);
}

/* FNV-1a: the id of a hostname's TLS trust settings. Today that is only
 * whether it negotiates client certificates; CA stores join it later. */
/* FNV-1a over a hostname's trust settings: whether it negotiates client
 * certificates and, if so, the CA store (thumbprints of the uploaded CA
 * certificates). It is the session id context and the 421 comparison. */
static uint32_t settings_id(bool negotiate, const struct cg_model *m)
{
	uint32_t h = 2166136261u;
	h = (h ^ (negotiate ? 1u : 0u)) * 16777619u;
	for (size_t i = 0; negotiate && i < m->num_cas; i++)
		for (const char *p = m->cas[i].thumbprint; p && *p; p++)
			h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

/* The CA names sent in a negotiating hostname's CertificateRequest: the
 * subjects of the uploaded CA certificates, so a client holding several
 * certificates (a browser, an OS key store) can pick the right one. */
static int set_client_ca_names(struct cg_snapshot *s, char *err, size_t errlen)
{
	size_t n = s->trust ? cg_trust_num_cas(s->trust) : 0;
	if (n == 0)
		return 0;
	X509 **cas = calloc(n, sizeof(*cas));
	if (!cas) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t k = 0; k < n; k++)
		cas[k] = cg_trust_ca_at(s->trust, k);
	int rc = 0;
	for (size_t i = 0; i < s->num_hosts && rc == 0; i++)
		if (s->hosts[i].negotiate && cg_tls_host_set_ca_names(s->hosts[i].tls, cas, n) != 0) {
			snprintf(err, errlen, "out of memory");
			rc = -1;
		}
	free(cas);
	return rc;
}

static int build_host(struct cg_snapshot *s, const struct cg_model *m, const struct cg_model_host *mh,
		      struct cg_rt_host *h, char *err, size_t errlen)
{
	char tlserr[CG_TLS_ERR_LEN];
	h->name = cg_arena_strdup_str(&s->arena, cg_str_from_c(mh->name));
	h->wildcard = strncmp(mh->name, "*.", 2) == 0;
	h->negotiate = mh->negotiate_client_certificate;
	h->is_default = mh->is_default;
	h->settings_id = settings_id(h->negotiate, m);
	char sid[9];
	snprintf(sid, sizeof(sid), "%08x", h->settings_id);
	h->tls = cg_tls_host_new(mh->cert_pem, mh->key_pem, h->negotiate, (const unsigned char *)sid, 8,
				 tlserr, sizeof(tlserr));
	if (!h->tls) {
		snprintf(err, errlen, "hostname '%s': %s", mh->name, tlserr);
		return -1;
	}
	if (cg_arena_on_cleanup(&s->arena, free_tls_host, h->tls) != 0) {
		cg_tls_host_free(h->tls);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* Splits "http[s]://host[:port][/path]". The store validated the URL; this
 * re-checks because a snapshot must never trust its input blindly. */
int cg_backend_parse(struct cg_arena *a, const char *url, struct cg_rt_backend *b, char *err,
		     size_t errlen)
{
	struct cg_str u = cg_str_from_c(url);
	b->url = cg_arena_strdup_str(a, u);
	size_t off;
	if (u.len >= 8 && strncasecmp(url, "https://", 8) == 0) {
		b->tls = true;
		off = 8;
		b->port = 443;
	} else if (u.len >= 7 && strncasecmp(url, "http://", 7) == 0) {
		b->tls = false;
		off = 7;
		b->port = 80;
	} else {
		snprintf(err, errlen, "backend URL '%s': scheme must be http or https", url);
		return -1;
	}
	const char *p = url + off;
	size_t hl = strcspn(p, "/?#");
	if (p[hl] == '?' || p[hl] == '#' || strchr(p, '?') || strchr(p, '#')) {
		snprintf(err, errlen, "backend URL '%s': query and fragment are not allowed", url);
		return -1;
	}
	struct cg_str hostport = cg_str_make(p, hl);
	if (cg_str_find_char(hostport, '@') >= 0) {
		snprintf(err, errlen, "backend URL '%s': user info is not allowed", url);
		return -1;
	}
	struct cg_str host = hostport, port = CG_STR_NULL;
	if (hostport.len && hostport.ptr[0] == '[') {
		long close = cg_str_find_char(hostport, ']');
		if (close < 0) {
			snprintf(err, errlen, "backend URL '%s': unterminated IPv6 literal", url);
			return -1;
		}
		host = cg_str_make(hostport.ptr + 1, (size_t)close - 1);
		if ((size_t)close + 1 < hostport.len) {
			if (hostport.ptr[close + 1] != ':')
				goto bad_port;
			port = cg_str_sub(hostport, (size_t)close + 2, hostport.len);
		}
	} else {
		long colon = cg_str_find_char(hostport, ':');
		if (colon >= 0) {
			host = cg_str_make(hostport.ptr, (size_t)colon);
			port = cg_str_sub(hostport, (size_t)colon + 1, hostport.len);
		}
	}
	if (host.len == 0 || host.len > 253) {
		snprintf(err, errlen, "backend URL '%s': missing or too long host", url);
		return -1;
	}
	if (port.ptr) {
		uint64_t v;
		if (!cg_str_to_u64(port, 65535, &v) || v == 0)
			goto bad_port;
		b->port = (uint16_t)v;
	}
	b->host = cg_arena_strdup_str(a, host);
	bool default_port = b->port == (b->tls ? 443 : 80);
	b->host_hdr = default_port ? cg_arena_strdup_str(a, hostport)
				   : cg_str_from_c(cg_arena_printf(a, "%.*s", CG_STR_FMT(hostport)));
	struct cg_str path = cg_str_from_c(p + hl);
	while (path.len && path.ptr[path.len - 1] == '/')
		path.len--;
	b->base_path = cg_arena_strdup_str(a, path);
	b->pool_key = cg_str_from_c(cg_arena_printf(a, "%s://%.*s:%u", b->tls ? "https" : "http",
						    CG_STR_FMT(b->host), b->port));
	b->verify = true;

	/* Resolve now, off the request path (DNS changes apply on the next
	 * snapshot). */
	char hostz[256], portz[8];
	snprintf(hostz, sizeof(hostz), "%.*s", CG_STR_FMT(host));
	snprintf(portz, sizeof(portz), "%u", b->port);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
	int rc = getaddrinfo(hostz, portz, &hints, &res);
	if (rc != 0 || !res) {
		/* Not a configuration error: DNS may be down for a moment. The
		 * backend stays unresolved (requests to it get 502) and the
		 * next snapshot tries again; the rest of the gateway works. */
		snprintf(err, errlen, "backend URL '%s': cannot resolve '%s': %s", url, hostz,
			 gai_strerror(rc));
		b->unresolved = true;
		b->addr_len = 0;
		return 0;
	}
	memcpy(&b->addr, res->ai_addr, res->ai_addrlen);
	b->addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
bad_port:
	snprintf(err, errlen, "backend URL '%s': invalid port", url);
	return -1;
}

/* Splits a segment with parameters inside it into literal and parameter
 * parts. Two parameters must be separated by a literal (otherwise where one
 * ends is ambiguous). */
static int compile_mixed(struct cg_arena *a, struct cg_str seg, struct cg_tmpl_seg *s, struct cg_str t,
			 char *err, size_t errlen)
{
	size_t max = seg.len / 2 + 2;
	s->kind = CG_SEG_MIXED;
	s->parts = cg_arena_zalloc(a, sizeof(*s->parts) * max);
	s->num_parts = 0;
	if (!s->parts) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t i = 0;
	while (i < seg.len) {
		struct cg_tmpl_part *pt = &s->parts[s->num_parts];
		if (seg.ptr[i] == '{') {
			size_t j = i + 1;
			while (j < seg.len && seg.ptr[j] != '}' && seg.ptr[j] != '{')
				j++;
			if (j >= seg.len || seg.ptr[j] != '}' || j == i + 1) {
				snprintf(err, errlen, "URL template '%.*s': malformed parameter", CG_STR_FMT(t));
				return -1;
			}
			if (s->num_parts && s->parts[s->num_parts - 1].param) {
				snprintf(err, errlen,
					 "URL template '%.*s': two parameters need a literal between them",
					 CG_STR_FMT(t));
				return -1;
			}
			pt->param = true;
			pt->text = cg_str_make(seg.ptr + i + 1, j - i - 1);
			i = j + 1;
		} else {
			size_t j = i;
			while (j < seg.len && seg.ptr[j] != '{') {
				if (seg.ptr[j] == '}') {
					snprintf(err, errlen, "URL template '%.*s': '}' without '{'", CG_STR_FMT(t));
					return -1;
				}
				j++;
			}
			pt->param = false;
			pt->text = cg_str_make(seg.ptr + i, j - i);
			i = j;
		}
		s->num_parts++;
	}
	return 0;
}

/* Matches one path segment against a mixed template segment: literals in
 * order (ASCII case-insensitive), each parameter taking the shortest
 * non-empty run up to the next literal (or the rest of the segment). */
static bool match_mixed(const struct cg_tmpl_seg *s, struct cg_str seg, struct cg_route_param *params,
			size_t *num_params)
{
	size_t pos = 0;
	for (size_t k = 0; k < s->num_parts; k++) {
		const struct cg_tmpl_part *pt = &s->parts[k];
		if (!pt->param) {
			if (seg.len - pos < pt->text.len ||
			    !cg_str_ieq(cg_str_make(seg.ptr + pos, pt->text.len), pt->text))
				return false;
			pos += pt->text.len;
			continue;
		}
		size_t end = seg.len;
		if (k + 1 < s->num_parts) {
			const struct cg_str lit = s->parts[k + 1].text;
			end = pos + 1; /* non-empty */
			while (end + lit.len <= seg.len &&
			       !cg_str_ieq(cg_str_make(seg.ptr + end, lit.len), lit))
				end++;
			if (end + lit.len > seg.len)
				return false;
		}
		if (end <= pos)
			return false;
		if (*num_params < CG_ROUTE_MAX_PARAMS) {
			params[*num_params].name = pt->text;
			params[(*num_params)++].value = cg_str_make(seg.ptr + pos, end - pos);
		}
		pos = end;
	}
	return pos == seg.len;
}

int cg_route_compile_template(struct cg_arena *a, struct cg_str tmpl, struct cg_rt_op *op,
			      char *err, size_t errlen)
{
	op->url_template = cg_arena_strdup_str(a, tmpl);
	struct cg_str t = op->url_template;
	long q = cg_str_find_char(t, '?');
	struct cg_str path = q < 0 ? t : cg_str_make(t.ptr, (size_t)q);
	struct cg_str query = q < 0 ? CG_STR_NULL : cg_str_sub(t, (size_t)q + 1, t.len);
	if (path.len == 0 || path.ptr[0] != '/') {
		snprintf(err, errlen, "URL template '%.*s' must start with '/'", CG_STR_FMT(t));
		return -1;
	}
	/* Count segments: "/" alone has none. */
	size_t n = 0;
	for (size_t i = 0; i < path.len; i++)
		n += path.ptr[i] == '/';
	op->segs = cg_arena_zalloc(a, sizeof(*op->segs) * (n + 1));
	op->num_segs = 0;
	op->score = 0;
	size_t i = 1;
	while (i <= path.len) {
		size_t j = i;
		while (j < path.len && path.ptr[j] != '/')
			j++;
		struct cg_str seg = cg_str_make(path.ptr + i, j - i);
		if (seg.len == 0 && j >= path.len)
			break; /* trailing '/' */
		struct cg_tmpl_seg *s = &op->segs[op->num_segs++];
		if (cg_str_eq_lit(seg, "*")) {
			if (j < path.len) {
				snprintf(err, errlen, "URL template '%.*s': '*' must be the last segment",
					 CG_STR_FMT(t));
				return -1;
			}
			s->kind = CG_SEG_WILDCARD;
		} else if (seg.len >= 2 && seg.ptr[0] == '{' && seg.ptr[seg.len - 1] == '}' &&
			   cg_str_find_char(cg_str_sub(seg, 1, seg.len - 2), '{') < 0 &&
			   cg_str_find_char(cg_str_sub(seg, 1, seg.len - 2), '}') < 0) {
			s->kind = CG_SEG_PARAM;
			s->text = cg_str_make(seg.ptr + 1, seg.len - 2);
			size_t nparams = 0;
			for (size_t k = 0; k + 1 < op->num_segs; k++)
				nparams += op->segs[k].kind == CG_SEG_PARAM;
			if (nparams >= CG_ROUTE_MAX_PARAMS) {
				snprintf(err, errlen, "URL template '%.*s': more than %d parameters",
					 CG_STR_FMT(t), CG_ROUTE_MAX_PARAMS);
				return -1;
			}
			if (s->text.len == 0) {
				snprintf(err, errlen, "URL template '%.*s': empty parameter name",
					 CG_STR_FMT(t));
				return -1;
			}
			op->score += 2;
		} else if (cg_str_find_char(seg, '{') >= 0 || cg_str_find_char(seg, '}') >= 0) {
			/* Parameters inside a segment: "{name}.{format}", "v{n}". */
			if (compile_mixed(a, seg, s, t, err, errlen) != 0)
				return -1;
			op->score += 2;
		} else {
			s->kind = CG_SEG_LITERAL;
			s->text = seg;
			op->score += 3;
		}
		i = j + 1;
	}
	/* Query parameters named in the template are required. */
	op->num_query_params = 0;
	op->query_params = NULL;
	if (query.len) {
		size_t m = 1;
		for (size_t k = 0; k < query.len; k++)
			m += query.ptr[k] == '&';
		op->query_params = cg_arena_zalloc(a, sizeof(struct cg_str) * m);
		struct cg_str rest = query;
		while (rest.len) {
			long amp = cg_str_find_char(rest, '&');
			struct cg_str kv = amp < 0 ? rest : cg_str_make(rest.ptr, (size_t)amp);
			rest = amp < 0 ? CG_STR_NULL : cg_str_sub(rest, (size_t)amp + 1, rest.len);
			long eq = cg_str_find_char(kv, '=');
			struct cg_str name = eq < 0 ? kv : cg_str_make(kv.ptr, (size_t)eq);
			if (name.len)
				op->query_params[op->num_query_params++] = name;
		}
		op->score += (unsigned)op->num_query_params;
	}
	return 0;
}

/* ---- policies -------------------------------------------------------------- */

struct pol_build {
	struct cg_pol_env env;
	struct cg_arena diag_arena; /* diagnostics and the index: gone with the build */
	const struct cg_pol_doc *global;
	const struct cg_model_policy **index; /* the model's policies by policy_cmp */
	size_t num_index;
};

/* A policy's place: scope, then its API (product at product scope) id,
 * then its operation id; absent ids sort as "". */
static int policy_key_cmp(const struct cg_model_policy *p, enum cg_model_policy_scope scope, const char *id,
			  const char *op)
{
	if (p->scope != scope)
		return p->scope < scope ? -1 : 1;
	const char *pid = scope == CG_MODEL_POLICY_PRODUCT ? p->product_id : p->api_id;
	int c = strcmp(pid ? pid : "", id ? id : "");
	return c ? c : strcmp(p->op_id ? p->op_id : "", op ? op : "");
}

static int policy_cmp(const void *a, const void *b)
{
	const struct cg_model_policy *x = *(const struct cg_model_policy *const *)a;
	const struct cg_model_policy *y = *(const struct cg_model_policy *const *)b;
	return policy_key_cmp(x, y->scope, y->scope == CG_MODEL_POLICY_PRODUCT ? y->product_id : y->api_id,
			      y->op_id);
}

/* Sorts pointers to the model's policies: every scope's document is then a
 * binary search away (a linear scan per API and operation made a snapshot
 * of 10,000 APIs with documents quadratic: seconds per reload). */
static int policy_index(const struct cg_model *m, struct pol_build *pb)
{
	pb->index = cg_arena_alloc(&pb->diag_arena, sizeof(*pb->index) * (m->num_policies + 1));
	if (!pb->index)
		return -1;
	for (size_t i = 0; i < m->num_policies; i++)
		pb->index[i] = &m->policies[i];
	pb->num_index = m->num_policies;
	qsort(pb->index, pb->num_index, sizeof(*pb->index), policy_cmp);
	return 0;
}

/* The stored policy of a scope; id is the product id at product scope. */
static const struct cg_model_policy *find_policy(const struct pol_build *pb, enum cg_model_policy_scope scope,
						 const char *id, const char *op)
{
	size_t lo = 0, hi = pb->num_index;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = policy_key_cmp(pb->index[mid], scope, id, op);
		if (c == 0)
			return pb->index[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Loads one stored document (NULL when there is none). */
static int load_policy(struct cg_snapshot *s, struct pol_build *pb, const struct cg_model_policy *mp,
		       enum cg_pol_scope scope, const char *what, const struct cg_pol_doc **out, char *err,
		       size_t errlen)
{
	*out = NULL;
	if (!mp)
		return 0;
	struct cg_pol_diags d;
	cg_pol_diags_init(&d, &pb->diag_arena);
	enum cg_pol_format fmt =
		mp->format && strcmp(mp->format, "xml") == 0 ? CG_POL_FORMAT_XML : CG_POL_FORMAT_RAWXML;
	struct cg_pol_doc *doc = NULL;
	if (cg_pol_load(&s->arena, cg_str_from_c(mp->value), fmt, scope, &pb->env, &d, &doc) != 0) {
		struct cg_buf b;
		cg_buf_init(&b, 4096);
		for (const struct cg_pol_diag *dg = d.head; dg; dg = dg->next)
			if (dg->severity == CG_POL_ERROR) {
				if (cg_pol_diag_format(dg, &b) != 0)
					break;
				break;
			}
		snprintf(err, errlen, "%s: %.*s", what, (int)b.len, b.data ? b.data : "cannot be loaded");
		cg_buf_free(&b);
		return -1;
	}
	*out = doc;
	return 0;
}

/* The pipeline of a chain of documents, broad to narrow (NULL entries are
 * skipped scopes; docs[0] is the global document). */
static int make_pipeline_chain(struct cg_snapshot *s, const struct cg_pol_doc *const *docs, size_t n,
			       const struct cg_pipeline **out, const char *what, char *err,
			       size_t errlen)
{
	struct cg_pol_effective eff;
	struct cg_pipeline *pl = cg_arena_zalloc(&s->arena, sizeof(*pl));
	if (!pl || cg_pol_effective_chain(&s->arena, docs, n, &eff) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	char perr[400];
	if (cg_pipeline_build(&s->arena, &eff, s, pl, perr, sizeof(perr)) != 0) {
		snprintf(err, errlen, "%s: %s", what, perr);
		return -1;
	}
	*out = pl;
	return 0;
}

static int make_pipeline(struct cg_snapshot *s, const struct cg_pol_doc *g, const struct cg_pol_doc *a,
			 const struct cg_pol_doc *o, const struct cg_pipeline **out, const char *what,
			 char *err, size_t errlen)
{
	const struct cg_pol_doc *const docs[3] = { g, a, o };
	return make_pipeline_chain(s, docs, 3, out, what, err, errlen);
}

static int pol_build_init(struct cg_snapshot *s, const struct cg_model *m, struct pol_build *pb,
			  char *err, size_t errlen)
{
	memset(pb, 0, sizeof(*pb));
	cg_arena_init(&pb->diag_arena, 16 * 1024, 0);
	if (policy_index(m, pb) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	struct cg_pol_named_value *nv =
		cg_arena_zalloc(&s->arena, sizeof(*nv) * (m->num_named_values + 1));
	struct cg_pol_fragment *fr = cg_arena_zalloc(&s->arena, sizeof(*fr) * (m->num_fragments + 1));
	if (!nv || !fr) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < m->num_named_values; i++) {
		nv[i].name = cg_str_from_c(m->named_values[i].name);
		nv[i].value = cg_str_from_c(m->named_values[i].value);
	}
	for (size_t i = 0; i < m->num_fragments; i++) {
		fr[i].id = cg_str_from_c(m->fragments[i].id);
		fr[i].text = cg_str_from_c(m->fragments[i].value);
		fr[i].format = m->fragments[i].format && strcmp(m->fragments[i].format, "xml") == 0
				       ? CG_POL_FORMAT_XML
				       : CG_POL_FORMAT_RAWXML;
	}
	pb->env.named_values = nv;
	pb->env.num_named_values = m->num_named_values;
	pb->env.fragments = fr;
	pb->env.num_fragments = m->num_fragments;
	pb->env.compile = cg_pol_expr_hook;
	pb->env.compile_ud = &s->arena;
	return load_policy(s, pb, find_policy(pb, CG_MODEL_POLICY_GLOBAL, NULL, NULL), CG_POL_SCOPE_GLOBAL,
			   "global policy", &pb->global, err, errlen);
}

static int api_pipelines(struct cg_snapshot *s, const struct cg_model *m, struct pol_build *pb,
			 const struct cg_model_api *ma, struct cg_rt_api *api, char *err, size_t errlen)
{
	char what[300];
	const struct cg_pol_doc *adoc;
	snprintf(what, sizeof(what), "policy of api '%s'", ma->id);
	if (load_policy(s, pb, find_policy(pb, CG_MODEL_POLICY_API, ma->id, NULL), CG_POL_SCOPE_API, what,
			&adoc, err, errlen) != 0)
		return -1;
	api->doc = adoc;
	if (make_pipeline(s, pb->global, adoc, NULL, &api->pipeline, what, err, errlen) != 0)
		return -1;
	for (size_t k = 0; k < ma->num_ops; k++) {
		const struct cg_pol_doc *odoc;
		snprintf(what, sizeof(what), "policy of operation '%s' of api '%s'", ma->ops[k].id, ma->id);
		if (load_policy(s, pb, find_policy(pb, CG_MODEL_POLICY_OPERATION, ma->id, ma->ops[k].id),
				CG_POL_SCOPE_OPERATION, what, &odoc, err, errlen) != 0)
			return -1;
		api->ops[k].doc = odoc;
		if (!odoc) {
			/* the same chain as the API's: share its pipeline (a
			 * pipeline holds only the compiled policy; which API and
			 * operation ran is the request's) */
			api->ops[k].pipeline = api->pipeline;
			continue;
		}
		if (make_pipeline(s, pb->global, adoc, odoc, &api->ops[k].pipeline, what, err, errlen) != 0)
			return -1;
	}
	return 0;
}

/* ---- products -------------------------------------------------------------- */

/* The pipelines of one API of a product: global, product, API (and
 * operation) documents, the API's already loaded. Chains that come out the
 * same share one pipeline: an operation without a document runs its
 * product-API pipeline, and every API without documents of one product runs
 * *plain (global + product, compiled on first need). */
static int product_api(struct cg_snapshot *s, struct pol_build *pb, const struct cg_pol_doc *pdoc,
		       const struct cg_rt_product *p, const struct cg_rt_api *api,
		       struct cg_rt_product_api *out, const struct cg_pipeline **plain, char *err,
		       size_t errlen)
{
	char what[300];
	const struct cg_pol_doc *docs[4] = { pb->global, pdoc, api->doc, NULL };
	out->api = api;
	out->op_pipelines = cg_arena_zalloc(&s->arena, sizeof(*out->op_pipelines) * (api->num_ops + 1));
	if (!out->op_pipelines) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!pdoc) {
		/* No product policy: the chain global + API (+ operation) is the
		 * API's own, already compiled; products x APIs x operations
		 * pipelines are built only for products that have a policy. */
		out->pipeline = api->pipeline;
		for (size_t k = 0; k < api->num_ops; k++)
			out->op_pipelines[k] = api->ops[k].pipeline;
		return 0;
	}
	snprintf(what, sizeof(what), "policy of api '%.*s' in product '%.*s'", (int)api->id.len,
		 api->id.ptr, (int)p->id.len, p->id.ptr);
	if (api->doc && make_pipeline_chain(s, docs, 3, &out->pipeline, what, err, errlen) != 0)
		return -1;
	if (!api->doc) {
		if (!*plain && make_pipeline_chain(s, docs, 3, plain, what, err, errlen) != 0)
			return -1;
		out->pipeline = *plain;
	}
	for (size_t k = 0; k < api->num_ops; k++) {
		if (!api->ops[k].doc) {
			out->op_pipelines[k] = out->pipeline;
			continue;
		}
		docs[3] = api->ops[k].doc;
		snprintf(what, sizeof(what), "policy of operation '%.*s' of api '%.*s' in product '%.*s'",
			 (int)api->ops[k].id.len, api->ops[k].id.ptr, (int)api->id.len, api->id.ptr,
			 (int)p->id.len, p->id.ptr);
		if (make_pipeline_chain(s, docs, 4, &out->op_pipelines[k], what, err, errlen) != 0)
			return -1;
	}
	return 0;
}

/* The runtime API of id: the APIs are still in the model's order (by
 * id) when products are built. */
static const struct cg_rt_api *api_by_id(const struct cg_snapshot *s, const char *id)
{
	size_t lo = 0, hi = s->num_apis;
	struct cg_str want = cg_str_from_c(id);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cg_str_cmp(s->apis[mid]->id, want);
		if (c == 0)
			return s->apis[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int build_product(struct cg_snapshot *s, const struct cg_model *m, struct pol_build *pb,
			 const struct cg_model_product *mp, struct cg_rt_product *p, char *err,
			 size_t errlen)
{
	char what[200];
	const struct cg_pol_doc *pdoc;
	p->id = cg_arena_strdup_str(&s->arena, cg_str_from_c(mp->id));
	p->display_name = cg_arena_strdup_str(&s->arena, cg_str_from_c(mp->display_name));
	p->published = mp->published;
	p->sub_required = mp->subscription_required;
	p->approval_required = mp->approval_required;
	p->subscriptions_limit = mp->subscriptions_limit;
	p->apis = cg_arena_zalloc(&s->arena, sizeof(*p->apis) * (mp->num_apis + 1));
	if (!p->id.ptr || !p->display_name.ptr || !p->apis) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(what, sizeof(what), "policy of product '%s'", mp->id);
	if (load_policy(s, pb, find_policy(pb, CG_MODEL_POLICY_PRODUCT, mp->id, NULL),
			CG_POL_SCOPE_PRODUCT, what, &pdoc, err, errlen) != 0)
		return -1;
	const struct cg_pipeline *plain = NULL;
	for (size_t i = 0; i < mp->num_apis; i++) {
		const struct cg_rt_api *api = api_by_id(s, mp->apis[i]);
		if (!api)
			continue; /* cannot happen with foreign keys on */
		if (product_api(s, pb, pdoc, p, api, &p->apis[p->num_apis], &plain, err, errlen) != 0)
			return -1;
		p->num_apis++;
	}
	return 0;
}

/* Products, then each product-scoped subscription's product. Before the
 * APIs are sorted by path. */
static int build_products(struct cg_snapshot *s, const struct cg_model *m, struct pol_build *pb,
			  char *err, size_t errlen)
{
	s->products = cg_arena_zalloc(&s->arena, sizeof(*s->products) * (m->num_products + 1));
	if (!s->products) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < m->num_products; i++) {
		if (build_product(s, m, pb, &m->products[i], &s->products[i], err, errlen) != 0)
			return -1;
		s->num_products++;
	}
	for (size_t i = 0; i < s->num_subs; i++)
		if (s->subs[i].scope_product.len)
			s->subs[i].product = cg_snapshot_find_product(s, s->subs[i].scope_product);
	return 0;
}

static int cmp_api_path_len(const void *a, const void *b)
{
	const struct cg_rt_api *x = *(const struct cg_rt_api *const *)a;
	const struct cg_rt_api *y = *(const struct cg_rt_api *const *)b;
	return x->path.len < y->path.len ? 1 : x->path.len > y->path.len ? -1 : 0;
}

struct cg_snapshot *cg_snapshot_build(const struct cg_model *m, uint64_t generation, char *err,
				      size_t errlen)
{
	return cg_snapshot_build_from(m, generation, NULL, err, errlen);
}

static void free_ctx_cb(void *p)
{
	SSL_CTX_free(p);
}

/* A backend entity's own client context (settings or a client certificate). */
static SSL_CTX *backend_ctx(struct cg_snapshot *s, bool chain, bool name, const char *cert_id,
			    char *err, size_t errlen)
{
	X509 *x = NULL;
	const char *key = NULL;
	if (cert_id) {
		for (size_t i = 0; i < s->num_cert_entities; i++)
			if (cg_str_eq(s->cert_entities[i].id, cg_str_from_c(cert_id))) {
				x = s->cert_entities[i].x509;
				key = s->cert_entities[i].key_pem;
			}
		if (!x) {
			snprintf(err, errlen, "certificate '%s' not found", cert_id);
			return NULL;
		}
		if (!key) {
			snprintf(err, errlen, "certificate '%s' has no private key", cert_id);
			return NULL;
		}
	}
	char e[300];
	SSL_CTX *ctx = cg_tls_client_ctx_new_ex(chain, name, x, key, e, sizeof(e));
	if (!ctx) {
		snprintf(err, errlen, "%s", e);
		return NULL;
	}
	if (x && s->trust && cg_trust_num_cas(s->trust)) {
		/* Send the client certificate with its chain: the intermediates
		 * come from the uploaded CA certificates (a backend that checks
		 * client certificates usually trusts only the root). */
		X509_STORE *cs = X509_STORE_new();
		for (size_t i = 0; cs && i < cg_trust_num_cas(s->trust); i++)
			X509_STORE_add_cert(cs, cg_trust_ca_at(s->trust, i));
		if (cs && SSL_CTX_set1_chain_cert_store(ctx, cs))
			(void)SSL_CTX_build_cert_chain(ctx, SSL_BUILD_CHAIN_FLAG_NO_ROOT |
								     SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR |
								     SSL_BUILD_CHAIN_FLAG_UNTRUSTED);
		X509_STORE_free(cs);
		ERR_clear_error();
	}
	if (cg_arena_on_cleanup(&s->arena, free_ctx_cb, ctx) != 0) {
		SSL_CTX_free(ctx);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return ctx;
}

static void breaker_free_cb(void *data)
{
	cg_lb_breaker_unref(data);
}

/* The backend's circuit breaker. A configuration change keeps its state
 * (a tripped backend stays skipped) while the backend has the same id,
 * URL and rule in the previous snapshot; otherwise it starts closed
 * (docs/backend-pools.md). */
static int build_breaker(struct cg_snapshot *s, const struct cg_snapshot *prev, const struct cg_model_backend *mb,
			 struct cg_rt_backend *b)
{
	if (!mb->breaker)
		return 0;
	struct cg_model_breaker *rule = cg_arena_alloc(&s->arena, sizeof(*rule));
	b->breaker_key = cg_arena_printf(&s->arena, "%s\n%s", mb->url ? mb->url : "",
					 mb->breaker_json ? mb->breaker_json : "");
	if (!rule || !b->breaker_key)
		return -1;
	*rule = *mb->breaker;
	b->breaker_rule = rule;
	const struct cg_rt_backend *was = prev ? cg_snapshot_find_backend(prev, b->id) : NULL;
	if (was && was->breaker && strcmp(was->breaker_key, b->breaker_key) == 0)
		b->breaker = cg_lb_breaker_ref(was->breaker);
	else
		b->breaker = cg_lb_breaker_new();
	if (!b->breaker)
		return -1;
	if (cg_arena_on_cleanup(&s->arena, breaker_free_cb, b->breaker) != 0) {
		cg_lb_breaker_unref(b->breaker);
		b->breaker = NULL;
		return -1;
	}
	return 0;
}

static int build_single(struct cg_snapshot *s, const struct cg_snapshot *prev, const struct cg_model_backend *mb,
			struct cg_rt_backend *b, char *err, size_t errlen)
{
	char e[400];
	e[0] = '\0';
	if (cg_backend_parse(&s->arena, mb->url, b, e, sizeof(e)) != 0) {
		snprintf(err, errlen, "backend '%s': %s", mb->id, e);
		return -1;
	}
	if (b->unresolved)
		cg_log_warn("backend '%s': %s (requests to it get 502 until it resolves)", mb->id, e);
	b->verify = mb->validate_name;
	if (b->tls && (mb->client_cert_id || !mb->validate_chain || !mb->validate_name)) {
		b->ssl_ctx = backend_ctx(s, mb->validate_chain, mb->validate_name, mb->client_cert_id, e,
					 sizeof(e));
		if (!b->ssl_ctx) {
			snprintf(err, errlen, "backend '%s': %s", mb->id, e);
			return -1;
		}
		/* Its own pool: connections made with other TLS settings or
		 * another client certificate are not interchangeable. */
		b->pool_key = cg_str_from_c(cg_arena_printf(&s->arena, "%.*s|%s", CG_STR_FMT(b->pool_key),
							    mb->id));
	}
	if (build_breaker(s, prev, mb, b) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* The index of backend id in the model (sorted by id), or -1. */
static long model_backend_index(const struct cg_model *m, const char *id)
{
	for (size_t i = 0; i < m->num_backends; i++)
		if (strcmp(m->backends[i].id, id) == 0)
			return (long)i;
	return -1;
}

/* A pool's members as indexes of s->backends (built in the model's
 * order); the store refused members that are missing or pools. */
static int build_pool(struct cg_snapshot *s, const struct cg_model *m, const struct cg_model_backend *mb,
		      struct cg_rt_backend *b, char *err, size_t errlen)
{
	struct cg_rt_pool *pool = cg_arena_zalloc(&s->arena, sizeof(*pool));
	if (!pool) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pool->all = s->backends;
	for (size_t k = 0; k < mb->num_members && k < CG_LB_MAX_POOL_MEMBERS; k++) {
		const struct cg_model_pool_member *pm = &mb->members[k];
		long i = model_backend_index(m, pm->backend_id);
		if (i < 0 || m->backends[i].members) {
			snprintf(err, errlen, "backend '%s': pool member '%s' is not a single backend", mb->id,
				 pm->backend_id);
			return -1;
		}
		pool->lb.members[pool->lb.num_members++] = (struct cg_lb_member){
			(uint32_t)i, (uint8_t)(pm->priority < 0 ? 0 : pm->priority),
			(uint8_t)(pm->weight < 0 ? 1 : pm->weight) };
	}
	cg_lb_pool_sort(&pool->lb);
	b->pool = pool;
	b->pool_key = b->id;
	return 0;
}

static int build_backends(struct cg_snapshot *s, const struct cg_snapshot *prev, const struct cg_model *m,
			  char *err, size_t errlen)
{
	s->backends = cg_arena_zalloc(&s->arena, sizeof(*s->backends) * (m->num_backends + 1));
	if (!s->backends) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < m->num_backends; i++) {
		const struct cg_model_backend *mb = &m->backends[i];
		struct cg_rt_backend *b = &s->backends[i];
		b->id = cg_arena_strdup_str(&s->arena, cg_str_from_c(mb->id));
		if (mb->members ? build_pool(s, m, mb, b, err, errlen) : build_single(s, prev, mb, b, err, errlen))
			return -1;
		s->num_backends++;
	}
	return 0;
}

const struct cg_rt_backend *cg_snapshot_find_backend(const struct cg_snapshot *s, struct cg_str id)
{
	for (size_t i = 0; i < s->num_backends; i++)
		if (cg_str_eq(s->backends[i].id, id))
			return &s->backends[i];
	return NULL;
}

SSL_CTX *cg_snapshot_client_cert_ctx(struct cg_snapshot *s, struct cg_str cert_id, bool by_thumbprint,
				     struct cg_str *resolved_id, char *err, size_t errlen)
{
	for (size_t i = 0; i < s->num_cert_entities; i++) {
		const struct cg_cert_entity *ce = &s->cert_entities[i];
		bool hit = by_thumbprint ? cg_str_ieq(s->certificates->items[i]->thumbprint, cert_id)
					 : cg_str_eq(ce->id, cert_id);
		if (!hit)
			continue;
		*resolved_id = ce->id;
		char z[300];
		snprintf(z, sizeof(z), "%.*s", CG_STR_FMT(ce->id));
		return backend_ctx(s, true, true, z, err, errlen);
	}
	snprintf(err, errlen, "no uploaded certificate with %s '%.*s'", by_thumbprint ? "thumbprint" : "id",
		 CG_STR_FMT(cert_id));
	return NULL;
}

/* Revocation settings of the process (set once by serve before the first
 * snapshot): the CRL/OCSP fetcher every trust store consults for issuers
 * without an uploaded CRL, and fail-open for unknown status. */
static struct cg_crl_fetcher *g_crl_fetcher;
static bool g_revocation_fail_open;

void cg_snapshot_set_revocation(struct cg_crl_fetcher *f, bool fail_open)
{
	g_crl_fetcher = f;
	g_revocation_fail_open = fail_open;
}

static int build_trust(struct cg_snapshot *s, const struct cg_model *m, uint64_t generation, char *err,
		       size_t errlen)
{
	/* The CA store: Verify() and validate-trust fail without one, as in
	 * APIM without CA certificates. */
	s->trust = cg_trust_new(&s->arena, generation);
	if (!s->trust) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	char e[300];
	for (size_t i = 0; i < m->num_cas; i++) {
		const struct cg_model_ca *ca = &m->cas[i];
		if (cg_trust_add_ca_data(s->trust, cg_str_make((const char *)ca->der, ca->der_len),
					 !ca->intermediate, e, sizeof(e)) != 0) {
			snprintf(err, errlen, "CA certificate '%s': %s", ca->id, e);
			return -1;
		}
	}
	for (size_t i = 0; i < m->num_crls; i++) {
		const struct cg_model_crl *crl = &m->crls[i];
		/* The store checked the CRL against its issuer when it was
		 * uploaded; if that CA was removed since, the CRL is useless but
		 * must not take the whole configuration down. */
		if (cg_trust_add_crl_data(s->trust, cg_str_make((const char *)crl->der, crl->der_len), e,
					  sizeof(e)) != 0)
			cg_log_warn("CRL '%s' ignored: %s", crl->id, e);
	}
	if ((g_crl_fetcher && cg_trust_set_crl_source(s->trust, g_crl_fetcher) != 0) ||
	    cg_trust_set_revocation_fail_open(s->trust, g_revocation_fail_open) != 0) {
		snprintf(err, errlen, "CA certificates: cannot set the revocation source");
		return -1;
	}
	if (cg_trust_finish(s->trust, e, sizeof(e)) != 0) {
		snprintf(err, errlen, "CA certificates: %s", e);
		return -1;
	}
	return 0;
}

struct cg_snapshot *cg_snapshot_build_from(const struct cg_model *m, uint64_t generation,
					   const struct cg_snapshot *prev, char *err, size_t errlen)
{
	struct pol_build pb;
	memset(&pb, 0, sizeof(pb)); /* an arena with no chunks: destroying it is a no-op */
	struct cg_snapshot *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&s->refs, 1);
	s->generation = generation;
	cg_arena_init(&s->arena, 64 * 1024, 0);
	if (m->num_hosts == 0) {
		snprintf(err, errlen,
			 "no hostname configured: add one with 'certgate host set NAME --cert PEM --key PEM'");
		goto fail;
	}
	s->hosts = cg_arena_zalloc(&s->arena, sizeof(*s->hosts) * m->num_hosts);
	s->num_hosts = m->num_hosts;
	for (size_t i = 0; i < m->num_hosts; i++) {
		if (build_host(s, m, &m->hosts[i], &s->hosts[i], err, errlen) != 0)
			goto fail;
		if (s->hosts[i].is_default && !s->default_host)
			s->default_host = &s->hosts[i];
	}
	if (!s->default_host)
		s->default_host = &s->hosts[0];
	/* Certificates first: policies resolve issuer-certificate-id and
	 * backends their client certificates against them. */
	if (cg_snapshot_certs(s, m, prev, err, errlen) != 0 ||
	    build_trust(s, m, generation, err, errlen) != 0 || set_client_ca_names(s, err, errlen) != 0 ||
	    build_backends(s, prev, m, err, errlen) != 0 || cg_snapshot_subs(s, m, err, errlen) != 0)
		goto fail;

	if (pol_build_init(s, m, &pb, err, errlen) != 0)
		goto fail;
	s->apis = cg_arena_zalloc(&s->arena, sizeof(*s->apis) * (m->num_apis + 1));
	s->num_apis = m->num_apis;
	for (size_t i = 0; i < m->num_apis; i++) {
		const struct cg_model_api *ma = &m->apis[i];
		struct cg_rt_api *api = cg_arena_zalloc(&s->arena, sizeof(*api));
		s->apis[i] = api;
		api->id = cg_arena_strdup_str(&s->arena, cg_str_from_c(ma->id));
		api->sub_required = ma->subscription_required;
		api->protocols = ma->protocols ? ma->protocols : CG_MODEL_PROTO_ALL;
		api->sub_header = cg_arena_strdup_str(
			&s->arena, cg_str_from_c(ma->sub_key_header ? ma->sub_key_header
								    : "Ocp-Apim-Subscription-Key"));
		api->sub_query = cg_arena_strdup_str(
			&s->arena,
			cg_str_from_c(ma->sub_key_query ? ma->sub_key_query : "subscription-key"));
		struct cg_str p = cg_str_from_c(ma->path ? ma->path : "");
		while (p.len && p.ptr[0] == '/') {
			p.ptr++;
			p.len--;
		}
		while (p.len && p.ptr[p.len - 1] == '/')
			p.len--;
		api->path = cg_arena_strdup_str(&s->arena, p);
		char berr[400];
		berr[0] = '\0';
		if (cg_backend_parse(&s->arena, ma->service_url, &api->backend, berr, sizeof(berr)) != 0) {
			snprintf(err, errlen, "api '%s': %s", ma->id, berr);
			goto fail;
		}
		if (api->backend.unresolved)
			cg_log_warn("api '%s': %s (requests get 502 until it resolves)", ma->id, berr);
		/* APIM applies a backend entity whose URL is the API's service
		 * URL (its TLS settings and client certificate) by itself. */
		for (size_t k = 0; k < s->num_backends; k++)
			if (cg_str_eq(s->backends[k].url, api->backend.url)) {
				api->backend = s->backends[k];
				break;
			}
		api->ops = cg_arena_zalloc(&s->arena, sizeof(*api->ops) * (ma->num_ops + 1));
		api->num_ops = ma->num_ops;
		for (size_t k = 0; k < ma->num_ops; k++) {
			struct cg_rt_op *op = &api->ops[k];
			op->id = cg_arena_strdup_str(&s->arena, cg_str_from_c(ma->ops[k].id));
			op->display_name = cg_arena_strdup_str(
				&s->arena, cg_str_from_c(ma->ops[k].display_name ? ma->ops[k].display_name : ma->ops[k].id));
			op->method = cg_arena_strdup_str(&s->arena, cg_str_from_c(ma->ops[k].method));
			char terr[300];
			if (cg_route_compile_template(&s->arena, cg_str_from_c(ma->ops[k].url_template),
						      op, terr, sizeof(terr)) != 0) {
				snprintf(err, errlen, "api '%s' operation '%s': %s", ma->id, ma->ops[k].id,
					 terr);
				goto fail;
			}
			if (!cg_str_eq_lit(op->method, "*"))
				op->score += 1;
		}
		api->display_name = cg_arena_strdup_str(&s->arena, cg_str_from_c(ma->display_name ? ma->display_name : ma->id));
		if (api_pipelines(s, m, &pb, ma, api, err, errlen) != 0)
			goto fail;
	}
	if (build_products(s, m, &pb, err, errlen) != 0)
		goto fail;
	cg_arena_destroy(&pb.diag_arena);
	qsort(s->apis, s->num_apis, sizeof(*s->apis), cmp_api_path_len);
	return s;
fail:
	cg_arena_destroy(&pb.diag_arena);
	cg_snapshot_unref(s);
	return NULL;
}

const struct cg_rt_product *cg_snapshot_find_product(const struct cg_snapshot *s, struct cg_str id)
{
	size_t lo = 0, hi = s->num_products;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cg_str_cmp(s->products[mid].id, id);
		if (c == 0)
			return &s->products[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct cg_rt_product_api *cg_product_find_api(const struct cg_rt_product *p,
						     const struct cg_rt_api *api)
{
	size_t lo = 0, hi = p->num_apis;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cg_str_cmp(p->apis[mid].api->id, api->id);
		if (c == 0)
			return &p->apis[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct cg_rt_host *cg_snapshot_find_host(const struct cg_snapshot *s, struct cg_str name)
{
	for (size_t i = 0; i < s->num_hosts; i++)
		if (!s->hosts[i].wildcard && cg_str_eq(s->hosts[i].name, name))
			return &s->hosts[i];
	/* "*.example.com" covers exactly one more label: a.example.com. */
	long dot = cg_str_find_char(name, '.');
	if (dot <= 0)
		return NULL;
	struct cg_str parent = cg_str_sub(name, (size_t)dot + 1, name.len);
	for (size_t i = 0; i < s->num_hosts; i++) {
		const struct cg_rt_host *h = &s->hosts[i];
		if (h->wildcard && cg_str_eq(cg_str_sub(h->name, 2, h->name.len), parent))
			return h;
	}
	return NULL;
}

/* Segment-prefix match, ASCII case-insensitive: "orders" matches "/orders",
 * "/orders/x", not "/ordersx". Returns the rest of the path or false. */
static bool match_suffix(struct cg_str api_path, struct cg_str path, struct cg_str *rest)
{
	/* path starts with '/' */
	if (api_path.len == 0) {
		*rest = path;
		return true;
	}
	if (path.len < api_path.len + 1)
		return false;
	if (!cg_str_ieq(cg_str_make(path.ptr + 1, api_path.len), api_path))
		return false;
	size_t end = 1 + api_path.len;
	if (end < path.len && path.ptr[end] != '/')
		return false;
	*rest = cg_str_sub(path, end, path.len);
	return true;
}

static bool query_has(struct cg_str query, struct cg_str name)
{
	struct cg_str rest = query;
	while (rest.len) {
		long amp = cg_str_find_char(rest, '&');
		struct cg_str kv = amp < 0 ? rest : cg_str_make(rest.ptr, (size_t)amp);
		rest = amp < 0 ? CG_STR_NULL : cg_str_sub(rest, (size_t)amp + 1, rest.len);
		long eq = cg_str_find_char(kv, '=');
		if (cg_str_ieq(eq < 0 ? kv : cg_str_make(kv.ptr, (size_t)eq), name))
			return true;
	}
	return false;
}

static bool match_op(const struct cg_rt_op *op, struct cg_str method, struct cg_str rest,
		     struct cg_str query, struct cg_route_param *params, size_t *num_params)
{
	*num_params = 0;
	if (!cg_str_eq_lit(op->method, "*") && !cg_str_eq(op->method, method))
		return false;
	size_t i = 0; /* position in rest, at a '/' or at the end */
	for (size_t k = 0; k < op->num_segs; k++) {
		const struct cg_tmpl_seg *s = &op->segs[k];
		if (s->kind == CG_SEG_WILDCARD)
			goto query;
		if (i >= rest.len || rest.ptr[i] != '/')
			return false;
		size_t j = i + 1;
		while (j < rest.len && rest.ptr[j] != '/')
			j++;
		struct cg_str seg = cg_str_make(rest.ptr + i + 1, j - i - 1);
		if (s->kind == CG_SEG_MIXED) {
			if (!match_mixed(s, seg, params, num_params))
				return false;
			i = j;
			continue;
		}
		if (s->kind == CG_SEG_LITERAL ? !cg_str_ieq(seg, s->text) : seg.len == 0)
			return false;
		if (s->kind == CG_SEG_PARAM && *num_params < CG_ROUTE_MAX_PARAMS) {
			params[*num_params].name = s->text;
			params[(*num_params)++].value = seg;
		}
		i = j;
	}
	/* All template segments used: only an optional trailing '/' may remain. */
	if (!(i == rest.len || (i + 1 == rest.len && rest.ptr[i] == '/')))
		return false;
query:
	for (size_t k = 0; k < op->num_query_params; k++)
		if (!query_has(query, op->query_params[k]))
			return false;
	return true;
}

bool cg_route_find(const struct cg_snapshot *s, unsigned scheme, struct cg_str method,
		   struct cg_str path, struct cg_str query, struct cg_route *out)
{
	out->api = NULL;
	for (size_t i = 0; i < s->num_apis; i++) {
		const struct cg_rt_api *api = s->apis[i];
		struct cg_str rest;
		/* An API not served over this scheme does not match at all (as
		 * if it did not exist: docs/http.md). */
		if (!(api->protocols & scheme) || !match_suffix(api->path, path, &rest))
			continue;
		/* APIM: the longest suffix that matches decides the API, even if
		 * none of its operations then match. */
		out->api = api;
		out->rest = rest;
		out->op = NULL;
		out->num_params = 0;
		if (api->num_ops == 0)
			return true;
		const struct cg_rt_op *best = NULL;
		struct cg_route_param tmp[CG_ROUTE_MAX_PARAMS];
		size_t ntmp;
		for (size_t k = 0; k < api->num_ops; k++) {
			const struct cg_rt_op *op = &api->ops[k];
			if (match_op(op, method, rest, query, tmp, &ntmp) &&
			    (!best || op->score > best->score)) {
				best = op;
				memcpy(out->params, tmp, sizeof(tmp[0]) * ntmp);
				out->num_params = ntmp;
			}
		}
		out->op = best;
		return best != NULL;
	}
	return false;
}
