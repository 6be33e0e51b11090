/* Runtime environment injection into HTML. Pure: no I/O. */
#ifndef NW_TEMPLATE_H
#define NW_TEMPLATE_H
#include <stddef.h>

struct nw_env_var {
	const char *name;  /* with the prefix stripped: VITE_API_URL -> "API_URL" */
	const char *value;
};

/*
 * Collects the variables of `environ`-style array `envp` whose name starts
 * with `prefix`. Returns a malloc'd array (sorted by name; *count set) whose
 * strings point into envp. Free with free().
 */
struct nw_env_var *nw_env_collect(char *const *envp, const char *prefix,
				  size_t *count);

/*
 * JSON object of the variables, e.g. {"API_URL":"https://x"}, made safe to
 * embed in a <script> element: '<', '>', '&', U+2028, U+2029 and quotes in
 * values are \u-escaped. Returns malloc'd NUL-terminated text.
 */
char *nw_env_json(const struct nw_env_var *vars, size_t count);

/*
 * Replaces placeholders in `in` (len bytes):
 *   {{env.NAME}}   the value of NAME (prefix stripped; the full prefixed name
 *                  also works), HTML-escaped; empty when unset
 *   {{Json}} / {{json}}               nw_env_json()
 *   {{EscapedJson}} / {{escapedJson}} nw_env_json() with every '"' written as
 *                  '\"', for use inside a JavaScript string literal
 * Whitespace inside the braces is allowed ("{{ env.NAME }}"). Anything else
 * is copied unchanged. Returns malloc'd output (*out_len set), or NULL when
 * `in` has no placeholder at all (the caller keeps the original bytes).
 */
char *nw_template_render(const char *in, size_t len,
			 const struct nw_env_var *vars, size_t count,
			 size_t *out_len);

#endif
