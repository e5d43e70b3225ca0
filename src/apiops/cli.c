/* `certgate import DIR` and `certgate export DIR [--force]`: the command
 * line of this module, dispatched here by src/cli. Same conventions as the
 * other commands: results on stdout, "certgate: ..." messages on stderr,
 * exit 0 / 1 (failed, nothing changed) / 2 (usage). */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiops/apiops.h"
#include "store/store.h"

#define EXIT_OK    0
#define EXIT_FAIL  1
#define EXIT_USAGE 2

static const char import_help[] =
	"Usage: certgate [--store FILE] import DIR\n"
	"\n"
	"Imports an APIM configuration kept in the APIOps layout (Azure/apiops\n"
	"extractor folders) into the store: policy.xml (global policy), apis/NAME/\n"
	"(apiInformation.json, policy.xml, operations/OP/operationInformation.json and\n"
	"policy.xml), 'named values'/NAME/namedValueInformation.json, 'policy\n"
	"fragments'/ID/ (policyFragmentInformation.json, policy.xml), backends/ID/,\n"
	"products/ID/ (productInformation.json, policy.xml, apis/API/ or apis.json;\n"
	"groups and tags are ignored), subscriptions/ID/subscriptionInformation.json,\n"
	"and certgate's own certificates/ID/ and 'ca certificates'/ID/\n"
	"(certificate.pem|.cer|.pfx plus an optional information file). See\n"
	"docs/apiops.md.\n"
	"\n"
	"All or nothing: the whole folder is read and checked first (each JSON file\n"
	"parses, each policy loads with the store's named values and fragments, each\n"
	"certificate parses); any problem is printed as FILE:line:col: message or\n"
	"FILE: message and nothing is changed. Entities the folder does not name are\n"
	"left as they are. A secret named value without a value keeps the stored one;\n"
	"a subscription without keys keeps the stored keys, or gets new ones.\n"
	"\n"
	"Common options:\n"
	"  --store FILE  The store (default: $CERTGATE_STORE, else ./certgate.db).\n"
	"  --help, -h    This help.\n"
	"\nExit status: 0 success, 1 the import was refused or failed, 2 usage error.\n";

static const char export_help[] =
	"Usage: certgate [--store FILE] export DIR [--force]\n"
	"\n"
	"Writes the store's APIs, operations, policies, named values, fragments,\n"
	"backends, products, subscriptions, certificates and CA certificates into DIR\n"
	"in the layout 'certgate import' reads (see docs/apiops.md). Secret named\n"
	"values are written without their value (\"secret\": true is kept); private\n"
	"keys are never written (certificates are written as their public DER,\n"
	"certificate.cer); subscriptions are written without their keys. Hostnames\n"
	"are not exported.\n"
	"\n"
	"  --force       DIR may hold files: its policy.xml, apis/, 'named values'/,\n"
	"                'policy fragments'/, certificates/, 'ca certificates'/,\n"
	"                backends/, products/ and subscriptions/ are removed first;\n"
	"                other entries (.git, README) are kept. Without it, DIR must\n"
	"                be missing or empty.\n"
	"\n"
	"Common options:\n"
	"  --store FILE  The store (default: $CERTGATE_STORE, else ./certgate.db).\n"
	"  --help, -h    This help.\n"
	"\nExit status: 0 success, 1 the export failed, 2 usage error.\n";

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "certgate: %s: ", cmd);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'certgate %s --help'.\n", cmd);
	return EXIT_USAGE;
}

/* Prints a multi-line message: the first line as "certgate: ...", the
 * others as they are (each names its file). */
static void print_lines(const char *msg, const char *first_prefix, const char *prefix)
{
	const char *p = msg;
	bool first = true;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n)
			fprintf(stderr, "%s%.*s\n", first ? first_prefix : prefix, (int)n, p);
		first = false;
		p += n + (nl ? 1 : 0);
	}
}

int cg_apiops_cli(int argc, char **argv, const char *store_path)
{
	const char *cmd = argc > 0 ? argv[0] : "import";
	bool is_export = strcmp(cmd, "export") == 0;
	bool force = false;
	const char *dir = NULL;
	bool opts = true;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (opts && strcmp(a, "--") == 0) {
			opts = false;
		} else if (opts && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
			fputs(is_export ? export_help : import_help, stdout);
			return EXIT_OK;
		} else if (opts && is_export && strcmp(a, "--force") == 0) {
			if (force)
				return usage_error(cmd, "option %s given twice", a);
			force = true;
		} else if (opts && strcmp(a, "--store") == 0) {
			if (i + 1 >= argc || !*argv[i + 1])
				return usage_error(cmd, "option %s needs a file name", a);
			store_path = argv[++i];
		} else if (opts && strncmp(a, "--store=", 8) == 0) {
			if (!a[8])
				return usage_error(cmd, "option %s needs a file name", "--store");
			store_path = a + 8;
		} else if (opts && a[0] == '-' && a[1]) {
			return usage_error(cmd, "unknown option '%s'", a);
		} else if (dir) {
			return usage_error(cmd, "unexpected argument '%s'", a);
		} else {
			dir = a;
		}
	}
	if (!dir || !*dir)
		return usage_error(cmd, "missing %s", "DIR");
	/* "dir/" and "dir" name the same folder; messages read better
	 * without "dir//apis". */
	char *d = strdup(dir);
	if (!d) {
		fprintf(stderr, "certgate: out of memory\n");
		return EXIT_FAIL;
	}
	size_t n = strlen(d);
	while (n > 1 && d[n - 1] == '/')
		d[--n] = 0;
	char *err = malloc(CG_APIOPS_ERR_LEN);
	if (!err) {
		free(d);
		fprintf(stderr, "certgate: out of memory\n");
		return EXIT_FAIL;
	}
	err[0] = 0;
	int rc = is_export ? cg_apiops_export(store_path, d, force, err, CG_APIOPS_ERR_LEN)
			   : cg_apiops_import(store_path, d, err, CG_APIOPS_ERR_LEN);
	if (rc) {
		print_lines(err, "certgate: ", "");
	} else {
		print_lines(err, "certgate: ", "certgate: "); /* each says "warning:" */
		char shown[PATH_MAX]; /* without a URL's password */
		cg_store_display(store_path, shown, sizeof(shown));
		if (is_export)
			printf("exported store '%s' to '%s'\n", shown, d);
		else
			printf("imported '%s' into store '%s'\n", d, shown);
	}
	free(err);
	free(d);
	return rc ? EXIT_FAIL : EXIT_OK;
}
