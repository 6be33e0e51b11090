/* Request framing and field-syntax checks (RFC 9112). Pure: no I/O. */
#include "framing.h"

#include <string.h>
#include <strings.h>

#include "charclass.h"

bool nw_te_chunked_last(const char *value)
{
	const char *end = value + strlen(value), *start;

	while (end > value && nw_is_ows(end[-1]))
		end--;
	start = end;
	while (start > value && start[-1] != ',')
		start--;
	while (start < end && nw_is_ows(*start))
		start++;
	return end - start == 7 && strncasecmp(start, "chunked", 7) == 0;
}

bool nw_token_ok(const char *name, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!nw_is_tchar((unsigned char)name[i]))
			return false;
	return true;
}

bool nw_method_known(const char *method)
{
	static const char *const known[] = {
		"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
		"TRACE", "PATCH",
	};

	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strcmp(method, known[i]) == 0)
			return true;
	return false;
}

bool nw_host_ok(const char *value, size_t len)
{
	size_t i = 0;

	/* libmicrohttpd leaves the OWS after a field value in it */
	while (len > 0 && nw_is_ows(value[len - 1]))
		len--;
	while (len > 0 && nw_is_ows(value[0])) {
		value++;
		len--;
	}
	for (size_t k = 0; k < len; k++)
		if (!nw_cc_has(NW_CC_HOST, (unsigned char)value[k]))
			return false;
	if (len > 0 && value[0] == '[') {
		/* IP-literal: brackets around the address, nothing else */
		for (i = 1; i < len && value[i] != ']'; i++)
			if (value[i] == '[')
				return false;
		if (i == len || i == 1)
			return false;
		i++;
	} else {
		/* reg-name or IPv4address: no ':' and no bracket */
		while (i < len && value[i] != ':') {
			if (value[i] == '[' || value[i] == ']')
				return false;
			i++;
		}
	}
	if (i == len)
		return true;
	/* ":" port, port = *DIGIT */
	if (value[i++] != ':')
		return false;
	for (; i < len; i++)
		if (value[i] < '0' || value[i] > '9')
			return false;
	return true;
}
