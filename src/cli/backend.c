/* `certgate backend ...`: APIM backend entities (a URL, and how the gateway
 * talks TLS to it: a client certificate for mTLS, chain and name checks; a
 * circuit breaker), and pools of them (docs/backend-pools.md). */
#include <stdio.h>
#include <string.h>

#include "cli/cli-int.h"
#include "store/breaker.h"

/* One "--pool" element, ID[:PRIORITY[:WEIGHT]], into m (the id is copied
 * into idbuf). Returns 0, or -1 with a message in err. */
static int pool_elem(struct cg_str e, struct cg_model_pool_member *m, char *idbuf, size_t idlen,
		     char *err, size_t errlen)
{
	struct cg_str rest = e, part[3] = { { 0 } };
	size_t n = 0;
	while (n < 3) {
		long c = cg_str_find_char(rest, ':');
		part[n++] = c < 0 ? rest : cg_str_sub(rest, 0, (size_t)c);
		if (c < 0)
			break;
		rest = cg_str_sub(rest, (size_t)c + 1, rest.len - (size_t)c - 1);
		if (n == 3) {
			snprintf(err, errlen, "--pool '%.*s': give ID[:PRIORITY[:WEIGHT]]", CG_STR_FMT(e));
			return -1;
		}
	}
	uint64_t v[2] = { 0, 0 };
	static const char *const what[] = { "priority", "weight" };
	for (size_t k = 1; k < n; k++)
		if (!cg_str_to_u64(part[k], 100, &v[k - 1])) {
			snprintf(err, errlen, "--pool '%.*s': %s must be a number from 0 to 100",
				 CG_STR_FMT(e), what[k - 1]);
			return -1;
		}
	snprintf(idbuf, idlen, "%.*s", CG_STR_FMT(part[0]));
	m->backend_id = idbuf;
	m->priority = n > 1 ? (int)v[0] : -1;
	m->weight = n > 2 ? (int)v[1] : -1;
	return 0;
}

/* --pool's comma-separated members into in. */
static int parse_pool(const char *text, struct cg_store_backend_set *in, struct cg_model_pool_member *m,
		      char (*ids)[CG_STORE_MAX_ID_LEN + 1], char *err, size_t errlen)
{
	struct cg_str rest = cg_str_from_c(text), e;
	size_t n = 0;
	while (cg_str_next_csv(&rest, &e)) {
		if (n == CG_STORE_MAX_POOL_MEMBERS) {
			snprintf(err, errlen, "--pool: at most %d members", CG_STORE_MAX_POOL_MEMBERS);
			return -1;
		}
		if (pool_elem(e, &m[n], ids[n], sizeof(ids[n]), err, errlen))
			return -1;
		n++;
	}
	in->is_pool = 1;
	in->members = m;
	in->num_members = n;
	return 0;
}

/* The options that exclude each other, or NULL. */
static const char *set_conflict(bool chain, bool no_chain, bool name, bool no_name, const char *cert,
				bool no_cert)
{
	if (chain && no_chain)
		return "--validate-chain and --no-validate-chain exclude each other";
	if (name && no_name)
		return "--validate-name and --no-validate-name exclude each other";
	if (cert && no_cert)
		return "--client-cert and --no-client-cert exclude each other";
	return NULL;
}

static int backend_write(struct cg_cli_ctx *ctx, struct cg_store_backend_set *in)
{
	struct cg_store *st = cg_cli_open(ctx, CG_CLI_OPEN_CREATE);
	if (!st)
		return CG_CLI_EXIT_FAIL;
	char err[CG_STORE_ERR_LEN];
	bool created = false;
	in->created = &created;
	int rc = cg_store_backend_set(st, in, err, sizeof(err));
	cg_store_close(st);
	if (rc)
		return cg_cli_store_fail(err);
	printf("backend '%s' %s\n", in->id, created ? "created" : "updated");
	return 0;
}

