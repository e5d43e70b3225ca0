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

int cg_cli_crl_list(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	bool json = false;
	const struct cg_cli_opt opts[] = { { "--json", NULL, &json } };
	struct cg_cli_args a;
	PARSE_OR_HELP(ctx, argc, argv, opts, NULL, 0, a);
	struct cg_store *st;
	struct cg_model m;
	int rc = cg_cli_load(ctx, &st, &m);
	if (rc)
		return rc;
	static const char *const head[] = { "ID", "NEXT-UPDATE", "ISSUER" };
	struct cg_cli_table t;
	json_t *arr = json ? json_array() : NULL;
	if (!json)
		cg_cli_table_init(&t, 3, head);
	for (size_t i = 0; i < m.num_crls; i++) {
		const struct cg_model_crl *c = &m.crls[i];
		if (json) {
			json_t *j = json_object();
			cg_cli_jput(j, "id", json_string(c->id));
			cg_cli_jput(j, "issuer", json_string(c->issuer));
			cg_cli_jput(j, "nextUpdate", json_string(c->next_update));
			cg_cli_jappend(arr, j);
		} else {
			const char *row[] = { c->id, c->next_update, c->issuer };
			cg_cli_table_row(&t, row);
		}
	}
	rc = json ? cg_cli_json_print(arr) : cg_cli_table_print(&t);
	cg_model_free(&m);
	cg_store_close(st);
	return rc;
}

int cg_cli_crl_rm(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const pos[] = { "ID" };
	struct cg_cli_args a;
	PARSE_N_OR_HELP(ctx, argc, argv, NULL, 0, pos, 1, a);
	struct cg_store *st = cg_cli_open(ctx, CG_CLI_OPEN_WRITE);
	if (!st)
		return CG_CLI_EXIT_FAIL;
	char err[CG_STORE_ERR_LEN];
	int rc = cg_store_crl_rm(st, a.pos[0], err, sizeof(err));
	cg_store_close(st);
	if (rc)
		return cg_cli_store_fail(err);
	printf("CRL '%s' removed\n", a.pos[0]);
	return 0;
}
