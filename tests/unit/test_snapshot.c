/* Content snapshot: loads a real temporary tree and checks what it holds. */
#include "snapshot.h"
#include "compress.h"
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char root[64];
static char outside[64];

static void write_file(const char *rel, const void *data, size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	FILE *f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "cannot create %s: %s\n", path, strerror(errno));
		exit(2);
	}
	if (len && fwrite(data, 1, len, f) != len)
		exit(2);
	fclose(f);
}

static void write_str(const char *rel, const char *s)
{
	write_file(rel, s, strlen(s));
}

static void mkdir_rel(const char *rel)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (mkdir(path, 0755) != 0) {
		fprintf(stderr, "mkdir %s: %s\n", path, strerror(errno));
		exit(2);
	}
}

/* Sets the mtime of root/rel to `t` seconds since the epoch. */
static void set_mtime(const char *rel, time_t t)
{
	char path[512];
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (utimensat(AT_FDCWD, path, ts, 0) != 0)
		exit(2);
}

static int rm_entry(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb; (void)ftw;
	if (type == FTW_DP || type == FTW_D)
		return rmdir(p) != 0 && errno != ENOENT ? 0 : 0;
	unlink(p);
	return 0;
}

static void rm_tree(const char *p)
{
	nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A gzip file of in[] at level 0 (stored): larger than in[], and it
 * decompresses to exactly in[]. *outlen is its length. */
static uint8_t *gzip_stored(const void *in, size_t len, size_t *outlen)
{
	z_stream z;
	uint8_t *out = malloc(len + 1024);

	memset(&z, 0, sizeof z);
	if (!out || deflateInit2(&z, 0, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(out);
		return NULL;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)(len + 1024);
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&z);
		free(out);
		return NULL;
	}
	*outlen = z.total_out;
	deflateEnd(&z);
	return out;
}

static const struct nw_resource *L(const struct nw_snapshot *s, const char *k)
{
	return nw_snapshot_lookup(s, k, strlen(k));
}

static bool etag_ok(const char *etag)
{
	if (strlen(etag) != 18 || etag[0] != '"' || etag[17] != '"')
		return false;
	for (int i = 1; i < 17; i++)
		if (!strchr("0123456789abcdef", etag[i]))
			return false;
	return true;
}

/* Every variant decompresses to the identity body. */
static void check_variants(const struct nw_resource *r)
{
	CHECK(r->enc_mask & NW_ENC_BIT(NW_ENC_IDENTITY));
	for (int e = NW_ENC_GZIP; e < NW_ENC_COUNT; e++) {
		bool has = r->enc_mask & NW_ENC_BIT(e);
		CHECK(has == (r->var[e].body != NULL));
		if (!has)
			continue;
		CHECK(r->var[e].len < r->size);
		size_t n = 0;
		uint8_t *d = nw_decompress((enum nw_enc)e, r->var[e].body,
					   r->var[e].len, r->size, &n);
		CHECK(d != NULL);
		CHECK(d && n == r->size &&
		      memcmp(d, r->var[NW_ENC_IDENTITY].body, n) == 0);
		free(d);
	}
}

static int released;
static void on_release(struct nw_snapshot *s)
{
	(void)s;
	released++;
}

