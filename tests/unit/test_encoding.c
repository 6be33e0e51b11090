#include "check.h"
#include "encoding.h"

#define ALL (NW_ENC_BIT(NW_ENC_GZIP) | NW_ENC_BIT(NW_ENC_BR) | NW_ENC_BIT(NW_ENC_ZSTD))
#define GZ NW_ENC_BIT(NW_ENC_GZIP)
#define BR NW_ENC_BIT(NW_ENC_BR)
#define ZS NW_ENC_BIT(NW_ENC_ZSTD)
#define ID NW_ENC_IDENTITY

static int neg(const char *a, unsigned avail)
{
	return nw_negotiate_encoding(a, avail);
}

static void test_tokens(void)
{
	CHECK_STR(nw_enc_token(NW_ENC_GZIP), "gzip");
	CHECK_STR(nw_enc_token(NW_ENC_BR), "br");
	CHECK_STR(nw_enc_token(NW_ENC_ZSTD), "zstd");
	CHECK(nw_enc_token(NW_ENC_IDENTITY) == NULL);
	CHECK(nw_enc_token(NW_ENC_COUNT) == NULL);
}

static void test_basic(void)
{
	/* absent and empty */
	CHECK_INT(neg(NULL, ALL), ID);
	CHECK_INT(neg(NULL, 0), ID);
	CHECK_INT(neg("", ALL), ID);
	CHECK_INT(neg("   ", ALL), ID);
	CHECK_INT(neg(",", ALL), ID);

	/* browsers */
	CHECK_INT(neg("gzip, deflate, br", ALL), NW_ENC_BR);
	CHECK_INT(neg("gzip, deflate, br, zstd", ALL), NW_ENC_BR);
	CHECK_INT(neg("gzip, deflate, br, zstd", GZ | ZS), NW_ENC_ZSTD);
	CHECK_INT(neg("gzip, deflate, br, zstd", GZ), NW_ENC_GZIP);
	CHECK_INT(neg("gzip, deflate, br, zstd", 0), ID);
	CHECK_INT(neg("gzip, deflate", BR | ZS), ID);
	CHECK_INT(neg("deflate", ALL), ID);

	/* single codings */
	CHECK_INT(neg("gzip", ALL), NW_ENC_GZIP);
	CHECK_INT(neg("br", ALL), NW_ENC_BR);
	CHECK_INT(neg("zstd", ALL), NW_ENC_ZSTD);
	CHECK_INT(neg("identity", ALL), ID);
	CHECK_INT(neg("br", GZ), ID);

	/* case-insensitive, x-gzip */
	CHECK_INT(neg("GZIP", ALL), NW_ENC_GZIP);
	CHECK_INT(neg("Br", ALL), NW_ENC_BR);
	CHECK_INT(neg("ZSTD", ZS), NW_ENC_ZSTD);
	CHECK_INT(neg("x-gzip", ALL), NW_ENC_GZIP);
	CHECK_INT(neg("X-GZip", GZ), NW_ENC_GZIP);
	CHECK_INT(neg("IDENTITY;Q=0", 0), -1);

	/* tokens that only look similar */
	CHECK_INT(neg("gzipx", ALL), ID);
	CHECK_INT(neg("bro", ALL), ID);
	CHECK_INT(neg("b", ALL), ID);
	CHECK_INT(neg("x-br", ALL), ID);
	CHECK_INT(neg("zst", ALL), ID);
	CHECK_INT(neg("identit", 0), ID);
}

static void test_qvalues(void)
{
	CHECK_INT(neg("gzip;q=1, br;q=0.5", ALL), NW_ENC_GZIP);
	CHECK_INT(neg("gzip;q=0.9, br;q=0.8, zstd;q=0.7", ALL), NW_ENC_GZIP);
	CHECK_INT(neg("gzip;q=0.5, br;q=0.501", ALL), NW_ENC_BR);
	CHECK_INT(neg("gzip;q=0.501, br;q=0.5", ALL), NW_ENC_GZIP);
	CHECK_INT(neg("gzip;q=0.001, br;q=0", ALL), NW_ENC_GZIP);
	CHECK_INT(neg("gzip ; q=0.5 , br ;q=0.4", ALL), NW_ENC_GZIP);
	CHECK_INT(neg("gzip;\tq=0.5", GZ), NW_ENC_GZIP);
	CHECK_INT(neg("br;Q=0.9, gzip", ALL), NW_ENC_GZIP);
	CHECK_INT(neg("gzip;q=1.0, br;q=1.000", ALL), NW_ENC_BR);
	CHECK_INT(neg("gzip;q=1., br;q=0.", ALL), NW_ENC_GZIP);
	CHECK_INT(neg("gzip;q=0.1, br;q=0.10", ALL), NW_ENC_BR);

	/* explicit identity competes on q */
	CHECK_INT(neg("identity, gzip;q=0.5", ALL), ID);
	CHECK_INT(neg("identity;q=0.4, gzip;q=0.5", ALL), NW_ENC_GZIP);
	CHECK_INT(neg("identity;q=0.5, gzip;q=0.5", ALL), NW_ENC_GZIP);
	CHECK_INT(neg("identity;q=0.5, gzip;q=0.5", 0), ID);

	/* implicit identity is a last resort */
	CHECK_INT(neg("gzip;q=0.1", ALL), NW_ENC_GZIP);
	CHECK_INT(neg("gzip;q=0.1", 0), ID);
	CHECK_INT(neg("gzip;q=0", GZ), ID);

	/* duplicates: the highest mention wins */
	CHECK_INT(neg("gzip;q=0, gzip", GZ), NW_ENC_GZIP);
	CHECK_INT(neg("gzip;q=0, x-gzip;q=0.2, br;q=0.1", ALL), NW_ENC_GZIP);
	/* ... also when it comes first */
	CHECK_INT(neg("gzip, gzip;q=0", GZ), NW_ENC_GZIP);
	CHECK_INT(neg("br;q=0.9, br;q=0.1, gzip;q=0.5", ALL), NW_ENC_BR);
}

