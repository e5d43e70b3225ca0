/* `certgate cert ...` (APIM certificates entity: what policies see in
 * context.Deployment.Certificates) and `certgate ca ...` (CA certificates:
 * trust for chain validation). Files may be PEM, DER or PKCS#12; a
 * password comes from a file, never the command line, and both the file
 * buffer and the password are wiped after use. Private keys are never
 * printed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "cli/cli-int.h"
#include "store/cert.h"

/* A certificate file as read for `cert add` / `ca add`: the bytes and the
 * password, both wiped when released (a PFX or PEM may hold a key). */
struct upload {
	unsigned char *data;
	size_t len;
	char *password;
};

static void free_upload(struct upload *u)
{
	if (u->data)
		OPENSSL_cleanse(u->data, u->len);
	free(u->data);
	u->data = NULL;
	cg_cli_free_secret(u->password);
	u->password = NULL;
}

/* Reads the certificate file and the optional password file (one final
 * newline dropped), then opens the store to write (created when missing).
 * Returns 0, or the exit code after printing why (nothing is held then). */
static int open_upload(const struct cg_cli_ctx *ctx, const char *file, const char *password_file,
		       struct upload *u, struct cg_store **st)
{
	int rc;
	memset(u, 0, sizeof(*u));
	if ((rc = cg_cli_read_bytes("certificate", file, &u->data, &u->len)))
		return rc;
	if (password_file) {
		if ((rc = cg_cli_read_file("--password-file", password_file, &u->password))) {
			free_upload(u);
			return rc;
		}
		size_t n = strlen(u->password);
		if (n && u->password[n - 1] == '\n')
			u->password[--n] = 0;
		if (n && u->password[n - 1] == '\r')
			u->password[--n] = 0;
	}
	*st = cg_cli_open(ctx, CG_CLI_OPEN_CREATE);
	if (!*st) {
		free_upload(u);
		return CG_CLI_EXIT_FAIL;
	}
	return 0;
}

/* `cert add` and `ca add` (ca true): the same upload, two store entities. */
static int add_upload(struct cg_cli_ctx *ctx, int argc, char **argv, bool ca)
{
	const char *password_file = NULL;
	bool intermediate = false;
	const struct cg_cli_opt opts[] = {
		{ "--intermediate", NULL, &intermediate }, /* ca add only */
		{ "--password-file", &password_file, NULL },
	};
	static const char *const pos[] = { "ID", "FILE" };
	struct cg_cli_args a;
	PARSE_N_OR_HELP(ctx, argc, argv, ca ? opts : opts + 1, ca ? 2 : 1, pos, 2, a);
	struct upload u;
	struct cg_store *st;
	int rc;
	if ((rc = open_upload(ctx, a.pos[1], password_file, &u, &st)))
		return rc;
	char err[CG_STORE_ERR_LEN], warn[CG_STORE_ERR_LEN];
	bool created = false;
	if (ca) {
		struct cg_store_ca_add in = { .id = a.pos[0], .data = u.data, .len = u.len,
					      .password = u.password, .intermediate = intermediate,
					      .created = &created, .warn = warn,
					      .warnlen = sizeof(warn) };
		rc = cg_store_ca_add(st, &in, err, sizeof(err));
	} else {
		struct cg_store_cert_add in = { .id = a.pos[0], .data = u.data, .len = u.len,
						.password = u.password, .created = &created,
						.warn = warn, .warnlen = sizeof(warn) };
		rc = cg_store_cert_add(st, &in, err, sizeof(err));
	}
	free_upload(&u);
	if (rc) {
		cg_store_close(st);
		return cg_cli_store_fail(err);
	}
	if (warn[0])
		cg_cli_warn("%s", warn);
	struct cg_store_cert_info info;
	bool has_key = false;
	if (ca)
		printf("CA certificate '%s' %s (%s)\n", a.pos[0], created ? "created" : "updated",
		       intermediate ? "intermediate" : "root");
	else if (cg_store_cert_get(st, a.pos[0], &info, &has_key, err, sizeof(err)) == 0)
		printf("certificate '%s' %s: %s, thumbprint %s, expires %s%s\n", a.pos[0],
		       created ? "created" : "updated", info.subject, info.thumbprint,
		       info.not_after, has_key ? " (with private key)" : "");
	cg_store_close(st);
	return 0;
}

int cg_cli_cert_add(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	return add_upload(ctx, argc, argv, false);
}

/* The view of a model certificate's DER; false when it does not parse. */
static bool der_info(const unsigned char *der, size_t len, struct cg_store_cert_info *info)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	if (!x) {
		ERR_clear_error();
		return false;
	}
	cg_store_cert_info_of(x, info);
	X509_free(x);
	return true;
}

/* APIM GET certificates/{id}: resource id/name/type and read-only
 * properties; our hasPrivateKey says whether backend mTLS can use it. */
static json_t *cert_json(const char *id, const struct cg_store_cert_info *info, bool has_key)
{
	json_t *j = json_object(), *p = json_object();
	cg_cli_jput(j, "id", json_string(id));
	cg_cli_jput(j, "name", json_string(id));
	cg_cli_jput(j, "type", json_string("Microsoft.ApiManagement/service/certificates"));
	cg_cli_jput(p, "subject", json_string(info->subject));
	cg_cli_jput(p, "thumbprint", json_string(info->thumbprint));
	cg_cli_jput(p, "expirationDate", json_string(info->not_after));
	cg_cli_jput(p, "issuer", json_string(info->issuer));
	cg_cli_jput(p, "notBefore", json_string(info->not_before));
	cg_cli_jput(p, "hasPrivateKey", json_boolean(has_key));
	cg_cli_jput(j, "properties", p);
	return j;
}

