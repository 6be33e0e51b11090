/* One-shot compression and bounded decompression: gzip (zlib), brotli, zstd. */
#include "compress.h"

#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <zlib.h>
#include <brotli/encode.h>
#include <brotli/decode.h>
#include <zstd.h>

static uint8_t *gzip_compress(const uint8_t *in, size_t len, int level,
			      size_t *out_len)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	if (len > UINT_MAX) {
		deflateEnd(&zs);
		return NULL;
	}
	uLong bound = deflateBound(&zs, (uLong)len);
	if (bound > UINT_MAX) {
		deflateEnd(&zs);
		return NULL;
	}
	uint8_t *out = malloc(bound ? bound : 1);
	if (!out) {
		deflateEnd(&zs);
		return NULL;
	}
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)bound;
	int rc = deflate(&zs, Z_FINISH);
	size_t n = zs.total_out;
	deflateEnd(&zs);
	if (rc != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	*out_len = n;
	return out;
}

static uint8_t *br_compress(const uint8_t *in, size_t len, int text,
			    int quality, size_t *out_len)
{
	size_t bound = BrotliEncoderMaxCompressedSize(len);
	if (bound == 0)
		bound = len + 1024; /* too large for the estimate: try anyway */
	uint8_t *out = malloc(bound);
	if (!out)
		return NULL;
	size_t n = bound;
	if (!BrotliEncoderCompress(quality, 22,
				   text ? BROTLI_MODE_TEXT : BROTLI_MODE_GENERIC,
				   len, in, &n, out)) {
		free(out);
		return NULL;
	}
	*out_len = n;
	return out;
}

static uint8_t *zstd_compress(const uint8_t *in, size_t len, int level,
			      size_t *out_len)
{
	size_t bound = ZSTD_compressBound(len);
	uint8_t *out = malloc(bound ? bound : 1);
	if (!out)
		return NULL;
	size_t n = ZSTD_compress(out, bound, in, len, level);
	if (ZSTD_isError(n)) {
		free(out);
		return NULL;
	}
	*out_len = n;
	return out;
}

uint8_t *nw_compress_level(enum nw_enc enc, const uint8_t *in, size_t len,
			   int text, int level, size_t *out_len)
{
	uint8_t *out = NULL;
	size_t n = 0;

	if (!in && len)
		return NULL;
	switch (enc) {
	case NW_ENC_GZIP:
		if (level < 1 || level > 9)
			level = 9;
		out = gzip_compress(in, len, level, &n);
		break;
	case NW_ENC_BR:
		if (level < BROTLI_MIN_QUALITY || level > BROTLI_MAX_QUALITY)
			level = BROTLI_MAX_QUALITY;
		out = br_compress(in, len, text, level, &n);
		break;
	case NW_ENC_ZSTD:
		if (level < 1 || level > 19)
			level = 19;
		out = zstd_compress(in, len, level, &n);
		break;
	default:
		return NULL;
	}
	if (!out)
		return NULL;
	if (n >= len) {
		free(out);
		return NULL;
	}
	/* Give back the slack of the worst-case bound. */
	uint8_t *shrunk = realloc(out, n ? n : 1);
	if (shrunk)
		out = shrunk;
	*out_len = n;
	return out;
}

uint8_t *nw_compress(enum nw_enc enc, const uint8_t *in, size_t len,
		     int text, size_t *out_len)
{
	return nw_compress_level(enc, in, len, text, -1, out_len);
}

/* Growable output for the streaming decoders, bounded by max_out. */
struct outbuf {
	uint8_t *p;
	size_t len, cap, max;
};

/* Makes room for at least one more byte; false when over max or on ENOMEM. */
static int outbuf_grow(struct outbuf *o)
{
	if (o->len < o->cap)
		return 1;
	if (o->cap > o->max)
		return 0;
	/* One byte beyond max lets the caller notice an over-long stream. */
	size_t lim = o->max < SIZE_MAX ? o->max + 1 : SIZE_MAX;
	size_t ncap = o->cap ? (o->cap < SIZE_MAX / 2 ? o->cap * 2 : SIZE_MAX) : 4096;
	if (ncap > lim)
		ncap = lim;
	if (ncap <= o->cap)
		return 0;
	uint8_t *np = realloc(o->p, ncap);
	if (!np)
		return 0;
	o->p = np;
	o->cap = ncap;
	return 1;
}