int cg_cli_backend_set(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	const char *url = NULL, *client_cert = NULL, *pool = NULL, *breaker = NULL;
	bool no_client_cert = false, chain = false, no_chain = false, name = false, no_name = false;
	bool no_pool = false, no_breaker = false;
	const struct cg_cli_opt opts[] = {
		{ "--url", &url, NULL },
		{ "--client-cert", &client_cert, NULL },
		{ "--no-client-cert", NULL, &no_client_cert },
		{ "--validate-chain", NULL, &chain },
		{ "--no-validate-chain", NULL, &no_chain },
		{ "--validate-name", NULL, &name },
		{ "--no-validate-name", NULL, &no_name },
		{ "--pool", &pool, NULL },
		{ "--no-pool", NULL, &no_pool },
		{ "--circuit-breaker", &breaker, NULL },
		{ "--no-circuit-breaker", NULL, &no_breaker },
	};
	static const char *const pos[] = { "ID" };
	struct cg_cli_args a;
	PARSE_OR_HELP(ctx, argc, argv, opts, pos, 1, a);
	const char *conflict = set_conflict(chain, no_chain, name, no_name, client_cert, no_client_cert);
	if (!conflict && pool && no_pool)
		conflict = "--pool and --no-pool exclude each other";
	if (!conflict && breaker && no_breaker)
		conflict = "--circuit-breaker and --no-circuit-breaker exclude each other";
	if (conflict)
		return cg_cli_usage_error(ctx, "%s", conflict);
	struct cg_model_pool_member members[CG_STORE_MAX_POOL_MEMBERS];
	char ids[CG_STORE_MAX_POOL_MEMBERS][CG_STORE_MAX_ID_LEN + 1], err[256];
	struct cg_store_backend_set in = {
		.id = a.pos[0],
		.url = url,
		.client_cert_id = client_cert,
		.no_client_cert = no_client_cert,
		.validate_chain = chain ? 1 : no_chain ? 0 : -1,
		.validate_name = name ? 1 : no_name ? 0 : -1,
		.is_pool = no_pool ? 0 : -1,
		.breaker_json = no_breaker ? "" : breaker,
	};
	if (pool && parse_pool(pool, &in, members, ids, err, sizeof(err)))
		return cg_cli_usage_error(ctx, "%s", err);
	return backend_write(ctx, &in);
}

static const struct cg_model_backend *find_backend(const struct cg_model *m, const char *id)
{
	for (size_t i = 0; i < m->num_backends; i++)
		if (strcmp(m->backends[i].id, id) == 0)
			return &m->backends[i];
	return NULL;
}

/* APIM backends/{id} shape: properties.url, credentials.certificateIds,
 * tls.{validateCertificateChain, validateCertificateName}, circuitBreaker;
 * a pool: type Pool and pool.services. */
static json_t *backend_json(const struct cg_model *m, size_t i)
{
	const struct cg_model_backend *b = &m->backends[i];
	json_t *j = json_object(), *p = json_object();
	cg_cli_jput(j, "id", json_string(b->id));
	cg_cli_jput(p, "protocol", json_string("http"));
	if (b->members) {
		cg_cli_jput(p, "type", json_string("Pool"));
		cg_cli_jput(p, "pool", cg_store_pool_to_json(b->members, b->num_members));
		cg_cli_jput(j, "properties", p);
		return j;
	}
	json_t *cred = json_object(), *ids = json_array(), *tls = json_object();
	cg_cli_jput(p, "url", json_string(b->url));
	if (b->client_cert_id)
		cg_cli_jappend(ids, json_string(b->client_cert_id));
	cg_cli_jput(cred, "certificateIds", ids);
	cg_cli_jput(p, "credentials", cred);
	cg_cli_jput(tls, "validateCertificateChain", json_boolean(b->validate_chain));
	cg_cli_jput(tls, "validateCertificateName", json_boolean(b->validate_name));
	cg_cli_jput(p, "tls", tls);
	if (b->breaker_json)
		cg_cli_jput(p, "circuitBreaker", json_loads(b->breaker_json, 0, NULL));
	cg_cli_jput(j, "properties", p);
	return j;
}

/* "b1 (priority 1, weight 3), b2" into out. */
static void members_text(const struct cg_model_backend *b, char *out, size_t outlen)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t k = 0; k < b->num_members && used < outlen; k++) {
		const struct cg_model_pool_member *pm = &b->members[k];
		used += (size_t)snprintf(out + used, outlen - used, "%s%s:%d:%d", k ? "," : "",
					 pm->backend_id, pm->priority < 0 ? 0 : pm->priority,
					 pm->weight < 0 ? 1 : pm->weight);
	}
}

static void backend_row(const struct cg_model *m, size_t i, struct cg_cli_table *t)
{
	const struct cg_model_backend *b = &m->backends[i];
	char pool[1024];
	members_text(b, pool, sizeof(pool));
	const char *row[] = { b->id, b->members ? "pool" : b->url,
			      b->client_cert_id ? b->client_cert_id : "-",
			      b->members ? "-" : b->validate_chain ? "validate" : "no",
			      b->members ? "-" : b->validate_name ? "validate" : "no",
			      b->breaker ? "yes" : "-", b->members ? pool : "-" };
	cg_cli_table_row(t, row);
}

int cg_cli_backend_list(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const head[] = { "ID", "URL", "CLIENT-CERT", "CHAIN", "NAME", "BREAKER", "POOL" };
	static const struct cg_cli_list l = { head, 7, offsetof(struct cg_model, num_backends),
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
	if (b->members) {
		char pool[1024];
		members_text(b, pool, sizeof(pool));
		printf("Type:              pool\n");
		printf("Members:           %s (ID:PRIORITY:WEIGHT)\n", pool);
		return 0;
	}
	printf("URL:               %s\n", b->url);
	printf("Client cert:       %s\n", b->client_cert_id ? b->client_cert_id : "none");
	printf("Validate chain:    %s\n", b->validate_chain ? "yes" : "no");
	printf("Validate name:     %s\n", b->validate_name ? "yes" : "no");
	printf("Circuit breaker:   %s\n", b->breaker_json ? b->breaker_json : "none");
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
