#include "query.h"
#include <stdlib.h>
#include <string.h>

bool nw_query_take(struct nw_query *q, char *target)
{
	char *mark = target ? strchr(target, '?') : NULL;
	size_t n;

	q->has = mark != NULL;
	q->failed = false;
	q->len = 0;
	if (!mark)
		return true;
	n = strlen(mark + 1);
	if (n + 1 > q->cap) {
		char *b = realloc(q->buf, n + 1);

		if (!b) {
			q->failed = true;
			return false;
		}
		q->buf = b;
		q->cap = n + 1;
	}
	memcpy(q->buf, mark + 1, n + 1);
	q->len = n;
	mark[1] = '\0';
	return true;
}

bool nw_query_bad(const struct nw_query *q)
{
	for (size_t i = 0; q->has && i < q->len; i++)
		if ((unsigned char)q->buf[i] < 0x20 || q->buf[i] == 0x7f ||
		    q->buf[i] == '#')
			return true;
	return false;
}

void nw_query_clear(struct nw_query *q)
{
	free(q->buf);
	memset(q, 0, sizeof *q);
}

void nw_query_free(struct nw_query *q)
{
	if (q)
		nw_query_clear(q);
	free(q);
}
