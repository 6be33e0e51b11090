/* A growable byte buffer. */
#ifndef NW_STRBUF_H
#define NW_STRBUF_H
#include <stddef.h>
#include <stdbool.h>

struct strbuf {
	char *buf;   /* always NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
};

#define STRBUF_INIT { NULL, 0, 0 }

bool sb_append(struct strbuf *sb, const void *data, size_t n);
bool sb_puts(struct strbuf *sb, const char *s);
bool sb_putc(struct strbuf *sb, char c);
bool sb_printf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Hands the buffer to the caller (malloc'd, NUL-terminated, never NULL on success). */
char *sb_steal(struct strbuf *sb, size_t *len);
void sb_free(struct strbuf *sb);

#endif
