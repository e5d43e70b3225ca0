/* Shared by the tls unit tests: running the openssl CLI (output discarded),
 * paths in the test's temporary directory, and reading back the PEM files
 * the CLI wrote there (name.pem, name.crl, name.key; not every test reads
 * every kind, hence `unused`). The including file defines
 * `static char g_dir[64]` first and includes cmocka and <spawn.h>. */
#ifndef CG_TEST_TLS_CLI_H
#define CG_TEST_TLS_CLI_H

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
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

#endif