static void test_compress_roundtrip(void)
{
	char text[5000];
	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = "abcabcabd hello world\n"[i % 22];
	for (int e = NW_ENC_GZIP; e < NW_ENC_COUNT; e++) {
		size_t clen = 0, dlen = 0;
		uint8_t *c = nw_compress((enum nw_enc)e, (const uint8_t *)text,
					 sizeof(text), 1, &clen);
		CHECK(c != NULL && clen < sizeof(text));
		uint8_t *d = c ? nw_decompress((enum nw_enc)e, c, clen, sizeof(text), &dlen) : NULL;
		CHECK(d && dlen == sizeof(text) && memcmp(d, text, dlen) == 0);
		free(d);
		/* max_out smaller than the output: refused. */
		d = c ? nw_decompress((enum nw_enc)e, c, clen, sizeof(text) - 1, &dlen) : NULL;
		CHECK(d == NULL);
		free(d);
		/* Truncated input: refused. */
		d = c ? nw_decompress((enum nw_enc)e, c, clen / 2, sizeof(text), &dlen) : NULL;
		CHECK(d == NULL);
		free(d);
		free(c);
	}
	/* Incompressible input: NULL. */
	uint8_t rnd[300];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof(rnd); i++) {
		x = x * 1103515245u + 12345u;
		rnd[i] = (uint8_t)(x >> 16);
	}
	size_t n = 0;
	CHECK(nw_compress(NW_ENC_GZIP, rnd, sizeof(rnd), 0, &n) == NULL);
	/* Garbage does not decode. */
	CHECK(nw_decompress(NW_ENC_GZIP, rnd, sizeof(rnd), 1000, &n) == NULL);
	CHECK(nw_decompress(NW_ENC_BR, rnd, sizeof(rnd), 1000, &n) == NULL);
	CHECK(nw_decompress(NW_ENC_ZSTD, rnd, sizeof(rnd), 1000, &n) == NULL);
}

static bool decodes_to(const struct nw_resource *r, enum nw_enc enc,
		       const void *want, size_t len)
{
	size_t n = 0;
	uint8_t *d;
	bool ok;

	if (!r || !r->var[enc].body)
		return false;
	d = nw_decompress(enc, r->var[enc].body, r->var[enc].len, len, &n);
	ok = d && n == len && memcmp(d, want, len) == 0;
	free(d);
	return ok;
}

/* A reload copies the compressed forms of the files it finds unchanged
 * from the snapshot it replaces (not those read from sibling files), and
 * compresses the others. */
static void test_reload_keeps_unchanged(void)
{
	static const enum nw_enc codecs[] = { NW_ENC_GZIP, NW_ENC_BR, NW_ENC_ZSTD };
	struct nw_config cfg;
	char err[512];
	char text[3][5000];
	char *envp[] = { NULL };

	snprintf(root, sizeof(root), "/tmp/nwsnap-re-XXXXXX");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		exit(2);
	}
	for (size_t k = 0; k < 3; k++)
		for (size_t i = 0; i < sizeof(text[k]); i++)
			text[k][i] = "abcdefghij klmnop\n"[(i * (k + 1) + i / 97) % 18];
	write_file("same.txt", text[0], sizeof(text[0]));
	write_file("changed.txt", text[1], sizeof(text[1]));
	write_file("sib.txt", text[0], sizeof(text[0]) - 1);
	size_t sl = 0;
	uint8_t *sib = nw_compress_level(NW_ENC_BR, (const uint8_t *)text[0],
					 sizeof(text[0]) - 1, 1, 1, &sl);
	CHECK(sib != NULL);
	write_file("sib.txt.br", sib, sl);
	nw_config_init(&cfg);
	free(cfg.root);
	cfg.root = strdup(root);

	struct nw_snapshot *a = nw_snapshot_load(&cfg, envp, 1, false, err, sizeof(err));
	CHECK(a != NULL);
	if (!a)
		goto out;
	CHECK_INT(a->stats.kept_compressed, 0);
	const struct nw_resource *a_same = L(a, "/same.txt"), *a_sib = L(a, "/sib.txt");
	CHECK(a_same && a_sib);
	if (!a_same || !a_sib)
		goto out_a;
	CHECK_INT(a_sib->sibling_mask, NW_ENC_BIT(NW_ENC_BR));
	CHECK(a_sib->var[NW_ENC_BR].len == sl);

	/* same size, other bytes; a new file; the sibling gone */
	write_file("changed.txt", text[2], sizeof(text[2]));
	write_file("new.txt", text[1], sizeof(text[1]));
	char path[600];
	snprintf(path, sizeof(path), "%s/sib.txt.br", root);
	CHECK(unlink(path) == 0);

	struct nw_snapshot *b = nw_snapshot_reload(&cfg, envp, 1, false, a, err, sizeof(err));
	CHECK(b != NULL);
	if (!b)
		goto out_a;
	/* same.txt (all three) and sib.txt (gzip, zstd) */
	CHECK_INT(b->stats.kept_compressed, 2);
	const struct nw_resource *b_same = L(b, "/same.txt"), *b_sib = L(b, "/sib.txt");
	CHECK(b_same && b_sib);
	if (b_same && b_sib) {
		CHECK_STR(b_same->etag, a_same->etag);
		for (size_t c = 0; c < 3; c++) {
			const struct nw_variant *va = &a_same->var[codecs[c]];
			const struct nw_variant *vb = &b_same->var[codecs[c]];

			CHECK(vb->body && vb->body != va->body && vb->len == va->len &&
			      memcmp(vb->body, va->body, va->len) == 0);
			CHECK(decodes_to(b_sib, codecs[c], text[0], sizeof(text[0]) - 1));
		}
		/* br compressed here, not the removed sibling's bytes */
		CHECK_INT(b_sib->sibling_mask, 0);
		CHECK(b_sib->var[NW_ENC_BR].len != sl ||
		      memcmp(b_sib->var[NW_ENC_BR].body, sib, sl) != 0);
	}
	for (size_t c = 0; c < 3; c++) {
		CHECK(decodes_to(L(b, "/changed.txt"), codecs[c], text[2], sizeof(text[2])));
		CHECK(decodes_to(L(b, "/new.txt"), codecs[c], text[1], sizeof(text[1])));
	}
	/* a copy: b stays whole once a is gone */
	nw_snapshot_unref(a);
	a = NULL;
	if (b_same)
		CHECK(decodes_to(b_same, NW_ENC_BR, text[0], sizeof(text[0])));
	nw_snapshot_unref(b);
