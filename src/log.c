#include "log.h"
#include "textesc.h"
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static enum nw_log_level min_level = NW_LOG_INFO;
static enum nw_log_format out_format = NW_LOG_CONSOLE;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const level_names[] = { "debug", "info", "warn", "error" };

void nw_log_setup(enum nw_log_level level, enum nw_log_format format)
{
	min_level = level;
	out_format = format;
}

enum nw_log_format nw_log_get_format(void)
{
	return out_format;
}

void nw_log(enum nw_log_level level, const char *fmt, ...)
{
	char msg[2048], esc[4096], ts[80];
	struct timeval tv;
	struct tm tm;
	va_list ap;

	if (level < min_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000));
	pthread_mutex_lock(&log_lock);
	if (out_format == NW_LOG_JSON) {
		nw_json_escape(msg, esc, sizeof esc);
		fprintf(stderr, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\"}\n",
			ts, level_names[level], esc);
	} else {
		/* a file name with a newline must not forge a line */
		nw_console_escape(msg, esc, sizeof esc, false);
		fprintf(stderr, "%s %-5s %s\n", ts, level_names[level], esc);
	}
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}
