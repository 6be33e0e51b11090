/* libFuzzer target for src/template.c
 * Input: environment lines, a NUL byte, then the template. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

#define MAX_ENV 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *sep = memchr(data, '\0', size);
	size_t env_len = sep ? (size_t)(sep - data) : 0;
	const char *tpl = (const char *)data + (sep ? env_len + 1 : 0);
	size_t tpl_len = size - (size_t)(tpl - (const char *)data);
	char *env, *envp[MAX_ENV + 1], *p, *json, *out;
	struct nw_env_var *vars;
	size_t n = 0, count = 0, out_len = 0, i;

	env = malloc(env_len + 1);
	if (!env)
		return 0;
	memcpy(env, data, env_len);
	env[env_len] = '\0';
	for (p = env; n < MAX_ENV && p && *p;) {
		char *nl = strchr(p, '\n');

		if (nl)
			*nl = '\0';
		envp[n++] = p;
		p = nl ? nl + 1 : NULL;
	}
	envp[n] = NULL;

	vars = nw_env_collect(envp, "V_", &count);
	if (!vars)
		abort();
	for (i = 1; i < count; i++) {
		if (strcmp(vars[i - 1].name, vars[i].name) >= 0)
			abort(); /* sorted, unique */
	}
	json = nw_env_json(vars, count);
	if (!json)
		abort();
	/* script-safe: no raw < > & ' and valid delimiters */
	if (strpbrk(json, "<>&'") || json[0] != '{' ||
	    json[strlen(json) - 1] != '}')
		abort();
	for (p = json; *p; p++) {
		if ((unsigned char)*p < 0x20)
			abort();
	}

	out = nw_template_render(tpl, tpl_len, vars, count, &out_len);
	if (out) {
		if (out[out_len] != '\0')
			abort();
	} else if (out_len != 0) {
		abort();
	}
	free(out);
	free(json);
	free(vars);
	free(env);
	return 0;
}
