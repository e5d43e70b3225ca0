/* certgate entry point: everything happens in the CLI (src/cli/). */
#include "cli/cli.h"

int main(int argc, char **argv)
{
	return cg_cli_main(argc, argv);
}
