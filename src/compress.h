/* One-shot compression of a buffer at the best level of each codec. */
#ifndef NW_COMPRESS_H
#define NW_COMPRESS_H
#include <stddef.h>
#include <stdint.h>
#include "encoding.h"

/*
 * Compresses in[0..len) with `enc` (gzip: zlib level 9 with a gzip header;
 * br: quality 11, window 22, text mode when `text`; zstd: level 19).
 * Returns a malloc'd buffer and sets *out_len, or NULL on failure or when
 * the result would not be smaller than the input.
 */
uint8_t *nw_compress(enum nw_enc enc, const uint8_t *in, size_t len,
		     int text, size_t *out_len);

/*
 * Decompresses (used by tests and by the sibling-file check). Returns a
 * malloc'd buffer or NULL. max_out bounds the output.
 */
uint8_t *nw_decompress(enum nw_enc enc, const uint8_t *in, size_t len,
		       size_t max_out, size_t *out_len);

/*
 * As nw_compress, with an explicit level: gzip 1..9, brotli quality 0..11,
 * zstd 1..19. A level out of range (e.g. -1) means the codec's best level as
 * used by nw_compress. The snapshot uses lower levels to bound start-up time
 * (see snapshot.h).
 */
uint8_t *nw_compress_level(enum nw_enc enc, const uint8_t *in, size_t len,
			   int text, int level, size_t *out_len);

#endif