static void test_malformed(void)
{
	/* bad q-values make the whole field count as absent (identity) */
	CHECK_INT(neg("br;q=0.1234", ALL), ID);
	CHECK_INT(neg("br;q=1.001", ALL), ID);
	CHECK_INT(neg("br;q=1.0000", ALL), ID);
	CHECK_INT(neg("br;q=2", ALL), ID);
	CHECK_INT(neg("br;q=.5", ALL), ID);
	CHECK_INT(neg("br;q=", ALL), ID);
	CHECK_INT(neg("br;q=-1", ALL), ID);
	CHECK_INT(neg("br;q=0.5x", ALL), ID);
	CHECK_INT(neg("br;q = 0.5", ALL), ID);
	CHECK_INT(neg("br;level=1", ALL), ID);
	CHECK_INT(neg("br;", ALL), ID);
	CHECK_INT(neg("br gzip", ALL), ID);
	CHECK_INT(neg("br;q=1;q=1", ALL), ID);
	CHECK_INT(neg("\"br\"", ALL), ID);
	CHECK_INT(neg("br, @", ALL), ID);
	CHECK_INT(neg("gzip, br;q=0.5;", ALL), ID);
	/* garbage wins over an exclusion */
	CHECK_INT(neg("identity;q=0, ???", 0), ID);
	CHECK_INT(neg("*;q=0, br;q=x", BR), ID);
}

static void test_exclusions(void)
{
	CHECK_INT(neg("identity;q=0", 0), -1);
	CHECK_INT(neg("identity;q=0", GZ), -1);
	CHECK_INT(neg("identity;q=0, gzip", GZ), NW_ENC_GZIP);
	CHECK_INT(neg("identity;q=0, gzip", BR), -1);
	CHECK_INT(neg("identity;q=0.0", 0), -1);
	CHECK_INT(neg("identity;q=0.000", 0), -1);
	CHECK_INT(neg("*;q=0", 0), -1);
	CHECK_INT(neg("*;q=0", ALL), -1);
	CHECK_INT(neg("*;q=0, identity", ALL), ID);
	CHECK_INT(neg("*;q=0, identity;q=0.5", 0), ID);
	CHECK_INT(neg("*;q=0, gzip", ALL), NW_ENC_GZIP);
	CHECK_INT(neg("*;q=0, gzip", BR), -1);
	CHECK_INT(neg("br;q=0", BR), ID);
	CHECK_INT(neg("br;q=0, gzip;q=0, zstd;q=0", ALL), ID);
	CHECK_INT(neg("br;q=0, gzip;q=0, zstd;q=0, identity;q=0", ALL), -1);
}

static void test_wildcard(void)
{
	CHECK_INT(neg("*", ALL), NW_ENC_BR);
	CHECK_INT(neg("*", GZ), NW_ENC_GZIP);
	CHECK_INT(neg("*", 0), ID);
	CHECK_INT(neg("*", ZS | GZ), NW_ENC_ZSTD);
	CHECK_INT(neg("gzip, *;q=0.5", ALL), NW_ENC_GZIP);
	CHECK_INT(neg("br;q=0, *", ALL), NW_ENC_ZSTD);
	CHECK_INT(neg("br;q=0, zstd;q=0, *", ALL), NW_ENC_GZIP);
	CHECK_INT(neg("br;q=0, zstd;q=0, gzip;q=0, *", ALL), ID);
	CHECK_INT(neg("*;q=0.5, identity;q=0.6", ALL), ID);
	CHECK_INT(neg("*;q=0.5, identity;q=0.4", ALL), NW_ENC_BR);
	CHECK_INT(neg("*;q=0.5, identity;q=0.5", GZ), NW_ENC_GZIP);
	CHECK_INT(neg("**", ALL), ID);
}

static void test_lists(void)
{
	CHECK_INT(neg(",,gzip,,", GZ), NW_ENC_GZIP);
	CHECK_INT(neg(" , gzip , ", GZ), NW_ENC_GZIP);
	CHECK_INT(neg("\tgzip\t", GZ), NW_ENC_GZIP);
	CHECK_INT(neg("compress, deflate, gzip;q=0.3, foo-bar;q=1", ALL), NW_ENC_GZIP);
}

int main(void)
{
	test_tokens();
	test_basic();
	test_qvalues();
	test_malformed();
	test_exclusions();
	test_wildcard();
	test_lists();
	return check_report();
}
