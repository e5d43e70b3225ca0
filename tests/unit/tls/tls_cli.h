/* Shared by the tls unit tests: running the openssl CLI (output discarded),
 * paths in the test's temporary directory, and reading back the PEM files
 * the CLI wrote there (name.pem, name.crl, name.key; not every test reads
 * every kind, hence `unused`), ca.cnf's `openssl ca` databases and
 * self-signed CAs, the temporary directory's removal and the per-test
 * arena. The including file defines `static char g_dir[64]` and
 * `static struct cg_arena g_arena` first and includes cmocka, <spawn.h>
 * and "base/arena.h". */
#ifndef CG_TEST_TLS_CLI_H
#define CG_TEST_TLS_CLI_H

#include <fcntl.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <openssl/pem.h>

extern char **environ;

static int run(const char *const argv[])
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int st = -1;
	if (posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ) == 0)
		waitpid(pid, &st, 0);
	posix_spawn_file_actions_destroy(&fa);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *path(const char *name)
{
	static char p[8][160];
	static int i;
	i = (i + 1) % 8;
	snprintf(p[i], sizeof(p[i]), "%s/%s", g_dir, name);
	return p[i];
}

#define RUN(...)                                                                                   \
	do {                                                                                       \
		const char *argv_[] = { __VA_ARGS__, NULL };                                       \
		if (run(argv_) != 0)                                                               \
			fail_msg("command failed: %s %s %s", argv_[0], argv_[1], argv_[2]);       \
	} while (0)

static void write_file(const char *p, const char *text)
{
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* name + ext in g_dir, read with reader (a PEM_read_* function); fails the
 * test when the file is missing or does not parse. */
#define PEM_LOADER(fn, type, ext, reader)                                                          \
	static __attribute__((unused)) type *fn(const char *name)                                  \
	{                                                                                          \
		char f[64];                                                                        \
		snprintf(f, sizeof(f), "%s" ext, name);                                            \
		FILE *fp = fopen(path(f), "r");                                                    \
		assert_non_null(fp);                                                               \
		type *v = reader(fp, NULL, NULL, NULL);                                            \
		fclose(fp);                                                                        \
		assert_non_null(v);                                                                \
		return v;                                                                          \
	}

PEM_LOADER(load_cert, X509, ".pem", PEM_read_X509)
PEM_LOADER(load_crl, X509_CRL, ".crl", PEM_read_X509_CRL)
PEM_LOADER(load_key, EVP_PKEY, ".key", PEM_read_PrivateKey)

/* The start of every ca.cnf: [req] for `openssl req` without prompts,
 * the root's and the intermediate's extensions (v3_int's may go on in the
 * text that follows). */
#define CA_CNF_HEAD                                                                                \
	"[req]\ndistinguished_name = dn\nprompt = no\nstring_mask = utf8only\nutf8 = yes\n"          \
	"[dn]\nCN = unused\n"                                                                      \
	"[v3_root]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n" \
	"subjectKeyIdentifier = hash\n"                                                            \
	"[v3_int]\nbasicConstraints = critical,CA:TRUE,pathlen:0\n"                                 \
	"keyUsage = critical,keyCertSign,cRLSign\n"                                                \
	"subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"

/* Writes ca.cnf (text cnf: sections [intca] and [rootca] keep their
 * `openssl ca` databases in g_dir) and those databases, empty; the
 * intermediate's serials start at 1000, the root's at 2000. */
static __attribute__((unused)) void write_ca_files(const char *cnf)
{
	write_file(path("ca.cnf"), cnf);
	write_file(path("int.idx"), "");
	write_file(path("root.idx"), "");
	write_file(path("int.crlnum"), "01\n");
	write_file(path("root.crlnum"), "01\n");
	write_file(path("int.serial"), "1000\n");
	write_file(path("root.serial"), "2000\n");
}

#define EC "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"

/* A self-signed certificate name.pem/name.key with extensions ext. */
static __attribute__((unused)) void self_signed(const char *name, const char *subj, const char *ext)
{
	char key[64], pem[64];
	snprintf(key, sizeof(key), "%s.key", name);
	snprintf(pem, sizeof(pem), "%s.pem", name);
	RUN("openssl", "req", "-config", path("ca.cnf"), "-x509", EC, "-days", "3650", "-keyout", path(key),
	    "-out", path(pem), "-subj", subj, "-extensions", ext, "-utf8");
}

/* name.key (a new P-256 key) and name.csr for subj; utf8: subj is read
 * as UTF-8 (-utf8). */
static __attribute__((unused)) void make_csr(const char *name, const char *subj, bool utf8)
{
	char key[64], csr[64];
	snprintf(key, sizeof(key), "%s.key", name);
	snprintf(csr, sizeof(csr), "%s.csr", name);
	/* Without utf8 the NULL ends the argument list one early. */
	RUN("openssl", "req", "-config", path("ca.cnf"), "-new", EC, "-keyout", path(key), "-out", path(csr),
	    "-subj", subj, utf8 ? "-utf8" : NULL);
}

/* The last step of a group teardown: removes the temporary directory. */
static int remove_dir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Each test gets a fresh g_arena. */
static __attribute__((unused)) int setup(void **state)
{
	(void)state;
	cg_arena_init(&g_arena, 64 * 1024, 0);
	return 0;
}

static __attribute__((unused)) int teardown(void **state)
{
	(void)state;
	cg_arena_destroy(&g_arena);
	return 0;
}

#endif
