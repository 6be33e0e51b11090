/* libFuzzer target for src/config.c: the input is a nanoweb.ini. A file is
 * either applied or refused with "NAME:LINE: reason" naming a line the file
 * has; nothing leaks, and the settings it leaves still answer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[512] = "";
	struct nw_config cfg;
	unsigned long lines = 1, line;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (size_t i = 0; i < size && data[i]; i++)
		lines += data[i] == '\n';
	nw_config_init(&cfg);
	if (!nw_config_load_string(&cfg, text, "fuzz.ini", err, sizeof(err))) {
		CHECK(!strncmp(err, "fuzz.ini:", 9));
		CHECK(sscanf(err + 9, "%lu:", &line) == 1);
		CHECK(line >= 1 && line <= lines);
		CHECK(strlen(err) > 9);
	}
	CHECK(nw_config_cache_control(&cfg, "/index.html", NULL));
	CHECK(nw_config_cache_control(&cfg, "/assets/app-3f9a1c2b.js", NULL));
	CHECK(nw_config_cache_control(&cfg, "/a.tar.gz", "application/gzip"));
	nw_config_free(&cfg);
	free(text);
	return 0;
}
