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

#endif
