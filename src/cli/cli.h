/* The certgate command line: `certgate [--store FILE] COMMAND ...`.
 * Owns argument parsing, output (aligned tables or JSON) and exit codes;
 * every change goes through the store module, `serve` through src/gw/. */
#ifndef CG_CLI_CLI_H
#define CG_CLI_CLI_H

/* Exit codes of every command. */
#define CG_CLI_EXIT_OK    0
#define CG_CLI_EXIT_FAIL  1 /* the operation failed: "certgate: ..." on stderr */
#define CG_CLI_EXIT_USAGE 2 /* bad command line: message and a --help hint */

/* Runs the command in argv (argv[0] is the program name) and returns the
 * process exit code. Writes results to stdout, messages to stderr. */
int cg_cli_main(int argc, char **argv);

#endif
