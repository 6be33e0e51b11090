/* MIME types by file extension. Pure: no I/O. */
#include "mime.h"

#include <stddef.h>
#include <string.h>

#define UTF8 "; charset=utf-8"

struct mime_entry {
	const char *ext;   /* lower case, no dot */
	const char *type;
};

static const struct mime_entry mime_table[] = {
	/* documents and text */
	{ "html", "text/html" UTF8 },
	{ "htm", "text/html" UTF8 },
	{ "xhtml", "application/xhtml+xml" UTF8 },
	{ "css", "text/css" UTF8 },
	{ "txt", "text/plain" UTF8 },
	{ "text", "text/plain" UTF8 },
	{ "log", "text/plain" UTF8 },
	{ "md", "text/markdown" UTF8 },
	{ "markdown", "text/markdown" UTF8 },
	{ "csv", "text/csv" UTF8 },
	{ "tsv", "text/tab-separated-values" UTF8 },
	{ "ics", "text/calendar" UTF8 },
	{ "vtt", "text/vtt" UTF8 },
	{ "srt", "application/x-subrip" UTF8 },
	{ "xml", "application/xml" UTF8 },
	{ "xsl", "application/xslt+xml" UTF8 },
	{ "xslt", "application/xslt+xml" UTF8 },
	{ "rss", "application/rss+xml" UTF8 },
	{ "atom", "application/atom+xml" UTF8 },
	{ "yaml", "application/yaml" UTF8 },
	{ "yml", "application/yaml" UTF8 },
	{ "toml", "application/toml" UTF8 },

	/* scripts and data */
	{ "js", "text/javascript" UTF8 },
	{ "mjs", "text/javascript" UTF8 },
	{ "cjs", "text/javascript" UTF8 },
	{ "json", "application/json" UTF8 },
	{ "map", "application/json" UTF8 },
	{ "jsonld", "application/ld+json" UTF8 },
	{ "webmanifest", "application/manifest+json" UTF8 },
	{ "geojson", "application/geo+json" UTF8 },
	{ "wasm", "application/wasm" },

	/* fonts */
	{ "woff", "font/woff" },
	{ "woff2", "font/woff2" },
	{ "ttf", "font/ttf" },
	{ "otf", "font/otf" },
	{ "eot", "application/vnd.ms-fontobject" },

	/* images */
	{ "svg", "image/svg+xml" UTF8 },
	{ "png", "image/png" },
	{ "apng", "image/apng" },
	{ "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },
	{ "jpe", "image/jpeg" },
	{ "jfif", "image/jpeg" },
	{ "gif", "image/gif" },
	{ "webp", "image/webp" },
	{ "avif", "image/avif" },
	{ "jxl", "image/jxl" },
	{ "heic", "image/heic" },
	{ "heif", "image/heif" },
	{ "ico", "image/x-icon" },
	{ "cur", "image/x-icon" },
	{ "bmp", "image/bmp" },
	{ "tif", "image/tiff" },
	{ "tiff", "image/tiff" },

	/* audio */
	{ "mp3", "audio/mpeg" },
	{ "ogg", "audio/ogg" },
	{ "oga", "audio/ogg" },
	{ "opus", "audio/ogg" },
	{ "wav", "audio/wav" },
	{ "flac", "audio/flac" },
	{ "aac", "audio/aac" },
	{ "m4a", "audio/mp4" },
	{ "weba", "audio/webm" },
	{ "mid", "audio/midi" },
	{ "midi", "audio/midi" },

	/* video */
	{ "mp4", "video/mp4" },
	{ "m4v", "video/x-m4v" },
	{ "webm", "video/webm" },
	{ "ogv", "video/ogg" },
	{ "mov", "video/quicktime" },
	{ "avi", "video/x-msvideo" },
	{ "mkv", "video/x-matroska" },
	{ "ts", "video/mp2t" },
	{ "m3u8", "application/vnd.apple.mpegurl" },
	{ "mpd", "application/dash+xml" UTF8 },

	/* 3D */
	{ "glb", "model/gltf-binary" },
	{ "gltf", "model/gltf+json" UTF8 },

	/* archives and binaries */
	{ "pdf", "application/pdf" },
	{ "zip", "application/zip" },
	{ "gz", "application/gzip" },
	{ "tgz", "application/gzip" },
	{ "br", "application/x-brotli" },
	{ "zst", "application/zstd" },
	{ "bz2", "application/x-bzip2" },
	{ "xz", "application/x-xz" },
	{ "7z", "application/x-7z-compressed" },
	{ "rar", "application/vnd.rar" },
	{ "tar", "application/x-tar" },
	{ "epub", "application/epub+zip" },
	{ "apk", "application/vnd.android.package-archive" },
	{ "jar", "application/java-archive" },
	{ "doc", "application/msword" },
	{ "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
	{ "xls", "application/vnd.ms-excel" },
	{ "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
	{ "ppt", "application/vnd.ms-powerpoint" },
	{ "pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation" },
	{ "odt", "application/vnd.oasis.opendocument.text" },
	{ "ods", "application/vnd.oasis.opendocument.spreadsheet" },
	{ "rtf", "application/rtf" },
};

#define DEFAULT_TYPE "application/octet-stream"
#define MAX_EXT 16

static inline char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

const char *nw_mime_type(const char *path)
{
	const char *base, *dot;
	char ext[MAX_EXT + 1];
	size_t n, i;

	if (path == NULL)
		return DEFAULT_TYPE;
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	if (dot == NULL || dot == base)
		return DEFAULT_TYPE; /* no extension, or a dot file */
	dot++;
	n = strlen(dot);
	if (n == 0 || n > MAX_EXT)
		return DEFAULT_TYPE;
	for (i = 0; i < n; i++)
		ext[i] = lower(dot[i]);
	ext[n] = '\0';
	for (i = 0; i < sizeof(mime_table) / sizeof(mime_table[0]); i++) {
		if (strcmp(mime_table[i].ext, ext) == 0)
			return mime_table[i].type;
	}
	return DEFAULT_TYPE;
}

/* The media type of a Content-Type, without parameters, lower-cased. */
static size_t media_type(const char *ct, char *buf, size_t size)
{
	size_t n = 0;

	while (*ct == ' ' || *ct == '\t')
		ct++;
	while (*ct && *ct != ';' && *ct != ' ' && *ct != '\t') {
		if (n + 1 >= size)
			return 0; /* longer than any type we know */
		buf[n++] = lower(*ct++);
	}
	buf[n] = '\0';
	return n;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

bool nw_mime_compressible(const char *content_type)
{
	static const char *const types[] = {
		"application/javascript",
		"application/x-javascript",
		"application/ecmascript",
		"application/json",
		"application/xml",
		"application/wasm",
		"application/yaml",
		"application/toml",
		"application/x-subrip",
		"application/rtf",
		"application/vnd.ms-fontobject",
		"application/vnd.apple.mpegurl",
		"application/x-font-ttf",
		"application/x-font-otf",
		"font/ttf",
		"font/otf",
		"font/eot",
		"image/x-icon",
		"image/vnd.microsoft.icon",
		"image/bmp",
		"image/svg+xml",
	};
	char mt[128];
	size_t n, i;

	if (content_type == NULL)
		return false;
	n = media_type(content_type, mt, sizeof(mt));
	if (n == 0)
		return false;
	if (strncmp(mt, "text/", 5) == 0)
		return true;
	/* structured syntax suffixes: +json, +xml (not +zip) */
	if (ends_with(mt, n, "+json") || ends_with(mt, n, "+xml"))
		return true;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcmp(mt, types[i]) == 0)
			return true;
	}
	return false;
}

bool nw_mime_is_html(const char *content_type)
{
	char mt[16];

	if (content_type == NULL)
		return false;
	return media_type(content_type, mt, sizeof(mt)) == 9 &&
	       strcmp(mt, "text/html") == 0;
}

static inline bool is_hash_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

bool nw_path_is_hashed_asset(const char *path)
{
	const char *base, *dot, *p;
	size_t len = 0;
	bool digit = false;

	if (path == NULL)
		return false;
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	if (dot == NULL || dot == base || dot[1] == '\0')
		return false; /* needs an extension */
	/* walk back over the hash segment */
	for (p = dot; p > base && is_hash_char(p[-1]); p--) {
		len++;
		if (p[-1] >= '0' && p[-1] <= '9')
			digit = true;
	}
	/* it must be preceded by a separator that has a name before it */
	if (p == base || (p[-1] != '.' && p[-1] != '-') || p - 1 == base)
		return false;
	return len >= 8 && digit;
}
