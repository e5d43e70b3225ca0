/* Uploaded certificates at run time: context.Deployment.Certificates.
 *
 * Decoding a certificate and building its .NET view costs ~0.2 ms, so a
 * store with 10,000 certificates would make every configuration change cost
 * seconds. Each certificate's view is therefore a refcounted object that a
 * new snapshot takes over from the previous one when the same certificate
 * (by thumbprint) is still uploaded: only new certificates are decoded. */
#include "gw/certs.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr/ctx.h"
#include "tls/x509.h"

struct cg_cert_obj {
	atomic_int refs;
	struct cg_arena arena;
	struct cg_x509 *view;
	struct cg_expr_cert ec;
	char thumbprint[41];
};

static void cert_obj_unref(struct cg_cert_obj *o)
{
	if (o && atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) == 1) {
		cg_arena_destroy(&o->arena);
		free(o);
	}
}

static void unref_cb(void *p)
{
	cert_obj_unref(p);
}

/* Fills the expression engine's view from the .NET view. */
void cg_cert_fill_expr(struct cg_expr_cert *ec, const struct cg_x509 *v)
{
	memset(ec, 0, sizeof(*ec));
	ec->thumbprint = cg_str_make(v->thumbprint, 40);
	ec->raw_data = v->raw;
	ec->subject = v->subject;
	ec->issuer = v->issuer;
	ec->serial_number = v->serial;
	ec->friendly_name = v->friendly_name;
	ec->signature_algorithm_oid = v->signature_algorithm.value;
	ec->simple_name = v->name_info[0][CG_X509_NAME_SIMPLE];
	ec->dns_name = v->name_info[0][CG_X509_NAME_DNS];
	ec->email_name = v->name_info[0][CG_X509_NAME_EMAIL];
	ec->issuer_simple_name = v->name_info[1][CG_X509_NAME_SIMPLE];
	ec->not_before = v->not_before_ticks;
	ec->not_after = v->not_after_ticks;
	ec->version = v->version;
	ec->has_private_key = false;
}

static struct cg_cert_obj *cert_obj_new(const unsigned char *der, size_t len, char *err, size_t errlen)
{
	struct cg_cert_obj *o = calloc(1, sizeof(*o));
	if (!o) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&o->refs, 1);
	cg_arena_init(&o->arena, 4096, 0);
	if (cg_x509_view_from_der(der, len, &o->arena, &o->view, err, errlen) != 0) {
		cg_arena_destroy(&o->arena);
		free(o);
		return NULL;
	}
	cg_cert_fill_expr(&o->ec, o->view);
	memcpy(o->thumbprint, o->view->thumbprint, 40);
	return o;
}

static struct cg_cert_obj *find_prev(const struct cg_snapshot *prev, const char *thumbprint)
{
	if (!prev || !prev->cert_objs || !thumbprint)
		return NULL;
	const struct cg_expr_cert *ec = cg_expr_cert_table_get(prev->certificates, cg_str_from_c(thumbprint));
	if (!ec)
		return NULL;
	/* Every entry of a snapshot's table is the ec member of a cert object. */
	return (struct cg_cert_obj *)(void *)((char *)(uintptr_t)ec - offsetof(struct cg_cert_obj, ec));
}

int cg_snapshot_certs(struct cg_snapshot *s, const struct cg_model *m, const struct cg_snapshot *prev,
		      char *err, size_t errlen)
{
	size_t n = m->num_certs;
	s->cert_entities = cg_arena_zalloc(&s->arena, sizeof(*s->cert_entities) * (n + 1));
	s->cert_objs = cg_arena_zalloc(&s->arena, sizeof(*s->cert_objs) * (n + 1));
	const struct cg_expr_cert **items = cg_arena_zalloc(&s->arena, sizeof(*items) * (n + 1));
	struct cg_expr_cert_table *table = cg_arena_zalloc(&s->arena, sizeof(*table));
	if (!s->cert_entities || !s->cert_objs || !items || !table) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct cg_model_cert *mc = &m->certs[i];
		struct cg_cert_obj *o = find_prev(prev, mc->thumbprint);
		/* Reuse only the very same bytes: a row whose DER changed under
		 * the same thumbprint (a damaged store) is decoded again, and
		 * refused as a restart would refuse it. */
		if (o && (o->view->raw.len != mc->der_len || memcmp(o->view->raw.ptr, mc->der, mc->der_len) != 0))
			o = NULL;
		if (o) {
			atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
		} else {
			char e[300];
			o = cert_obj_new(mc->der, mc->der_len, e, sizeof(e));
			if (!o) {
				snprintf(err, errlen, "certificate '%s': %s", mc->id, e);
				return -1;
			}
		}
		if (cg_arena_on_cleanup(&s->arena, unref_cb, o) != 0) {
			cert_obj_unref(o);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		s->cert_objs[i] = o;
		s->cert_entities[i].id = cg_arena_strdup_str(&s->arena, cg_str_from_c(mc->id));
		s->cert_entities[i].x509 = o->view->x509;
		s->cert_entities[i].key_pem = mc->has_key ? mc->key_pem : NULL;
		items[i] = &o->ec;
	}
	s->num_cert_entities = n;
	if (cg_expr_cert_table_build(&s->arena, items, (uint32_t)n, table) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->certificates = table;
	return 0;
}

X509 *cg_snapshot_cert_x509(const struct cg_snapshot *s, struct cg_str id)
{
	for (size_t i = 0; s && i < s->num_cert_entities; i++)
		if (cg_str_eq(s->cert_entities[i].id, id))
			return s->cert_entities[i].x509;
	return NULL;
}
