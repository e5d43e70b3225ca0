/* Types shared by the CLI's command files. */
#ifndef CG_CLI_CLI_T_H
#define CG_CLI_CLI_T_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"

#define CG_CLI_MAX_POSITIONAL 4             /* positional arguments of any command */
#define CG_CLI_MAX_FILE_BYTES (1024 * 1024) /* a --cert or --key file */
#define CG_CLI_MAX_COLS       8             /* columns of a table */
#define CG_CLI_MAX_ROWS       100000        /* rows of a table (above every store limit) */
#define CG_CLI_MAX_OPTS       16            /* options of one command */
#define CG_CLI_MAX_VERB_LEN   16            /* "list", "show": longer words are unknown anyway */
#define CG_CLI_MSG_LEN        2048          /* one message line on stderr */

/* One option of a command: a flag (sets *flag) or an option with a value
 * (sets *value; "--name VALUE" or "--name=VALUE"). */
struct cg_cli_opt {
	const char *name; /* "--cert" */
	const char **value;
	bool *flag;
};

/* A parsed command line of one command. */
struct cg_cli_args {
	const char *pos[CG_CLI_MAX_POSITIONAL];
	size_t num_pos;
	bool help;
};

/* What every command gets. */
struct cg_cli_ctx {
	const char *store_path;
	const char *cmd; /* "host set", for messages */
};

/* An aligned text table built row by row; cells live in the arena. */
struct cg_cli_table {
	struct cg_arena arena;
	size_t num_cols;
	const char *head[CG_CLI_MAX_COLS];
	const char ***rows;
	size_t num_rows, cap_rows;
	bool failed; /* out of memory or over CG_CLI_MAX_ROWS */
};

/* How a command opens the store. */
enum cg_cli_open_mode {
	CG_CLI_OPEN_CREATE, /* "set": create the store file if it is missing */
	CG_CLI_OPEN_READ,   /* list/show: read-only, must exist */
	CG_CLI_OPEN_WRITE,  /* rm: read-write, must exist (never create a file to fail in) */
};

typedef int (*cg_cli_cmd_fn)(struct cg_cli_ctx *ctx, int argc, char **argv);

/* ---- the shapes that list, show and rm commands share (util.c) ---- */

struct cg_model;
struct cg_store;
struct json_t;

/* Item i as JSON: a new reference (NULL: out of memory, which fails the print). */
typedef struct json_t *(*cg_cli_item_json_fn)(const struct cg_model *m, size_t i);
/* Adds item i's row to t (cells are copied, so they may live on the stack). */
typedef void (*cg_cli_item_row_fn)(const struct cg_model *m, size_t i, struct cg_cli_table *t);

/* `X list [--json]`: one collection of the model as a table or a JSON
 * array. Its size is found as nginx's command tables find a setting: by
 * the offset of the count in struct cg_model. */
struct cg_cli_list {
	const char *const *head; /* column titles */
	size_t num_cols;
	size_t count_at; /* offsetof(struct cg_model, num_...) */
	cg_cli_item_json_fn json;
	cg_cli_item_row_fn row;
};

/* The work of a command on the loaded model: pos are its positionals;
 * returns the exit code (after printing). */
typedef int (*cg_cli_model_fn)(const struct cg_model *m, const char *const *pos, bool json);

/* The work of a command on the open store: pos are its positionals;
 * returns the exit code (after printing). */
typedef int (*cg_cli_store_fn)(struct cg_store *st, const char *const *pos);

/* A store removal of one named item (cg_store_api_rm and its likes). */
typedef int (*cg_cli_rm_fn)(struct cg_store *st, const char *id, char *err, size_t errlen);
/* The name as stored, for the message (a hostname in lowercase), into
 * out of CG_CLI_NAME_LEN bytes. */
typedef void (*cg_cli_name_fn)(const char *given, char *out, size_t outlen);

/* `X rm NAME`: prints "<what> '<name>' removed<suffix>" once rm succeeded. */
struct cg_cli_rm {
	const char *pos_name; /* "ID", "NAME": for usage messages */
	cg_cli_rm_fn rm;
	size_t errlen; /* rm's message buffer: CG_STORE_ERR_LEN, or up to CG_CLI_RM_ERR_LEN */
	const char *what;
	const char *suffix;  /* "" or more words */
	cg_cli_name_fn name; /* NULL: the name as given */
};

#endif
