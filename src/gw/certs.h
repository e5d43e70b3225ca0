/* Uploaded certificates in snapshots (see certs.c). */
#ifndef CG_GW_CERTS_H
#define CG_GW_CERTS_H

#include "expr/ctx-t.h"
#include "gw/gw-t.h"
#include "store/model-t.h"
#include "tls/x509-t.h"

/* Fills s->cert_entities, s->cert_objs and s->certificates (the table
 * behind context.Deployment.Certificates) from the model, taking over the
 * views of prev (may be NULL) for certificates it already had. Returns 0,
 * or -1 with err naming the certificate that cannot be decoded. */
int cg_snapshot_certs(struct cg_snapshot *s, const struct cg_model *m, const struct cg_snapshot *prev,
		      char *err, size_t errlen);

/* The expression engine's X509Certificate2 from a .NET view. */
/* The uploaded certificate with this id (borrowed from the snapshot), or
 * NULL. */
X509 *cg_snapshot_cert_x509(const struct cg_snapshot *s, struct cg_str id);

void cg_cert_fill_expr(struct cg_expr_cert *ec, const struct cg_x509 *v);

#endif