/* The view of a listed certificate; one that does not parse says so. */
static void cert_view(const struct cg_model_cert *c, struct cg_store_cert_info *info)
{
	if (!der_info(c->der, c->der_len, info)) {
		memset(info, 0, sizeof(*info));
		snprintf(info->subject, sizeof(info->subject), "(does not parse)");
		snprintf(info->thumbprint, sizeof(info->thumbprint), "%s", c->thumbprint);
	}
}

static json_t *cert_item_json(const struct cg_model *m, size_t i)
{
	struct cg_store_cert_info info;
	cert_view(&m->certs[i], &info);
	return cert_json(m->certs[i].id, &info, m->certs[i].has_key);
}

static void cert_row(const struct cg_model *m, size_t i, struct cg_cli_table *t)
{
	const struct cg_model_cert *c = &m->certs[i];
	struct cg_store_cert_info info;
	cert_view(c, &info);
	const char *row[] = { c->id, info.thumbprint, info.not_after, c->has_key ? "yes" : "no",
			      info.subject };
	cg_cli_table_row(t, row);
}

int cg_cli_cert_list(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const head[] = { "ID", "THUMBPRINT", "EXPIRES", "KEY", "SUBJECT" };
	static const struct cg_cli_list l = { head, 5, offsetof(struct cg_model, num_certs),
					      cert_item_json, cert_row };
	return cg_cli_list(ctx, argc, argv, &l);
}

int cg_cli_cert_show(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	bool json = false;
	const struct cg_cli_opt opts[] = { { "--json", NULL, &json } };
	static const char *const pos[] = { "ID" };
	struct cg_cli_args a;
	PARSE_OR_HELP(ctx, argc, argv, opts, pos, 1, a);
	struct cg_store *st = cg_cli_open(ctx, CG_CLI_OPEN_READ);
	if (!st)
		return CG_CLI_EXIT_FAIL;
	char err[CG_STORE_ERR_LEN];
	struct cg_store_cert_info info;
	bool has_key = false;
	int rc = cg_store_cert_get(st, a.pos[0], &info, &has_key, err, sizeof(err));
	cg_store_close(st);
	if (rc)
		return cg_cli_store_fail(err);
	if (json)
		return cg_cli_json_print(cert_json(a.pos[0], &info, has_key));
	printf("ID:              %s\n", a.pos[0]);
	printf("Subject:         %s\n", info.subject);
	printf("Issuer:          %s\n", info.issuer);
	printf("Thumbprint:      %s\n", info.thumbprint);
	printf("Not before:      %s\n", info.not_before);
	printf("Expiration date: %s%s\n", info.not_after,
	       info.expired         ? " (expired)"
	       : info.not_yet_valid ? " (not yet valid)"
				    : "");
	printf("Key:             %s %d\n", info.key_type, info.key_bits);
	printf("Private key:     %s\n", has_key ? "stored (never shown)" : "none");
	return 0;
}

int cg_cli_cert_rm(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const struct cg_cli_rm r = { "ID", cg_store_cert_rm, CG_STORE_ERR_LEN, "certificate",
					    "", NULL };
	return cg_cli_rm(ctx, argc, argv, &r);
}

int cg_cli_ca_add(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	return add_upload(ctx, argc, argv, true);
}

/* The view of a listed CA certificate; one that does not parse says so. */
static void ca_view(const struct cg_model_ca *c, struct cg_store_cert_info *info)
{
	if (!der_info(c->der, c->der_len, info)) {
		memset(info, 0, sizeof(*info));
		snprintf(info->subject, sizeof(info->subject), "(does not parse)");
	}
}

/* APIM storeName values. */
static const char *store_name(const struct cg_model_ca *c)
{
	return c->intermediate ? "CertificateAuthority" : "Root";
}

static json_t *ca_json(const struct cg_model *m, size_t i)
{
	const struct cg_model_ca *c = &m->cas[i];
	struct cg_store_cert_info info;
	ca_view(c, &info);
	json_t *j = json_object(), *cert = json_object();
	cg_cli_jput(j, "id", json_string(c->id));
	cg_cli_jput(j, "storeName", json_string(store_name(c)));
	cg_cli_jput(cert, "subject", json_string(info.subject));
	cg_cli_jput(cert, "thumbprint", json_string(c->thumbprint));
	cg_cli_jput(cert, "expiry", json_string(info.not_after));
	cg_cli_jput(j, "certificate", cert);
	return j;
}

static void ca_row(const struct cg_model *m, size_t i, struct cg_cli_table *t)
{
	const struct cg_model_ca *c = &m->cas[i];
	struct cg_store_cert_info info;
	ca_view(c, &info);
	const char *row[] = { c->id, store_name(c), c->thumbprint, info.not_after, info.subject };
	cg_cli_table_row(t, row);
}

int cg_cli_ca_list(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const head[] = { "ID", "STORE", "THUMBPRINT", "EXPIRES", "SUBJECT" };
	static const struct cg_cli_list l = { head, 5, offsetof(struct cg_model, num_cas),
					      ca_json, ca_row };
	return cg_cli_list(ctx, argc, argv, &l);
}

int cg_cli_ca_rm(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const struct cg_cli_rm r = { "ID", cg_store_ca_rm, CG_STORE_ERR_LEN,
					    "CA certificate", "", NULL };
	return cg_cli_rm(ctx, argc, argv, &r);
}
