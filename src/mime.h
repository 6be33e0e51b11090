/* MIME types by file extension. Pure: no I/O. */
#ifndef NW_MIME_H
#define NW_MIME_H
#include <stdbool.h>

/*
 * Content-Type for a file name or path, by its extension (case-insensitive),
 * with "; charset=utf-8" on text types (text/..., JavaScript, JSON, XML, SVG,
 * webmanifest, source maps). Unknown: "application/octet-stream".
 */
const char *nw_mime_type(const char *path);

/* True when a body of this Content-Type is worth compressing. */
bool nw_mime_compressible(const char *content_type);

/* True when the Content-Type is HTML. */
bool nw_mime_is_html(const char *content_type);

/*
 * True when the file name carries a content hash, as bundlers emit:
 * "app.3f9a1c2b.js", "index-BxYz12Ab.js", "chunk.a1b2c3d4e5.css"
 * (a '.' or '-' separated segment of >= 8 chars of [A-Za-z0-9_] with at least
 * one digit, right before the extension).
 */
bool nw_path_is_hashed_asset(const char *path);

#endif
