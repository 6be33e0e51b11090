/* Logging to stderr, console or JSON lines. Thread-safe. */
#ifndef NW_LOG_H
#define NW_LOG_H
#include "config.h"

void nw_log_setup(enum nw_log_level level, enum nw_log_format format);
void nw_log(enum nw_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
enum nw_log_format nw_log_get_format(void);

#define nw_debug(...) nw_log(NW_LOG_DEBUG, __VA_ARGS__)
#define nw_info(...) nw_log(NW_LOG_INFO, __VA_ARGS__)
#define nw_warn(...) nw_log(NW_LOG_WARN, __VA_ARGS__)
#define nw_error(...) nw_log(NW_LOG_ERROR, __VA_ARGS__)

#endif
