/* certgate entry point: the CLI lives in src/cli/. */
int cg_cli_main(int argc, char **argv);

int main(int argc, char **argv)
{
	return cg_cli_main(argc, argv);
}
