/* MIME types by file extension. Pure: no I/O. */
#ifndef NW_MIME_H
#define NW_MIME_H
#include <stdbool.h>

/*
 * Content-Type for a file name or path, by its extension (case-insensitive),
 * with "; charset=utf-8" on text types (text/..., JavaScript, JSON, XML, SVG,
 * webmanifest, source maps). Unknown: "application/octet-stream".
 * JavaScript is "text/javascript" (RFC 9239); ".ts" is video/mp2t (as in
 * nginx); a name whose only dot is its first byte (".htaccess") has no
 * extension. The returned string is static.
 */
const char *nw_mime_type(const char *path);

/*
 * True when a body of this Content-Type is worth compressing: text/ types,
 * JavaScript, JSON, XML, any +json / +xml type (SVG, RSS, Atom, manifests),
 * wasm, YAML, TOML, ttf/otf/eot fonts, ico and bmp. Not already-compressed
 * formats (png, jpeg, woff2, zip, mp4...). Parameters are ignored, the
 * comparison is case-insensitive.
 */
bool nw_mime_compressible(const char *content_type);

/* True when the Content-Type is text/html (parameters ignored). */
bool nw_mime_is_html(const char *content_type);

/*
 * True when the file name carries a content hash, as bundlers emit:
 * "app.3f9a1c2b.js", "index-BxYz12Ab.js", "chunk.a1b2c3d4e5.css"
 * (a '.' or '-' separated segment of >= 8 chars of [A-Za-z0-9_] with at least
 * one digit, right before the extension). The separator must have a name
 * before it: "3f9a1c2b.js" and "-3f9a1c2b.js" are not hashed.
 */
bool nw_path_is_hashed_asset(const char *path);

#endif
