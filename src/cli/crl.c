/* `certgate crl add|list|rm`: certificate revocation lists for uploaded CAs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli-int.h"
#include "store/store.h"

int cg_cli_crl_add(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const pos[] = { "ID", "FILE" };
	struct cg_cli_args a;
	PARSE_N_OR_HELP(ctx, argc, argv, NULL, 0, pos, 2, a);
	unsigned char *data;
	size_t len;
	int rc;
	if ((rc = cg_cli_read_bytes("CRL", a.pos[1], &data, &len)))
		return rc;
	struct cg_store *st = cg_cli_open(ctx, CG_CLI_OPEN_WRITE);
	if (!st) {
		free(data);
		return CG_CLI_EXIT_FAIL;
	}
	char err[CG_STORE_ERR_LEN], warn[CG_STORE_ERR_LEN];
	rc = cg_store_crl_add(st, a.pos[0], data, len, warn, sizeof(warn), err, sizeof(err));
	free(data);
	cg_store_close(st);
	if (rc)
		return cg_cli_store_fail(err);
	if (warn[0])
		cg_cli_warn("%s", warn);
	printf("CRL '%s' stored\n", a.pos[0]);
	return 0;
}

static json_t *crl_json(const struct cg_model *m, size_t i)
{
	const struct cg_model_crl *c = &m->crls[i];
	return json_pack("{s:s,s:s,s:s}", "id", c->id, "issuer", c->issuer, "nextUpdate",
			 c->next_update);
}

static void crl_row(const struct cg_model *m, size_t i, struct cg_cli_table *t)
{
	const struct cg_model_crl *c = &m->crls[i];
	const char *row[] = { c->id, c->next_update, c->issuer };
	cg_cli_table_row(t, row);
}

int cg_cli_crl_list(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const head[] = { "ID", "NEXT-UPDATE", "ISSUER" };
	static const struct cg_cli_list l = { head, 3, offsetof(struct cg_model, num_crls),
					      crl_json, crl_row };
	return cg_cli_list(ctx, argc, argv, &l);
}

int cg_cli_crl_rm(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const struct cg_cli_rm r = { "ID", cg_store_crl_rm, CG_STORE_ERR_LEN, "CRL", "",
					    NULL };
	return cg_cli_rm(ctx, argc, argv, &r);
}
