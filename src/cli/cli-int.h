/* Helpers shared by the CLI's command files (not for other modules). */
#ifndef CG_CLI_CLI_INT_H
#define CG_CLI_CLI_INT_H

#include <jansson.h>

#include "cli/cli-t.h"
#include "cli/cli.h"
#include "store/store.h"

/* A refused removal may name every user of the item. */
#define CG_CLI_RM_ERR_LEN (4 * CG_STORE_ERR_LEN)
/* A name as shown after rm (a hostname, lowercased). */
#define CG_CLI_NAME_LEN (CG_STORE_MAX_HOSTNAME_LEN + 1)

/* Prints "certgate: <cmd>: <msg>" and a hint to --help; returns
 * CG_CLI_EXIT_USAGE. */
int cg_cli_usage_error(const struct cg_cli_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prints "certgate: <msg>"; returns CG_CLI_EXIT_FAIL. */
int cg_cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "certgate: warning: <msg>". */
void cg_cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a command's argv (argv[0] is the last command word) against opts.
 * pos_names names the positional arguments (exactly that many are needed).
 * "--" ends options. Besides opts, every command takes --store FILE (after
 * them, as if it were the last of opts): it sets ctx->store_path once the
 * whole line parsed. Refuses unknown options, a missing or repeated value,
 * and a wrong positional count. Returns 0, or CG_CLI_EXIT_USAGE after
 * printing why. out->help is set for --help/-h (other checks are skipped). */
int cg_cli_parse(struct cg_cli_ctx *ctx, int argc, char **argv, const struct cg_cli_opt *opts,
		 size_t num_opts, const char *const *pos_names, size_t num_pos,
		 struct cg_cli_args *out);

/* As cg_cli_parse, but between min_pos and max_pos positionals are
 * accepted (out->num_pos says how many came). */
int cg_cli_parse_range(struct cg_cli_ctx *ctx, int argc, char **argv, const struct cg_cli_opt *opts,
		       size_t num_opts, const char *const *pos_names, size_t min_pos,
		       size_t max_pos, struct cg_cli_args *out);

/* Parses a command's arguments, or prints its help; returns from the
 * calling command with the exit code in either case. */
#define PARSE_N_OR_HELP(ctx, argc, argv, opts, num_opts, pos, npos, a)                             \
	do {                                                                                       \
		int prc_ = cg_cli_parse(ctx, argc, argv, opts, num_opts, pos, npos, &(a));         \
		if (prc_ || (a).help) {                                                            \
			if ((a).help)                                                              \
				cg_cli_command_help((ctx)->cmd);                                   \
			return prc_;                                                               \
		}                                                                                  \
	} while (0)
/* The same with opts an array. */
#define PARSE_OR_HELP(ctx, argc, argv, opts, pos, npos, a)                                         \
	PARSE_N_OR_HELP(ctx, argc, argv, opts, sizeof(opts) / sizeof(opts[0]), pos, npos, a)

/* Prints a multi-line store message to stderr: the first line as
 * "certgate: ...", then each line. A diagnostic line that is a position in
 * file ("3:14: ...", or "fragment 'FRAG_ID' 3:14: ..." when file holds
 * that fragment) is printed as "file:3:14: ..."; other lines as they are.
 * file and frag_id may be NULL. */
void cg_cli_print_diag_message(const char *msg, const char *file, const char *frag_id);
/* The same for lines without a heading (the warnings of a write). */
void cg_cli_print_diag_lines(const char *lines, const char *file, const char *frag_id);

/* Prints the --help text of a command ("host set") to stdout. */
void cg_cli_command_help(const char *cmd);

/* Reads a file named by option opt into a malloc'd NUL-terminated string
 * ("-" reads standard input).
 * Refuses unreadable files, files over CG_CLI_MAX_FILE_BYTES and files with
 * NUL bytes, naming the option and the path. Returns 0 or
 * CG_CLI_EXIT_FAIL (printed). */
int cg_cli_read_file(const char *opt, const char *path, char **out);
/* Reads any file (binary too; "-" = stdin) into a malloc'd buffer of *len
 * bytes plus a NUL, under CG_CLI_MAX_FILE_BYTES. Returns 0 or
 * CG_CLI_EXIT_FAIL (printed). */
int cg_cli_read_bytes(const char *opt, const char *path, unsigned char **out, size_t *len);
/* Wipes and frees a string that held a secret (a key file). */
void cg_cli_free_secret(char *s);

/* Opens ctx->store_path, printing why on failure (then NULL). */
struct cg_store *cg_cli_open(const struct cg_cli_ctx *ctx, enum cg_cli_open_mode mode);
/* Opens the store read-only and loads the model; on failure prints why and
 * returns CG_CLI_EXIT_FAIL (nothing to release then). */
int cg_cli_load(const struct cg_cli_ctx *ctx, struct cg_store **st, struct cg_model *m);
/* Maps a store failure to an exit code after printing its message. */
int cg_cli_store_fail(const char *err);

/* Tables: head holds num_cols column titles. */
void cg_cli_table_init(struct cg_cli_table *t, size_t num_cols, const char *const *head);
/* Adds a row of num_cols cells (copied). */
void cg_cli_table_row(struct cg_cli_table *t, const char *const *cells);
/* Prints the header and rows with aligned columns; returns 0 or
 * CG_CLI_EXIT_FAIL when the table could not be built. Frees the table. */
int cg_cli_table_print(struct cg_cli_table *t);

/* Add v to an object / array, taking ownership of v. A failure (NULL
 * argument, out of memory) is remembered and makes cg_cli_json_print fail. */
void cg_cli_jput(json_t *obj, const char *key, json_t *v);
void cg_cli_jappend(json_t *arr, json_t *v);

/* Prints j as indented JSON plus a newline and releases it. A NULL j (or an
 * earlier failed jput/jappend) means building it ran out of memory. Returns 0 or CG_CLI_EXIT_FAIL. */
int cg_cli_json_print(json_t *j);

/* `X list [--json]` (no positionals): parses --json and --store, loads the
 * model read-only and prints l's collection as an aligned table or an
 * indented JSON array. Returns the exit code. */
int cg_cli_list(struct cg_cli_ctx *ctx, int argc, char **argv, const struct cg_cli_list *l);

/* `X show ID [--json]` and the like: parses --json, --store and num_pos
 * positionals named pos_names, loads the model read-only, runs fn on it and
 * releases the model. Returns fn's exit code (or the parse's or the load's). */
int cg_cli_model_cmd(struct cg_cli_ctx *ctx, int argc, char **argv, const char *const *pos_names,
		     size_t num_pos, cg_cli_model_fn fn);

/* A command whose only options are the common ones: parses the num_pos
 * positionals named pos_names, opens the store in mode, runs fn on it and
 * closes it. Returns fn's exit code (or the parse's or the open's). */
int cg_cli_store_cmd(struct cg_cli_ctx *ctx, int argc, char **argv, const char *const *pos_names,
		     size_t num_pos, enum cg_cli_open_mode mode, cg_cli_store_fn fn);

/* `X rm NAME`: parses --store and the one positional, opens the store for
 * writing (it must exist), runs r->rm and prints r's message. Returns the
 * exit code; a store refusal is printed as the store words it. */
int cg_cli_rm(struct cg_cli_ctx *ctx, int argc, char **argv, const struct cg_cli_rm *r);

/* Commands. */
/* An option's "true"/"false" value: *out 1 or 0, -1 when value is NULL
 * (not given). Anything else is a usage error (its exit status returned). */
int cg_cli_parse_bool(const struct cg_cli_ctx *ctx, const char *opt, const char *value, int *out);

int cg_cli_product_set(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_product_list(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_product_show(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_product_rm(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_product_add_api(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_product_rm_api(struct cg_cli_ctx *ctx, int argc, char **argv);

int cg_cli_host_set(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_host_list(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_host_show(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_host_rm(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_api_set(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_api_list(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_api_show(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_api_rm(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_op_set(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_op_list(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_op_show(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_op_rm(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_policy_set(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_policy_show(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_policy_rm(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_policy_list(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_policy_check(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_nv_set(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_nv_list(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_nv_show(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_nv_rm(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_fragment_set(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_fragment_list(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_fragment_show(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_fragment_rm(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_cert_add(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_cert_list(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_cert_show(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_cert_rm(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_ca_add(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_ca_list(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_ca_rm(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_crl_add(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_crl_list(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_crl_rm(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_backend_set(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_backend_list(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_backend_show(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_backend_rm(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_sub_set(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_sub_list(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_sub_show(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_sub_keys(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_sub_regenerate(struct cg_cli_ctx *ctx, int argc, char **argv);
int cg_cli_sub_rm(struct cg_cli_ctx *ctx, int argc, char **argv);

#endif
