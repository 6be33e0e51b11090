/* Runtime environment injection into HTML. Pure: no I/O. */
#ifndef NW_TEMPLATE_H
#define NW_TEMPLATE_H
#include <stddef.h>

struct nw_env_var {
	const char *name;  /* with the prefix stripped: VITE_API_URL -> "API_URL" */
	const char *value;
	/* The full name ("VITE_API_URL"), so that {{env.VITE_API_URL}} works
	 * too. Set by nw_env_collect(); may be NULL in arrays built by hand
	 * (use designated initialisers: {.name = "A", .value = "b"}). */
	const char *full_name;
};

/*
 * Collects the variables of `environ`-style array `envp` whose name starts
 * with `prefix`. Returns a malloc'd array (sorted by name; *count set) whose
 * strings point into envp. Free with free().
 * Precisely: values point into envp (keep it alive while using the array);
 * names are NUL-terminated copies stored in the same allocation, so the one
 * free() releases everything. A NULL prefix means "". Entries without '='
 * or whose name is just the prefix are skipped; of duplicate names the first
 * wins (like getenv). Returns NULL only when out of memory (*count = 0);
 * with no match it returns an empty array.
 */
struct nw_env_var *nw_env_collect(char *const *envp, const char *prefix,
				  size_t *count);

/*
 * JSON object of the variables, e.g. {"API_URL":"https://x"}, made safe to
 * embed in a <script> element: '<', '>', '&', U+2028, U+2029 and quotes in
 * values are \u-escaped. Returns malloc'd NUL-terminated text.
 * Precisely, in names and values: " ' < > & as \u0022 \u0027 \u003c
 * \u003e \u0026, a backslash doubled, \n \r \t, other control bytes and DEL
 * as \u00XX, U+2028/U+2029 as \u2028/\u2029, bytes that are not valid
 * UTF-8 as \ufffd. So the text contains no raw < > & ' and no '"' except the
 * JSON delimiters. Entries are written in array order. NULL when out of
 * memory.
 */
char *nw_env_json(const struct nw_env_var *vars, size_t count);

/*
 * Replaces placeholders in `in` (len bytes):
 *   {{env.NAME}}   the value of NAME (prefix stripped; the full prefixed name
 *                  also works), HTML-escaped; empty when unset
 *   {{Json}} / {{json}}               nw_env_json()
 *   {{EscapedJson}} / {{escapedJson}} nw_env_json() with every '"' written as
 *                  '\"' (and every backslash doubled, or the literal would
 *                  not decode back to the JSON), for use inside a JavaScript
 *                  string literal: JSON.parse("{{EscapedJson}}")
 * Whitespace inside the braces is allowed ("{{ env.NAME }}"). Anything else
 * is copied unchanged. Returns malloc'd output (*out_len set), or NULL when
 * `in` has no placeholder at all (the caller keeps the original bytes).
 * Details: whitespace is space, tab, CR or LF. An unknown "{{...}}" or an
 * unterminated "{{" is copied unchanged and scanning resumes one byte later
 * (so "{{{env.A}}}" gives "{" value "}"). A name is first looked up as a
 * stripped name, then as a full name. The output is NUL-terminated (not
 * counted in *out_len). NULL is also returned when out of memory.
 */
char *nw_template_render(const char *in, size_t len,
			 const struct nw_env_var *vars, size_t count,
			 size_t *out_len);

#endif
