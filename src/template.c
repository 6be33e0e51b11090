/* Runtime environment injection into HTML. Pure: no I/O. */
#include "template.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- environment ---- */

struct nw_env_var *nw_env_collect(char *const *envp, const char *prefix,
				  size_t *count)
{
	struct nw_env_var *vars;
	size_t plen, n = 0, bytes = 0, i, j, k;
	char *pool;

	if (count)
		*count = 0;
	if (prefix == NULL)
		prefix = "";
	plen = strlen(prefix);

	/* Pass 1: how many, and how many bytes of names. */
	for (i = 0; envp && envp[i]; i++) {
		const char *eq = strchr(envp[i], '=');

		if (eq == NULL || (size_t)(eq - envp[i]) <= plen ||
		    strncmp(envp[i], prefix, plen) != 0)
			continue;
		n++;
		bytes += (size_t)(eq - envp[i]) + 1;
	}

	/* One block: the array, then NUL-terminated copies of full names. */
	if (n > (SIZE_MAX - bytes) / sizeof(*vars) - 1)
		return NULL;
	vars = malloc((n + 1) * sizeof(*vars) + bytes);
	if (vars == NULL)
		return NULL;
	pool = (char *)(vars + n + 1);

	/* Pass 2: fill, keeping the array sorted by name (insertion sort,
	 * stable, so the first of duplicate names comes first). */
	k = 0;
	for (i = 0; envp && envp[i]; i++) {
		const char *eq = strchr(envp[i], '=');
		struct nw_env_var v;
		size_t len;

		if (eq == NULL || (size_t)(eq - envp[i]) <= plen ||
		    strncmp(envp[i], prefix, plen) != 0)
			continue;
		len = (size_t)(eq - envp[i]);
		memcpy(pool, envp[i], len);
		pool[len] = '\0';
		v.full_name = pool;
		v.name = pool + plen;
		v.value = eq + 1;
		pool += len + 1;

		for (j = k; j > 0 && strcmp(vars[j - 1].name, v.name) > 0; j--)
			vars[j] = vars[j - 1];
		vars[j] = v;
		k++;
	}

	/* Drop later duplicates (getenv() would see the first one). */
	for (i = 0, j = 0; i < k; i++) {
		if (j > 0 && strcmp(vars[j - 1].name, vars[i].name) == 0)
			continue;
		vars[j++] = vars[i];
	}
	if (count)
		*count = j;
	return vars;
}

/* ---- output sink: counts when buf is NULL ---- */

struct sink {
	char *buf;
	size_t len;
};

static inline void put(struct sink *s, const char *p, size_t n)
{
	if (s->buf)
		memcpy(s->buf + s->len, p, n);
	s->len += n;
}

static inline void putc_(struct sink *s, char c)
{
	if (s->buf)
		s->buf[s->len] = c;
	s->len++;
}

static void put_u(struct sink *s, unsigned cp)
{
	static const char hex[] = "0123456789abcdef";
	char b[6] = { '\\', 'u',
		      hex[(cp >> 12) & 15], hex[(cp >> 8) & 15],
		      hex[(cp >> 4) & 15], hex[cp & 15] };

	put(s, b, sizeof(b));
}

/*
 * Length of the valid UTF-8 sequence at p (at most n bytes) and its code
 * point, or 0 when the bytes are not valid UTF-8 (overlong forms, surrogates
 * and values above U+10FFFF are invalid).
 */
