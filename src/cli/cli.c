/* Placeholder until the CLI lands: dispatches only `serve`. */
#include <stdio.h>
#include <string.h>

#include "gw/serve.h"

int cg_cli_main(int argc, char **argv);

int cg_cli_main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return cg_gw_serve_main("certgate.db", argc - 1, argv + 1);
	fprintf(stderr, "usage: certgate serve ...\n");
	return 2;
}
