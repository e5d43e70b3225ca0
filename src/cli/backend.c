/* `certgate backend ...`: APIM backend entities (a URL, and how the gateway
 * talks TLS to it: a client certificate for mTLS, chain and name checks). */
#include <stdio.h>
#include <string.h>

#include "cli/cli-int.h"

int cg_cli_backend_set(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	const char *url = NULL, *client_cert = NULL;
	bool no_client_cert = false, chain = false, no_chain = false, name = false, no_name = false;
	const struct cg_cli_opt opts[] = {
		{ "--url", &url, NULL },
		{ "--client-cert", &client_cert, NULL },
		{ "--no-client-cert", NULL, &no_client_cert },
		{ "--validate-chain", NULL, &chain },
		{ "--no-validate-chain", NULL, &no_chain },
		{ "--validate-name", NULL, &name },
		{ "--no-validate-name", NULL, &no_name },
	};
	static const char *const pos[] = { "ID" };
	struct cg_cli_args a;
	PARSE_OR_HELP(ctx, argc, argv, opts, pos, 1, a);
	if (chain && no_chain)
		return cg_cli_usage_error(ctx, "--validate-chain and --no-validate-chain exclude "
					       "each other");
	if (name && no_name)
		return cg_cli_usage_error(ctx, "--validate-name and --no-validate-name exclude "
					       "each other");
	if (client_cert && no_client_cert)
		return cg_cli_usage_error(ctx, "--client-cert and --no-client-cert exclude each "
					       "other");
	struct cg_store *st = cg_cli_open(ctx, CG_CLI_OPEN_CREATE);
	if (!st)
		return CG_CLI_EXIT_FAIL;
	char err[CG_STORE_ERR_LEN];
	bool created = false;
	struct cg_store_backend_set in = {
		.id = a.pos[0],
		.url = url,
		.client_cert_id = client_cert,
		.no_client_cert = no_client_cert,
		.validate_chain = chain      ? 1
				  : no_chain ? 0
					     : -1,
		.validate_name = name      ? 1
				 : no_name ? 0
					   : -1,
		.created = &created,
	};
	int rc = cg_store_backend_set(st, &in, err, sizeof(err));
	cg_store_close(st);
	if (rc)
		return cg_cli_store_fail(err);
	printf("backend '%s' %s\n", a.pos[0], created ? "created" : "updated");
	return 0;
}

static const struct cg_model_backend *find_backend(const struct cg_model *m, const char *id)
{
	for (size_t i = 0; i < m->num_backends; i++)
		if (strcmp(m->backends[i].id, id) == 0)
			return &m->backends[i];
	return NULL;
}

/* APIM backends/{id} shape: properties.url, credentials.certificateIds,
 * tls.{validateCertificateChain, validateCertificateName}. */
static json_t *backend_json(const struct cg_model *m, size_t i)
{
	const struct cg_model_backend *b = &m->backends[i];
	json_t *j = json_object(), *p = json_object(), *cred = json_object(), *ids = json_array(),
	       *tls = json_object();
	cg_cli_jput(j, "id", json_string(b->id));
	cg_cli_jput(p, "url", json_string(b->url));
	cg_cli_jput(p, "protocol", json_string("http"));
	if (b->client_cert_id)
		cg_cli_jappend(ids, json_string(b->client_cert_id));
	cg_cli_jput(cred, "certificateIds", ids);
	cg_cli_jput(p, "credentials", cred);
	cg_cli_jput(tls, "validateCertificateChain", json_boolean(b->validate_chain));
	cg_cli_jput(tls, "validateCertificateName", json_boolean(b->validate_name));
	cg_cli_jput(p, "tls", tls);
	cg_cli_jput(j, "properties", p);
	return j;
}

static void backend_row(const struct cg_model *m, size_t i, struct cg_cli_table *t)
{
	const struct cg_model_backend *b = &m->backends[i];
	const char *row[] = { b->id, b->url, b->client_cert_id ? b->client_cert_id : "-",
			      b->validate_chain ? "validate" : "no",
			      b->validate_name ? "validate" : "no" };
	cg_cli_table_row(t, row);
}

int cg_cli_backend_list(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const head[] = { "ID", "URL", "CLIENT-CERT", "CHAIN", "NAME" };
	static const struct cg_cli_list l = { head, 5, offsetof(struct cg_model, num_backends),
					      backend_json, backend_row };
	return cg_cli_list(ctx, argc, argv, &l);
}

static int backend_show(const struct cg_model *m, const char *const *pos, bool json)
{
	const struct cg_model_backend *b = find_backend(m, pos[0]);
	if (!b)
		return cg_cli_fail("backend '%s' does not exist", pos[0]);
	if (json)
		return cg_cli_json_print(backend_json(m, (size_t)(b - m->backends)));
	printf("ID:                %s\n", b->id);
	printf("URL:               %s\n", b->url);
	printf("Client cert:       %s\n", b->client_cert_id ? b->client_cert_id : "none");
	printf("Validate chain:    %s\n", b->validate_chain ? "yes" : "no");
	printf("Validate name:     %s\n", b->validate_name ? "yes" : "no");
	return 0;
}

int cg_cli_backend_show(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const pos[] = { "ID" };
	return cg_cli_model_cmd(ctx, argc, argv, pos, 1, backend_show);
}

int cg_cli_backend_rm(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const struct cg_cli_rm r = { "ID", cg_store_backend_rm, CG_STORE_ERR_LEN, "backend",
					    "", NULL };
	return cg_cli_rm(ctx, argc, argv, &r);
}
