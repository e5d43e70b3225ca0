/* `certgate host ...`: gateway hostnames with their server certificate.
 * Private keys go from the file into the store and nowhere else: they are
 * never printed, and the file buffer is wiped after use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli-int.h"
#include "store/cert.h"
#include "store/validate.h"

int cg_cli_host_set(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	const char *cert_path = NULL, *key_path = NULL;
	bool negotiate = false, no_negotiate = false, make_default = false;
	const struct cg_cli_opt opts[] = {
		{ "--cert", &cert_path, NULL },
		{ "--key", &key_path, NULL },
		{ "--negotiate-client-certificate", NULL, &negotiate },
		{ "--no-negotiate-client-certificate", NULL, &no_negotiate },
		{ "--default", NULL, &make_default },
	};
	static const char *const pos[] = { "NAME" };
	struct cg_cli_args a;
	int rc = cg_cli_parse(ctx, argc, argv, opts, sizeof(opts) / sizeof(opts[0]), pos, 1, &a);
	if (rc || a.help) {
		if (a.help)
			cg_cli_command_help(ctx->cmd);
		return rc;
	}
	if (negotiate && no_negotiate)
		return cg_cli_usage_error(ctx,
					  "--negotiate-client-certificate and "
					  "--no-negotiate-client-certificate exclude each other");
	char *cert = NULL, *key = NULL;
	if (cert_path && (rc = cg_cli_read_file("--cert", cert_path, &cert)))
		return rc;
	if (key_path && (rc = cg_cli_read_file("--key", key_path, &key))) {
		free(cert);
		return rc;
	}
	struct cg_store *st = cg_cli_open(ctx, CG_CLI_OPEN_CREATE);
	if (!st) {
		free(cert);
		cg_cli_free_secret(key);
		return CG_CLI_EXIT_FAIL;
	}
	char err[CG_STORE_ERR_LEN], warn[CG_STORE_ERR_LEN];
	bool created = false;
	struct cg_store_host_set in = {
		.name = a.pos[0],
		.cert_pem = cert,
		.key_pem = key,
		.negotiate_client_certificate = negotiate      ? 1
						: no_negotiate ? 0
							       : -1,
		.make_default = make_default,
		.warn = warn,
		.warnlen = sizeof(warn),
		.created = &created,
	};
	int src = cg_store_host_set(st, &in, err, sizeof(err));
	free(cert);
	cg_cli_free_secret(key);
	if (src) {
		cg_store_close(st);
		return cg_cli_store_fail(err);
	}
	if (warn[0])
		cg_cli_warn("%s", warn);
	/* Say what the stored row is now, including a default that moved. */
	char name[CG_STORE_MAX_HOSTNAME_LEN + 1];
	cg_store_check_hostname(a.pos[0], name, err, sizeof(err));
	struct cg_model m;
	bool is_default = false;
	if (cg_store_load_model(st, &m, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < m.num_hosts; i++)
			if (strcmp(m.hosts[i].name, name) == 0)
				is_default = m.hosts[i].is_default;
		cg_model_free(&m);
	}
	cg_store_close(st);
	printf("hostname '%s' %s%s\n", name, created ? "created" : "updated",
	       is_default ? " (default hostname)" : "");
	return 0;
}

static json_t *host_json(const struct cg_model *m, size_t i)
{
	const struct cg_model_host *h = &m->hosts[i];
	json_t *o = json_object();
	cg_cli_jput(o, "hostName", json_string(h->name));
	cg_cli_jput(o, "defaultSslBinding", json_boolean(h->is_default));
	cg_cli_jput(o, "negotiateClientCertificate", json_boolean(h->negotiate_client_certificate));
	struct cg_store_cert_info *ci = malloc(sizeof(*ci));
	char err[CG_STORE_ERR_LEN];
	if (!ci) {
		cg_cli_jput(o, "certificate", NULL);
		return o;
	}
	if (cg_store_cert_describe(h->cert_pem, ci, err, sizeof(err)) != 0) {
		cg_cli_jput(o, "certificateError", json_string(err));
		free(ci);
		return o;
	}
	json_t *c = json_object();
	cg_cli_jput(c, "subject", json_string(ci->subject));
	cg_cli_jput(c, "issuer", json_string(ci->issuer));
	cg_cli_jput(c, "thumbprint", json_string(ci->thumbprint));
	cg_cli_jput(c, "notBefore", json_string(ci->not_before));
	cg_cli_jput(c, "expirationDate", json_string(ci->not_after));
	cg_cli_jput(c, "expired", json_boolean(ci->expired));
	json_t *sans = json_array();
	for (size_t k = 0; k < ci->num_sans; k++)
		cg_cli_jappend(sans, json_string(ci->sans[k]));
	cg_cli_jput(c, "subjectAlternativeNames", sans);
	cg_cli_jput(c, "keyType", json_string(ci->key_type));
	cg_cli_jput(c, "keyBits", json_integer(ci->key_bits));
	cg_cli_jput(c, "chainLength", json_integer((json_int_t)ci->chain_len));
	cg_cli_jput(o, "certificate", c);
	free(ci);
	return o;
}

