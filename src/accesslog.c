#include "accesslog.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "textesc.h"

/* Lines are written in blocks, not one write() per request (which cost a
 * quarter of the throughput): a line reaches the file within about
 * FLUSH_NS, or at once on a terminal. */
#define FLUSH_NS 1000000000LL
#define BUFFER_BYTES (64 * 1024)

static FILE *out;
static const char *file; /* NULL: stdout */
static bool json;
static bool every_line;  /* out is a terminal */
static long long flushed_at;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void nw_accesslog_client(const struct sockaddr *sa, char *text, size_t len)
{
	char tmp[INET6_ADDRSTRLEN] = "-";

	if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], tmp,
				  sizeof tmp);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, tmp, sizeof tmp);
	} else if (sa && sa->sa_family == AF_INET) {
		inet_ntop(AF_INET,
			  &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			  tmp, sizeof tmp);
	}
	snprintf(text, len, "%s", tmp);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Before the first write to f: block buffering unless f is a terminal
 * (returned: its lines then go out one by one). */
static bool set_buffering(FILE *f)
{
	bool tty = isatty(fileno(f));

	if (!tty)
		setvbuf(f, NULL, _IOFBF, BUFFER_BYTES);
	return tty;
}

/* Created 0640 (as nw_create_for_user makes it at start-up): the lines
 * hold client addresses, and a file rotated away is created again here.
 * As root, a symlink is not followed: the log's directory is writable by
 * [server] user, who could otherwise point it at any file root appends to. */
static FILE *open_file(const char *path, char *err, size_t errlen)
{
	int nofollow = geteuid() == 0 ? O_NOFOLLOW : 0;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | nofollow,
		      0640);
	FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;

	if (!f) {
		if (fd < 0 && errno == ELOOP && nofollow)
			snprintf(err, errlen, "access log %s is a symbolic link: "
				 "started as root, nano-web opens only the file "
				 "itself (name it, not the link)", path);
		else
			snprintf(err, errlen, "access log %s: %s", path,
				 strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	return f;
}

/* A failed write loses lines (a full disk, an I/O error): said in the log
 * at once, then at most once a minute while it lasts. Under the lock. */
#define WRITE_ERROR_EVERY_NS (60 * 1000000000LL)
static long long write_error_said_at;
static bool write_error_said;

static void check_written(bool ok)
{
	long long now;

	if (ok)
		return;
	now = now_ns();
	if (!write_error_said || now - write_error_said_at >= WRITE_ERROR_EVERY_NS) {
		nw_error("access log %s: write failed (%s): request lines are "
			 "being lost", file ? file : "(standard output)",
			 strerror(errno));
		write_error_said = true;
		write_error_said_at = now;
	}
	clearerr(out);
}

bool nw_accesslog_open(const struct nw_config *cfg, char *err, size_t errlen)
{
	json = cfg->log_format == NW_LOG_JSON;
	if (!cfg->access_log || !cfg->access_log[0] ||
	    strcmp(cfg->access_log, "-") == 0) {
		out = stdout;
		file = NULL;
	} else {
		file = cfg->access_log;
		out = open_file(file, err, errlen);
		if (!out)
			return false;
	}
	every_line = set_buffering(out);
	flushed_at = now_ns();
	return true;
}

bool nw_accesslog_reopen(char *err, size_t errlen)
{
	FILE *f, *old;
	bool tty;

	if (!out || !file)
		return true;
	f = open_file(file, err, errlen);
	if (!f)
		return false;
	tty = set_buffering(f);
	pthread_mutex_lock(&lock);
	old = out;
	out = f;
	every_line = tty;
	pthread_mutex_unlock(&lock);
	fclose(old);
	return true;
}

void nw_accesslog_flush(void)
{
	pthread_mutex_lock(&lock);
	if (out) {
		check_written(fflush(out) == 0);
		flushed_at = now_ns();
	}
	pthread_mutex_unlock(&lock);
}

/* "2026-11-29T13:14:02.168Z". The part up to the seconds is formatted once
 * a second per thread (gmtime takes the tz lock). */
static void timestamp(char *buf, size_t len)
{
	static __thread time_t sec = -1;
	static __thread char prefix[64];
	struct timeval tv;
	struct tm tm;
	size_t n;
	int ms;

	gettimeofday(&tv, NULL);
	if (tv.tv_sec != sec) {
		gmtime_r(&tv.tv_sec, &tm);
		snprintf(prefix, sizeof prefix, "%04d-%02d-%02dT%02d:%02d:%02d",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
		sec = tv.tv_sec;
	}
	ms = (int)(tv.tv_usec / 1000);
	n = strlen(prefix);
	if (n + 6 > len) {
		buf[0] = '\0';
		return;
	}
	memcpy(buf, prefix, n);
	buf[n] = '.';
	buf[n + 1] = (char)('0' + ms / 100);
	buf[n + 2] = (char)('0' + ms / 10 % 10);
	buf[n + 3] = (char)('0' + ms % 10);
	buf[n + 4] = 'Z';
	buf[n + 5] = '\0';
}

void nw_accesslog_write(const struct nw_access_entry *e)
{
	char ts[64], path[1024], method[64];
	int n;
	bool ok;

	timestamp(ts, sizeof ts);
	pthread_mutex_lock(&lock);
	if (!out) {
		pthread_mutex_unlock(&lock);
		return;
	}
	if (json) {
		nw_json_escape(e->path, path, sizeof path);
		nw_json_escape(e->method, method, sizeof method);
		n = fprintf(out,
			"{\"time\":\"%s\",\"method\":\"%s\",\"path\":\"%s\",\"status\":%u,"
			"\"bytes\":%llu,\"duration_ms\":%.3f,\"client\":\"%s\",\"encoding\":\"%s\"}\n",
			ts, method, path, e->status, (unsigned long long)e->bytes,
			e->duration_ms, e->client, e->encoding);
	} else {
		/* a request cannot forge lines or fields */
		nw_console_escape(e->path, path, sizeof path, true);
		nw_console_escape(e->method, method, sizeof method, true);
		n = fprintf(out, "%s %s %s %u %llu %.3fms %s %s\n", ts, method,
			path, e->status, (unsigned long long)e->bytes,
			e->duration_ms, e->client, e->encoding);
	}
	ok = n >= 0;
	if (every_line) {
		ok = fflush(out) == 0 && ok;
	} else {
		long long now = now_ns();

		if (now - flushed_at >= FLUSH_NS) {
			ok = fflush(out) == 0 && ok;
			flushed_at = now;
		}
	}
	check_written(ok);
	pthread_mutex_unlock(&lock);
}

void nw_accesslog_close(void)
{
	pthread_mutex_lock(&lock);
	if (out && out != stdout)
		fclose(out);
	out = NULL;
	pthread_mutex_unlock(&lock);
}
