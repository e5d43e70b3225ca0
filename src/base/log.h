/* Logging: one line per event on stderr, written with a single write(2) so
 * lines from worker threads never interleave. Client-caused failures are
 * logged at info level (a bad client must not be able to flood error logs). */
#ifndef CG_BASE_LOG_H
#define CG_BASE_LOG_H

enum cg_log_level { CG_LOG_ERROR = 0, CG_LOG_WARN, CG_LOG_INFO, CG_LOG_DEBUG };

extern enum cg_log_level cg_log_threshold;

void cg_log(enum cg_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define cg_log_error(...) cg_log(CG_LOG_ERROR, __VA_ARGS__)
#define cg_log_warn(...) cg_log(CG_LOG_WARN, __VA_ARGS__)
#define cg_log_info(...)                                                                           \
	do {                                                                                       \
		if (cg_log_threshold >= CG_LOG_INFO)                                               \
			cg_log(CG_LOG_INFO, __VA_ARGS__);                                          \
	} while (0)
#define cg_log_debug(...)                                                                          \
	do {                                                                                       \
		if (cg_log_threshold >= CG_LOG_DEBUG)                                              \
			cg_log(CG_LOG_DEBUG, __VA_ARGS__);                                         \
	} while (0)

/* Parses "error|warn|info|debug"; returns -1 for anything else. */
int cg_log_level_parse(const char *s);

#endif