out_a:
	nw_snapshot_unref(a);
out:
	free(sib);
	nw_config_free(&cfg);
	rm_tree(root);
}

/* The time validators compare: the file's, never later than the load, and
 * for a page whose placeholders were filled in never earlier than the first
 * load of the process (kept by reloads). */
static void test_modified(void)
{
	struct nw_config cfg;
	char err[512];
	char *envp[] = { "VITE_API=one", NULL };
	const time_t old = 1000000000, future = time(NULL) + 10 * 365 * 86400;

	snprintf(root, sizeof(root), "/tmp/nwsnap-mod-XXXXXX");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		exit(2);
	}
	write_str("plain.html", "<p>plain</p>\n");
	write_str("page.html", "<p>{{env.API}}</p>\n");
	write_str("future.txt", "from the future\n");
	set_mtime("plain.html", old);
	set_mtime("page.html", old);
	set_mtime("future.txt", future);
	nw_config_init(&cfg);
	free(cfg.root);
	cfg.root = strdup(root);

	time_t before = time(NULL);
	struct nw_snapshot *a = nw_snapshot_load(&cfg, envp, 1, false, err, sizeof(err));
	time_t after = time(NULL);
	CHECK(a != NULL);
	if (!a)
		goto out;
	CHECK(a->env_time >= before && a->env_time <= after);
	const struct nw_resource *plain = L(a, "/plain.html"), *page = L(a, "/page.html"),
				  *fut = L(a, "/future.txt");
	CHECK(plain && page && fut);
	if (plain && page && fut) {
		CHECK(plain->modified == old && !plain->templated);
		CHECK(page->templated && page->mtime == old);
		CHECK(page->modified == a->env_time);
		CHECK(fut->mtime == future);
		CHECK(fut->modified >= before && fut->modified <= after);
	}

	/* a reload a few seconds on: the page keeps the first load's time;
	 * a file edited after it gets the edit's time */
	a->env_time -= 5;
	write_str("page.html", "<p>{{env.API}}!</p>\n");
	set_mtime("page.html", a->env_time + 2);
	struct nw_snapshot *b = nw_snapshot_reload(&cfg, envp, 1, false, a, err, sizeof(err));
	CHECK(b != NULL);
	if (b) {
		CHECK(b->env_time == a->env_time);
		const struct nw_resource *bp = L(b, "/page.html"), *bpl = L(b, "/plain.html");
		CHECK(bp && bp->modified == a->env_time + 2);
		CHECK(bpl && bpl->modified == old);
		set_mtime("page.html", old);
		struct nw_snapshot *c = nw_snapshot_reload(&cfg, envp, 1, false, b, err,
							   sizeof(err));
		CHECK(c != NULL);
		if (c) {
			const struct nw_resource *cp = L(c, "/page.html");
			CHECK(cp && cp->modified == a->env_time);
			nw_snapshot_unref(c);
		}
		nw_snapshot_unref(b);
	}
	nw_snapshot_unref(a);
