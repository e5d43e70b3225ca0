/* Shared by the tls unit tests: running the openssl CLI (output discarded)
 * and paths in the test's temporary directory. The including file defines
 * `static char g_dir[64]` first and includes cmocka and <spawn.h>. */
#ifndef CG_TEST_TLS_CLI_H
#define CG_TEST_TLS_CLI_H

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>

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

#endif