static size_t utf8_seq(const unsigned char *p, size_t n, unsigned *cp)
{
	size_t len, i;
	unsigned c = p[0], min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		len = 2, c &= 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, c &= 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* A JSON string, safe inside <script> and inside HTML attributes. */
static void json_str(struct sink *s, const char *str)
{
	const unsigned char *p = (const unsigned char *)str;
	size_t n = strlen(str);

	putc_(s, '"');
	while (n > 0) {
		unsigned char c = *p;
		unsigned cp;
		size_t len;

		switch (c) {
		/* and '`' '$': the value stays inert in a JS template literal */
		case '"': case '\'': case '<': case '>': case '&': case '`': case '$':
			put_u(s, c);
			p++, n--;
			continue;
		case '\\':
			put(s, "\\\\", 2);
			p++, n--;
			continue;
		case '\n':
			put(s, "\\n", 2);
			p++, n--;
			continue;
		case '\r':
			put(s, "\\r", 2);
			p++, n--;
			continue;
		case '\t':
			put(s, "\\t", 2);
			p++, n--;
			continue;
		default:
			break;
		}
		if (c < 0x20 || c == 0x7f) {
			put_u(s, c);
			p++, n--;
			continue;
		}
		len = utf8_seq(p, n, &cp);
		if (len == 0) {
			put_u(s, 0xfffd); /* not UTF-8: replacement char */
			p++, n--;
		} else if (cp == 0x2028 || cp == 0x2029) {
			put_u(s, cp);
			p += len, n -= len;
		} else {
			put(s, (const char *)p, len);
			p += len, n -= len;
		}
	}
	putc_(s, '"');
}

static void json_obj(struct sink *s, const struct nw_env_var *vars,
		     size_t count)
{
	size_t i;

	putc_(s, '{');
	for (i = 0; i < count; i++) {
		if (i)
			putc_(s, ',');
		json_str(s, vars[i].name ? vars[i].name : "");
		putc_(s, ':');
		json_str(s, vars[i].value ? vars[i].value : "");
	}
	putc_(s, '}');
}

char *nw_env_json(const struct nw_env_var *vars, size_t count)
{
	struct sink s = { NULL, 0 };

	if (vars == NULL)
		count = 0;
	json_obj(&s, vars, count);
	s.buf = malloc(s.len + 1);
	if (s.buf == NULL)
		return NULL;
	s.len = 0;
	json_obj(&s, vars, count);
	s.buf[s.len] = '\0';
	return s.buf;
}

/* ---- placeholders ---- */

static void html_escape(struct sink *s, const char *v)
{
	for (; *v; v++) {
		switch (*v) {
		case '&':
			put(s, "&amp;", 5);
			break;
		case '<':
			put(s, "&lt;", 4);
			break;
		case '>':
			put(s, "&gt;", 4);
			break;
		case '"':
			put(s, "&quot;", 6);
			break;
		case '\'':
			put(s, "&#39;", 5);
			break;
		default:
			putc_(s, *v);
		}
	}
}

static bool name_eq(const char *a, size_t alen, const char *b)
{
	/* a may contain NUL bytes (it comes from the template) */
	return b && strlen(b) == alen && memcmp(b, a, alen) == 0;
}

static const struct nw_env_var *lookup(const struct nw_env_var *vars,
				       size_t count, const char *name,
				       size_t len)
{
	size_t i;

	for (i = 0; i < count; i++) {
		if (name_eq(name, len, vars[i].name))
			return &vars[i];
	}
	for (i = 0; i < count; i++) {
		if (name_eq(name, len, vars[i].full_name))
			return &vars[i];
	}
	return NULL;
}

enum ph_kind { PH_NONE, PH_ENV, PH_JSON, PH_ESCAPED_JSON };

static inline bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool word_eq(const char *w, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(w, lit, n) == 0;
}

/*
 * Recognises a placeholder at in[i] (which starts with "{{"). On success
 * returns its kind, the index just past "}}" in *end and, for PH_ENV, the
 * name in *name / *name_len.
 */
static enum ph_kind placeholder(const char *in, size_t len, size_t i,
				size_t *end, const char **name,
				size_t *name_len)
{
	size_t p = i + 2, w;
	enum ph_kind kind;

	while (p < len && is_space(in[p]))
		p++;
	w = p;
	while (p < len && !is_space(in[p]) && in[p] != '{' && in[p] != '}')
		p++;
	if (word_eq(in + w, p - w, "Json") || word_eq(in + w, p - w, "json")) {
		kind = PH_JSON;
	} else if (word_eq(in + w, p - w, "EscapedJson") ||
		   word_eq(in + w, p - w, "escapedJson")) {
		kind = PH_ESCAPED_JSON;
	} else if (p - w > 4 && memcmp(in + w, "env.", 4) == 0) {
		kind = PH_ENV;
		*name = in + w + 4;
		*name_len = p - w - 4;
	} else {
		return PH_NONE;
	}
	while (p < len && is_space(in[p]))
		p++;
	if (len - p < 2 || in[p] != '}' || in[p + 1] != '}')
		return PH_NONE;
	*end = p + 2;
	return kind;
}

struct render {
	const struct nw_env_var *vars;
	size_t count;
	char *json;   /* built on first use */
	bool json_failed;
};

static const char *get_json(struct render *r)
{
	if (r->json == NULL && !r->json_failed) {
		r->json = nw_env_json(r->vars, r->count);
		r->json_failed = r->json == NULL;
	}
	return r->json;
}

/* One pass over the input; returns the number of placeholders, -1 on OOM. */
static long render_pass(struct render *r, const char *in, size_t len,
			struct sink *s)
{
	size_t i = 0, run = 0; /* run: start of the pending literal bytes */
	long n = 0;

	while (i + 1 < len) {
		const char *name = NULL, *j;
		const struct nw_env_var *v;
		size_t end = 0, name_len = 0;
		enum ph_kind kind;

		if (in[i] != '{' || in[i + 1] != '{') {
			i++;
			continue;
		}
		kind = placeholder(in, len, i, &end, &name, &name_len);
		if (kind == PH_NONE) {
			i++;
			continue;
		}
		put(s, in + run, i - run);
		switch (kind) {
		case PH_ENV:
			v = lookup(r->vars, r->count, name, name_len);
			if (v && v->value)
				html_escape(s, v->value);
			break;
		case PH_JSON:
			j = get_json(r);
			if (j == NULL)
				return -1;
			put(s, j, strlen(j));
			break;
		case PH_ESCAPED_JSON:
			/* as a JavaScript string literal: '\' and '"' escaped */
			j = get_json(r);
			if (j == NULL)
				return -1;
			for (; *j; j++) {
				if (*j == '"' || *j == '\\')
					putc_(s, '\\');
				putc_(s, *j);
			}
			break;
		default:
			break;
		}
		n++;
		i = run = end;
	}
	put(s, in + run, len - run);
	return n;
}

char *nw_template_render(const char *in, size_t len,
			 const struct nw_env_var *vars, size_t count,
			 size_t *out_len)
{
	struct render r = { vars, vars ? count : 0, NULL, false };
	struct sink s = { NULL, 0 };
	long n;

	if (out_len)
		*out_len = 0;
	if (in == NULL)
		return NULL;
	n = render_pass(&r, in, len, &s);
	if (n <= 0) {
		free(r.json);
		return NULL; /* no placeholder (or out of memory) */
	}
	s.buf = malloc(s.len + 1);
	if (s.buf) {
		s.len = 0;
		render_pass(&r, in, len, &s);
		s.buf[s.len] = '\0';
		if (out_len)
			*out_len = s.len;
	}
	free(r.json);
	return s.buf;
}