out:
	nw_config_free(&cfg);
	rm_tree(root);
}

int main(void)
{
	struct nw_config cfg;
	char err[512];
	char path[600];
	bool as_root = geteuid() == 0;

	test_compress_roundtrip();
	test_reload_keeps_unchanged();
	test_modified();
	CHECK(nw_hash64("ab", 2) != nw_hash64("ba", 2));
	CHECK(nw_hash64("", 0) != nw_hash64("\0", 1));

	snprintf(root, sizeof(root), "/tmp/nwsnap-XXXXXX");
	snprintf(outside, sizeof(outside), "/tmp/nwsnap-out-XXXXXX");
	if (!mkdtemp(root) || !mkdtemp(outside)) {
		perror("mkdtemp");
		return 2;
	}

	/* Content. */
	char big_js[60000];
	for (size_t i = 0; i < sizeof(big_js); i++)
		big_js[i] = "function f(a,b){return a+b;}\nvar x = f(1, 2);\n"[i % 47];
	const char *html_pad =
		"<!doctype html><html><head><meta charset=\"utf-8\"><title>t</title></head>"
		"<body><p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do "
		"eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim "
		"veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea "
		"commodo consequat.</p></body></html>\n";
	char index_html[1024];
	snprintf(index_html, sizeof(index_html), "<div>Hello {{env.NAME}}!</div>%s", html_pad);
	write_str("index.html", index_html);
	write_str("404.html", html_pad);
	mkdir_rel("a");
	write_str("a/index.html", html_pad);
	mkdir_rel("a/.well-known");
	write_str("a/.well-known/x.txt", "nested well-known is hidden\n");
	mkdir_rel("assets");
	write_file("assets/app.3f9a1c2b.js", big_js, sizeof(big_js));
	uint8_t png[2000];
	uint32_t x = 99;
	memcpy(png, "\x89PNG\r\n\x1a\n", 8);
	for (size_t i = 8; i < sizeof(png); i++) {
		x = x * 1664525u + 1013904223u;
		png[i] = (uint8_t)(x >> 24);
	}
	write_file("image.png", png, sizeof(png));
	write_str(".hidden", "secret\n");
	mkdir_rel(".git");
	write_str(".git/config", "[core]\n");
	mkdir_rel(".well-known");
	write_str(".well-known/security.txt", "Contact: mailto:security@example.com\n");

	/* Symlinks: outside (skipped), inside (served), a loop (skipped). */
	snprintf(path, sizeof(path), "%s/secret.txt", outside);
	FILE *f = fopen(path, "w");
	if (!f)
		return 2;
	fputs("outside the root\n", f);
	fclose(f);
	char lnk[600];
	snprintf(lnk, sizeof(lnk), "%s/link-out.txt", root);
	CHECK(symlink(path, lnk) == 0);
	snprintf(lnk, sizeof(lnk), "%s/outdir", root);
	CHECK(symlink(outside, lnk) == 0);
	snprintf(lnk, sizeof(lnk), "%s/link-in.js", root);
	CHECK(symlink("assets/app.3f9a1c2b.js", lnk) == 0);
	snprintf(lnk, sizeof(lnk), "%s/a/loop", root);
	CHECK(symlink("..", lnk) == 0);
	snprintf(lnk, sizeof(lnk), "%s/self", root);
	CHECK(symlink("self", lnk) == 0);
	snprintf(lnk, sizeof(lnk), "%s/dangling", root);
	CHECK(symlink("does-not-exist", lnk) == 0);

	/* Unreadable file. */
	write_str("unreadable.txt", "you cannot read me\n");
	snprintf(path, sizeof(path), "%s/unreadable.txt", root);
	chmod(path, 0);

	/* Sibling precompressed file, a stale one, a wrong one, an orphan. */
	char css[2000];
	for (size_t i = 0; i < sizeof(css); i++)
		css[i] = "body { color: red; margin: 0 }\n.a { padding: 1px }\n"[i % 50];
	write_file("app.css", css, sizeof(css));
	size_t gzlen = 0;
	uint8_t *gz = nw_compress(NW_ENC_GZIP, (const uint8_t *)css, sizeof(css), 1, &gzlen);
	CHECK(gz != NULL);
	write_file("app.css.gz", gz, gzlen);
	set_mtime("app.css", 1000000000);
	set_mtime("app.css.gz", 1000000000);
	write_file("stale.css", css, sizeof(css));
	write_file("stale.css.gz", gz, gzlen);
	set_mtime("stale.css", 1000000100);
	set_mtime("stale.css.gz", 1000000000);
	write_file("wrong.css", css, sizeof(css) - 1);
	write_file("wrong.css.gz", gz, gzlen);
	write_file("orphan.txt.gz", gz, gzlen);
	/* a sibling larger than its file (stored, not compressed): not used */
	size_t storedlen = 0;
	uint8_t *stored = gzip_stored(css, sizeof(css), &storedlen);
	CHECK(stored != NULL && storedlen > sizeof(css));
	write_file("big-sibling.css", css, sizeof(css));
	if (stored)
		write_file("big-sibling.css.gz", stored, storedlen);
	free(stored);
	/* an index alias needs a '/' before the index name */
	write_str("fooindex.html", html_pad);

	/* Same length, different content. */
	write_str("same1.txt", "aaaa");
	write_str("same2.txt", "aaab");
	write_str("empty.txt", "");
	/* Bytes that need percent-encoding in a URL. */
	write_str("sp ace%20\xc3\xa9.txt", "odd name\n");

	/* A file above max_memory_file. */
	static char big[100000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	write_file("big.txt", big, sizeof(big));
	/* max_memory_file (80000) is the largest size kept in memory */
	write_file("edge-in.txt", big, 80000);
	write_file("edge-out.txt", big, 80001);

	nw_config_init(&cfg);
	free(cfg.root);
	cfg.root = strdup(root);
	cfg.max_memory_file = 80000;
	char *envp[] = { "VITE_NAME=World", "OTHER=x", NULL };

	struct nw_snapshot *s = nw_snapshot_load(&cfg, envp, 2, false, err, sizeof(err));
	CHECK(s != NULL);
	if (!s) {
		fprintf(stderr, "load failed: %s\n", err);
		rm_tree(root);
		rm_tree(outside);
		return check_report();
	}
	CHECK_INT(atomic_load(&s->refs), 1);
	CHECK(s->generation > 0);
	CHECK(s->n_slots >= 16 && (s->n_slots & (s->n_slots - 1)) == 0);
	CHECK(s->n_slots >= 2 * s->n_res);

	/* Keys. */
	const struct nw_resource *idx = L(s, "/index.html");
	CHECK(idx != NULL);
	CHECK(L(s, "/") == idx);
	CHECK(s->index_html == idx);
	CHECK(s->not_found == L(s, "/404.html"));
	CHECK(s->not_found != NULL);
	const struct nw_resource *aidx = L(s, "/a/index.html");
	CHECK(aidx != NULL);
	CHECK(L(s, "/a/") == aidx);
	CHECK(L(s, "/a") == NULL);
	CHECK(L(s, "/a/index.htm") == NULL);
	CHECK(L(s, "/index.html/") == NULL);
	CHECK(L(s, "/index.htmlx") == NULL);
	CHECK(L(s, "") == NULL);
	CHECK(L(s, "/assets") == NULL);
	CHECK(L(s, "/assets/") == NULL);
	CHECK(L(s, "/assets/app") == NULL);
	CHECK(L(s, "/ASSETS/app.3f9a1c2b.js") == NULL);
	CHECK(nw_snapshot_lookup(s, "/index.html", 6) == NULL); /* "/index" */
	CHECK(L(s, "/.hidden") == NULL);
	CHECK(L(s, "/.git/config") == NULL);
	CHECK(L(s, "/a/.well-known/x.txt") == NULL);
	CHECK(L(s, "/.well-known/security.txt") != NULL);
	CHECK(L(s, "/link-out.txt") == NULL);
	CHECK(L(s, "/outdir/secret.txt") == NULL);
	CHECK(L(s, "/self") == NULL);
	CHECK(L(s, "/dangling") == NULL);
	CHECK(L(s, "/a/loop/index.html") == NULL);
	CHECK(L(s, "/sp ace%20\xc3\xa9.txt") != NULL);
	CHECK(L(s, "/sp%20ace%2520%C3%A9.txt") == NULL);
	if (as_root)
		fprintf(stderr, "NOTE: running as root: chmod 000 does not make a file "
			"unreadable, skipping the unreadable-file check\n");
	else
		CHECK(L(s, "/unreadable.txt") == NULL);

	/* Templating. */
	CHECK(idx->templated);
	CHECK(idx->is_html);
	CHECK(idx->var[0].body && memmem(idx->var[0].body, idx->size, "Hello World!", 12));
	CHECK(!memmem(idx->var[0].body, idx->size, "{{", 2));
	CHECK(!aidx->templated);
	CHECK(aidx->size == strlen(html_pad));

	/* The big JS: compressed in every codec, decompresses back. */
	const struct nw_resource *js = L(s, "/assets/app.3f9a1c2b.js");
	CHECK(js != NULL);
	if (js) {
		CHECK_INT(js->size, sizeof(big_js));
		CHECK(!js->on_disk);
		CHECK(js->var[0].body && memcmp(js->var[0].body, big_js, sizeof(big_js)) == 0);
		CHECK_INT(js->enc_mask, 0xf);
		CHECK(strstr(js->content_type, "javascript") != NULL);
		CHECK(js->cache_control == nw_config_cache_control(&cfg, js->path, js->content_type));
		CHECK_STR(js->file, js->file); /* non-NULL */
	}
	const struct nw_resource *lin = L(s, "/link-in.js");
	CHECK(lin != NULL);
	if (lin && js) {
		CHECK_STR(lin->etag, js->etag);
		CHECK_INT(lin->size, js->size);
	}

	/* PNG: not compressible. */
	const struct nw_resource *png_r = L(s, "/image.png");
	CHECK(png_r != NULL);
	if (png_r) {
		CHECK_INT(png_r->enc_mask, NW_ENC_BIT(NW_ENC_IDENTITY));
		CHECK_STR(png_r->content_type, "image/png");
		CHECK(!png_r->is_html);
	}

	/* Siblings. */
	const struct nw_resource *cssr = L(s, "/app.css");
	CHECK(cssr != NULL);
	if (cssr) {
		CHECK(cssr->enc_mask & NW_ENC_BIT(NW_ENC_GZIP));
		CHECK(cssr->var[NW_ENC_GZIP].len == gzlen &&
		      memcmp(cssr->var[NW_ENC_GZIP].body, gz, gzlen) == 0);
		CHECK(cssr->enc_mask & NW_ENC_BIT(NW_ENC_BR));
	}
	/* the sibling is a file of its own too, its bytes borrowed from the
	 * variant (counted once in memory) */
	const struct nw_resource *gzr = L(s, "/app.css.gz");
	CHECK(gzr != NULL);
	if (gzr && cssr) {
		CHECK(gzr->var[NW_ENC_IDENTITY].borrowed);
		CHECK(gzr->var[NW_ENC_IDENTITY].body == cssr->var[NW_ENC_GZIP].body);
		CHECK(gzr->size == gzlen);
		CHECK_INT(gzr->enc_mask, NW_ENC_BIT(NW_ENC_IDENTITY));
		CHECK(!cssr->var[NW_ENC_GZIP].borrowed);
	}
	CHECK(L(s, "/stale.css") != NULL);
	CHECK(L(s, "/stale.css.gz") != NULL);  /* a file of its own too */
	CHECK(L(s, "/wrong.css.gz") != NULL);  /* different content: its own file */
	CHECK(L(s, "/orphan.txt.gz") != NULL); /* no base file */
	/* older than its file but the same bytes: used (the bytes decide) */
	const struct nw_resource *stale = L(s, "/stale.css");
	if (stale) {
		CHECK(stale->sibling_mask & NW_ENC_BIT(NW_ENC_GZIP));
		CHECK(stale->var[NW_ENC_GZIP].len == gzlen &&
		      memcmp(stale->var[NW_ENC_GZIP].body, gz, gzlen) == 0);
	}
	const struct nw_resource *wrong = L(s, "/wrong.css");
	if (wrong) {
		CHECK(!(wrong->sibling_mask & NW_ENC_BIT(NW_ENC_GZIP)));
		CHECK(wrong->enc_mask & NW_ENC_BIT(NW_ENC_GZIP)); /* compressed by us */
	}
	/* a sibling larger than the file is not a variant; ours is smaller */
	const struct nw_resource *bs = L(s, "/big-sibling.css");
	CHECK(bs != NULL);
	if (bs) {
		CHECK_INT(bs->sibling_mask, 0);
		CHECK(bs->enc_mask & NW_ENC_BIT(NW_ENC_GZIP));
		CHECK(bs->var[NW_ENC_GZIP].len < sizeof(css));
	}
	CHECK(L(s, "/big-sibling.css.gz") != NULL);
	/* /fooindex.html is no index of /foo */
	CHECK(L(s, "/fooindex.html") != NULL);
	CHECK(L(s, "/foo") == NULL);
	CHECK(L(s, "/foo/") == NULL);
	/* the max_memory_file boundary: larger than it is on disk */
	const struct nw_resource *ein = L(s, "/edge-in.txt"), *eout = L(s, "/edge-out.txt");
	CHECK(ein && !ein->on_disk);
	CHECK(eout && eout->on_disk);

	/* ETags. */
	const struct nw_resource *s1 = L(s, "/same1.txt"), *s2 = L(s, "/same2.txt");
	CHECK(s1 && s2);
	if (s1 && s2) {
		CHECK(etag_ok(s1->etag));
		CHECK(etag_ok(s2->etag));
		CHECK(strcmp(s1->etag, s2->etag) != 0);
		CHECK_INT(s1->size, 4);
		CHECK_INT(s1->enc_mask, 1); /* below min_compress_size */
	}
	const struct nw_resource *emp = L(s, "/empty.txt");
	CHECK(emp && emp->size == 0 && etag_ok(emp->etag));
	if (cssr && stale) /* same bytes, same tag */
		CHECK_STR(cssr->etag, stale->etag);
	if (js)
		CHECK(strcmp(js->etag, idx->etag) != 0);
	/* The templated page's tag is of the rendered body. */
	char want[NW_ETAG_MAX];
	snprintf(want, sizeof(want), "\"%016llx\"",
		 (unsigned long long)nw_hash64(idx->var[0].body, idx->size));
	CHECK_STR(idx->etag, want);

	/* On disk. */
	const struct nw_resource *bigr = L(s, "/big.txt");
	CHECK(bigr != NULL);
	if (bigr) {
		CHECK(bigr->on_disk);
		CHECK(bigr->var[0].body == NULL);
		CHECK_INT(bigr->size, sizeof(big));
		CHECK_INT(bigr->enc_mask, 1);
		snprintf(want, sizeof(want), "\"%016llx\"",
			 (unsigned long long)nw_hash64(big, sizeof(big)));
		CHECK_STR(bigr->etag, want);
		int fd = nw_resource_open(bigr);
		CHECK(fd >= 0);
		if (fd >= 0) {
			static char buf[sizeof(big) + 10];
			ssize_t r = read(fd, buf, sizeof(buf));
			CHECK(r == (ssize_t)sizeof(big) && memcmp(buf, big, sizeof(big)) == 0);
			close(fd);
		}
	}

	/* Every resource: headers and variants. */
	uint64_t bytes = 0, cbytes = 0, mbytes = 0;
	for (size_t i = 0; i < s->n_res; i++) {
		const struct nw_resource *r = &s->res[i];
		CHECK(L(s, r->path) == r);
		CHECK(etag_ok(r->etag));
		CHECK(r->content_type != NULL);
		CHECK(r->cache_control != NULL);
		CHECK(r->cache_control == nw_config_cache_control(&cfg, r->path, r->content_type));
		CHECK(strlen(r->last_modified) == NW_HTTP_DATE_LEN - 1);
		CHECK(r->var[0].len == r->size);
		CHECK(r->on_disk == (r->var[0].body == NULL));
		check_variants(r);
		bytes += r->size;
		if (!r->on_disk && !r->var[0].borrowed)
			mbytes += r->size;
		for (int e = 1; e < NW_ENC_COUNT; e++) {
			cbytes += r->var[e].len * !!r->var[e].body;
			mbytes += r->var[e].len * !!r->var[e].body;
		}
	}
	if (cssr)
		CHECK_STR(cssr->last_modified, "Sun, 09 Sep 2001 01:46:40 GMT");
	if (idx)
		CHECK_STR(idx->cache_control, cfg.cache_html);

	/* Stats. */
	size_t want_files = 24 + (as_root ? 1 : 0); /* app.css.gz too */
	CHECK_INT(s->stats.files, want_files);
	CHECK_INT(s->n_res, want_files);
	/* link-out, outdir, self, dangling, a/loop, unreadable */
	CHECK_INT(s->stats.skipped, as_root ? 5 : 6);
	CHECK_INT(s->stats.bytes, bytes);
	CHECK_INT(s->stats.compressed_bytes, cbytes);
	CHECK_INT(s->stats.memory_bytes, mbytes);
	CHECK(s->stats.compressed_bytes > 0);
	CHECK(s->stats.load_seconds >= 0 && s->stats.load_seconds < 60);

	/* Reference counting. */
	uint64_t gen1 = s->generation;
	s->server_release = on_release;
	nw_snapshot_ref(s);
	nw_snapshot_unref(s);
	CHECK_INT(released, 0);
	nw_snapshot_unref(s);
	CHECK_INT(released, 1);

	/* follow_symlinks serves what points outside; progress output works. */
	cfg.follow_symlinks = true;
	cfg.compress = false;
	s = nw_snapshot_load(&cfg, envp, 0, true, err, sizeof(err));
	CHECK(s != NULL);
	if (s) {
		CHECK(s->generation > gen1);
		CHECK(L(s, "/link-out.txt") != NULL);
		CHECK(L(s, "/outdir/secret.txt") != NULL);
		CHECK(L(s, "/app.css.gz") != NULL); /* no compression: plain file */
		CHECK(s->stats.compressed_bytes == 0);
		nw_snapshot_unref(s);
	}

	/* Errors. */
	free(cfg.root);
	snprintf(path, sizeof(path), "%s/does-not-exist", root);
	cfg.root = strdup(path);
	err[0] = '\0';
	CHECK(nw_snapshot_load(&cfg, envp, 1, false, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "does-not-exist") != NULL);
	free(cfg.root);
	snprintf(path, sizeof(path), "%s/app.css", root);
	cfg.root = strdup(path);
	err[0] = '\0';
	CHECK(nw_snapshot_load(&cfg, envp, 1, false, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "not a directory") != NULL);

	/* An empty root is fine. */
	free(cfg.root);
	snprintf(path, sizeof(path), "%s/outdir-empty", outside);
	mkdir(path, 0755);
	cfg.root = strdup(path);
	s = nw_snapshot_load(&cfg, envp, 1, false, err, sizeof(err));
	CHECK(s && s->n_res == 0 && !s->index_html && L(s, "/") == NULL);
	nw_snapshot_unref(s);

	free(gz);
	nw_config_free(&cfg);
	snprintf(path, sizeof(path), "%s/unreadable.txt", root);
	chmod(path, 0644);
	rm_tree(root);
	rm_tree(outside);
	return check_report();
}