static uint8_t *outbuf_finish(struct outbuf *o, size_t *out_len)
{
	if (o->len > o->max) {
		free(o->p);
		return NULL;
	}
	if (!o->p) {
		o->p = malloc(1);
		if (!o->p)
			return NULL;
	}
	*out_len = o->len;
	return o->p;
}

static uint8_t *gzip_decompress(const uint8_t *in, size_t len, struct outbuf *o,
				size_t *out_len)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (len > UINT_MAX)
		return NULL;
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		return NULL;
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	int rc = Z_OK;
	while (rc != Z_STREAM_END) {
		if (!outbuf_grow(o))
			break;
		size_t room = o->cap - o->len;
		if (room > UINT_MAX)
			room = UINT_MAX;
		zs.next_out = o->p + o->len;
		zs.avail_out = (uInt)room;
		rc = inflate(&zs, Z_NO_FLUSH);
		o->len += room - zs.avail_out;
		if (rc != Z_OK && rc != Z_STREAM_END)
			break;
		if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0)
			break; /* truncated */
	}
	inflateEnd(&zs);
	/* Trailing garbage after the gzip member is an error too. */
	if (rc != Z_STREAM_END || zs.avail_in != 0) {
		free(o->p);
		return NULL;
	}
	return outbuf_finish(o, out_len);
}

static uint8_t *br_decompress(const uint8_t *in, size_t len, struct outbuf *o,
			      size_t *out_len)
{
	BrotliDecoderState *st = BrotliDecoderCreateInstance(NULL, NULL, NULL);
	if (!st)
		return NULL;
	size_t avail_in = len;
	const uint8_t *next_in = in;
	BrotliDecoderResult rc = BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT;
	while (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) {
		if (!outbuf_grow(o))
			break;
		size_t avail_out = o->cap - o->len;
		uint8_t *next_out = o->p + o->len;
		rc = BrotliDecoderDecompressStream(st, &avail_in, &next_in,
						   &avail_out, &next_out, NULL);
		o->len = (size_t)(next_out - o->p);
	}
	BrotliDecoderDestroyInstance(st);
	if (rc != BROTLI_DECODER_RESULT_SUCCESS || avail_in != 0) {
		free(o->p);
		return NULL;
	}
	return outbuf_finish(o, out_len);
}

static uint8_t *zstd_decompress(const uint8_t *in, size_t len, struct outbuf *o,
				size_t *out_len)
{
	ZSTD_DStream *ds = ZSTD_createDStream();
	if (!ds)
		return NULL;
	ZSTD_inBuffer ib = { in, len, 0 };
	size_t rc = 1;
	while (ib.pos < ib.size || rc != 0) {
		if (!outbuf_grow(o)) {
			rc = 1;
			break;
		}
		ZSTD_outBuffer ob = { o->p, o->cap, o->len };
		size_t before_in = ib.pos;
		rc = ZSTD_decompressStream(ds, &ob, &ib);
		size_t produced = ob.pos - o->len;
		o->len = ob.pos;
		if (ZSTD_isError(rc))
			break;
		if (rc != 0 && ib.pos == ib.size && produced == 0 &&
		    before_in == ib.pos && ob.pos < ob.size)
			break; /* truncated: needs input we do not have */
	}
	ZSTD_freeDStream(ds);
	if (rc != 0) {
		free(o->p);
		return NULL;
	}
	return outbuf_finish(o, out_len);
}

uint8_t *nw_decompress(enum nw_enc enc, const uint8_t *in, size_t len,
		       size_t max_out, size_t *out_len)
{
	struct outbuf o = { NULL, 0, 0, max_out };
	if (!in && len)
		return NULL;
	switch (enc) {
	case NW_ENC_GZIP:
		return gzip_decompress(in, len, &o, out_len);
	case NW_ENC_BR:
		return br_decompress(in, len, &o, out_len);
	case NW_ENC_ZSTD:
		return zstd_decompress(in, len, &o, out_len);
	default:
		return NULL;
	}
}