static void host_row(const struct cg_model *m, size_t i, struct cg_cli_table *t)
{
	const struct cg_model_host *h = &m->hosts[i];
	struct cg_store_cert_info *ci = malloc(sizeof(*ci));
	char err[CG_STORE_ERR_LEN], expires[CG_STORE_TIME_LEN + 16];
	if (!ci) {
		t->failed = true;
		return;
	}
	if (cg_store_cert_describe(h->cert_pem, ci, err, sizeof(err)) != 0) {
		memset(ci, 0, sizeof(*ci));
		snprintf(ci->subject, sizeof(ci->subject), "(unreadable: %s)", err);
	}
	snprintf(expires, sizeof(expires), "%s%s", ci->not_after, ci->expired ? " (expired)" : "");
	const char *row[] = { h->name,
			      h->is_default ? "yes" : "no",
			      h->negotiate_client_certificate ? "yes" : "no",
			      expires,
			      ci->thumbprint,
			      ci->subject };
	cg_cli_table_row(t, row);
	free(ci);
}

int cg_cli_host_list(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const head[] = { "NAME",    "DEFAULT",    "NEGOTIATE-CLIENT-CERT",
					    "EXPIRES", "THUMBPRINT", "SUBJECT" };
	static const struct cg_cli_list l = { head, 6, offsetof(struct cg_model, num_hosts),
					      host_json, host_row };
	return cg_cli_list(ctx, argc, argv, &l);
}

int cg_cli_host_show(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	bool json = false;
	const struct cg_cli_opt opts[] = { { "--json", NULL, &json } };
	static const char *const pos[] = { "NAME" };
	struct cg_cli_args a;
	PARSE_OR_HELP(ctx, argc, argv, opts, pos, 1, a);
	char name[CG_STORE_MAX_HOSTNAME_LEN + 1], err[CG_STORE_ERR_LEN];
	if (cg_store_check_hostname(a.pos[0], name, err, sizeof(err)) != 0)
		return cg_cli_fail("%s", err);
	struct cg_store *st;
	struct cg_model m;
	int rc = cg_cli_load(ctx, &st, &m);
	if (rc)
		return rc;
	const struct cg_model_host *h = NULL;
	for (size_t i = 0; i < m.num_hosts; i++)
		if (strcmp(m.hosts[i].name, name) == 0)
			h = &m.hosts[i];
	if (!h) {
		rc = cg_cli_fail("hostname '%s' does not exist", name);
	} else if (json) {
		rc = cg_cli_json_print(host_json(&m, (size_t)(h - m.hosts)));
	} else {
		struct cg_store_cert_info *ci = malloc(sizeof(*ci));
		if (!ci) {
			rc = cg_cli_fail("out of memory");
		} else if (cg_store_cert_describe(h->cert_pem, ci, err, sizeof(err)) != 0) {
			rc = cg_cli_fail("hostname '%s': stored certificate: %s", name, err);
		} else {
			printf("Hostname:                      %s\n", h->name);
			printf("Default:                       %s\n", h->is_default ? "yes" : "no");
			printf("Negotiate client certificate:  %s\n",
			       h->negotiate_client_certificate ? "yes" : "no");
			printf("Subject:                       %s\n", ci->subject);
			printf("Issuer:                        %s\n", ci->issuer);
			printf("Thumbprint:                    %s\n", ci->thumbprint);
			printf("Not before:                    %s%s\n", ci->not_before,
			       ci->not_yet_valid ? " (not yet valid)" : "");
			printf("Expiration date:               %s%s\n", ci->not_after,
			       ci->expired ? " (expired)" : "");
			printf("Subject alternative names:     ");
			for (size_t i = 0; i < ci->num_sans; i++)
				printf("%s%s", i ? ", " : "", ci->sans[i]);
			printf("%s\n",
			       ci->num_sans ? (ci->sans_truncated ? ", ..." : "") : "(none)");
			printf("Key:                           %s %d bits\n", ci->key_type,
			       ci->key_bits);
			printf("Chain length:                  %zu\n", ci->chain_len);
		}
		free(ci);
	}
	cg_model_free(&m);
	cg_store_close(st);
	return rc;
}

/* Hostnames are stored lowercase: rm says which one went. */
static void stored_hostname(const char *given, char *out, size_t outlen)
{
	char err[CG_STORE_ERR_LEN];
	out[0] = '\0';
	if (outlen > CG_STORE_MAX_HOSTNAME_LEN) /* what check_hostname writes */
		cg_store_check_hostname(given, out, err, sizeof(err));
}

int cg_cli_host_rm(struct cg_cli_ctx *ctx, int argc, char **argv)
{
	static const struct cg_cli_rm r = { "NAME", cg_store_host_rm, CG_STORE_ERR_LEN, "hostname",
					    "", stored_hostname };
	return cg_cli_rm(ctx, argc, argv, &r);
}
