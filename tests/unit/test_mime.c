#include "check.h"
#include "mime.h"

#define OCTET "application/octet-stream"

#define UTF8 "; charset=utf-8"

/* Types the other checks do not name, each as IANA (or, where IANA has
 * none, as browsers and nginx's mime.types) gives it. */
static void test_more_types(void)
{
	static const struct { const char *path, *type; } want[] = {
		{ "/a.text", "text/plain" UTF8 },
		{ "/README.md", "text/markdown" UTF8 },
		{ "/a.markdown", "text/markdown" UTF8 },
		{ "/a.tsv", "text/tab-separated-values" UTF8 },
		{ "/a.srt", "application/x-subrip" UTF8 },
		{ "/a.xsl", "application/xslt+xml" UTF8 },
		{ "/a.xslt", "application/xslt+xml" UTF8 },
		{ "/a.xhtml", "application/xhtml+xml" UTF8 },
		{ "/a.geojson", "application/geo+json" UTF8 },
		{ "/a.mpd", "application/dash+xml" UTF8 },
		{ "/a.apng", "image/apng" },
		{ "/a.jpe", "image/jpeg" },
		{ "/a.jfif", "image/jpeg" },
		{ "/a.jxl", "image/jxl" },
		{ "/a.heic", "image/heic" },
		{ "/a.heif", "image/heif" },
		{ "/a.cur", "image/x-icon" },
		{ "/a.weba", "audio/webm" },
		{ "/a.mid", "audio/midi" },
		{ "/a.midi", "audio/midi" },
		{ "/a.avi", "video/x-msvideo" },
		{ "/a.mkv", "video/x-matroska" },
		{ "/a.m3u8", "application/vnd.apple.mpegurl" },
		{ "/a.tgz", "application/gzip" },
		{ "/a.bz2", "application/x-bzip2" },
		{ "/a.xz", "application/x-xz" },
		{ "/a.7z", "application/x-7z-compressed" },
		{ "/a.rar", "application/vnd.rar" },
		{ "/a.jar", "application/java-archive" },
		{ "/a.doc", "application/msword" },
		{ "/a.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
		{ "/a.xls", "application/vnd.ms-excel" },
		{ "/a.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
		{ "/a.ppt", "application/vnd.ms-powerpoint" },
		{ "/a.pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation" },
		{ "/a.odt", "application/vnd.oasis.opendocument.text" },
		{ "/a.ods", "application/vnd.oasis.opendocument.spreadsheet" },
		{ "/a.rtf", "application/rtf" },
	};

	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		CHECK_STR(nw_mime_type(want[i].path), want[i].type);
}

static void test_types(void)
{
	CHECK_STR(nw_mime_type("/index.html"), "text/html; charset=utf-8");
	CHECK_STR(nw_mime_type("index.htm"), "text/html; charset=utf-8");
	CHECK_STR(nw_mime_type("/a/b/style.css"), "text/css; charset=utf-8");
	CHECK_STR(nw_mime_type("/app.js"), "text/javascript; charset=utf-8");
	CHECK_STR(nw_mime_type("/app.mjs"), "text/javascript; charset=utf-8");
	CHECK_STR(nw_mime_type("/app.cjs"), "text/javascript; charset=utf-8");
	CHECK_STR(nw_mime_type("/data.json"), "application/json; charset=utf-8");
	CHECK_STR(nw_mime_type("/manifest.json"), "application/json; charset=utf-8");
	CHECK_STR(nw_mime_type("/app.js.map"), "application/json; charset=utf-8");
	CHECK_STR(nw_mime_type("/x.jsonld"), "application/ld+json; charset=utf-8");
	CHECK_STR(nw_mime_type("/site.webmanifest"),
		  "application/manifest+json; charset=utf-8");
	CHECK_STR(nw_mime_type("/logo.svg"), "image/svg+xml; charset=utf-8");
	CHECK_STR(nw_mime_type("/a.wasm"), "application/wasm");
	CHECK_STR(nw_mime_type("/f.woff"), "font/woff");
	CHECK_STR(nw_mime_type("/f.woff2"), "font/woff2");
	CHECK_STR(nw_mime_type("/f.ttf"), "font/ttf");
	CHECK_STR(nw_mime_type("/f.otf"), "font/otf");
	CHECK_STR(nw_mime_type("/f.eot"), "application/vnd.ms-fontobject");
	CHECK_STR(nw_mime_type("/i.png"), "image/png");
	CHECK_STR(nw_mime_type("/i.jpg"), "image/jpeg");
	CHECK_STR(nw_mime_type("/i.jpeg"), "image/jpeg");
	CHECK_STR(nw_mime_type("/i.gif"), "image/gif");
	CHECK_STR(nw_mime_type("/i.webp"), "image/webp");
	CHECK_STR(nw_mime_type("/i.avif"), "image/avif");
	CHECK_STR(nw_mime_type("/favicon.ico"), "image/x-icon");
	CHECK_STR(nw_mime_type("/i.bmp"), "image/bmp");
	CHECK_STR(nw_mime_type("/i.tiff"), "image/tiff");
	CHECK_STR(nw_mime_type("/i.tif"), "image/tiff");
	CHECK_STR(nw_mime_type("/s.mp3"), "audio/mpeg");
	CHECK_STR(nw_mime_type("/s.ogg"), "audio/ogg");
	CHECK_STR(nw_mime_type("/s.oga"), "audio/ogg");
	CHECK_STR(nw_mime_type("/s.opus"), "audio/ogg");
	CHECK_STR(nw_mime_type("/s.wav"), "audio/wav");
	CHECK_STR(nw_mime_type("/s.flac"), "audio/flac");
	CHECK_STR(nw_mime_type("/s.aac"), "audio/aac");
	CHECK_STR(nw_mime_type("/s.m4a"), "audio/mp4");
	CHECK_STR(nw_mime_type("/v.mp4"), "video/mp4");
	CHECK_STR(nw_mime_type("/v.webm"), "video/webm");
	CHECK_STR(nw_mime_type("/v.ogv"), "video/ogg");
	CHECK_STR(nw_mime_type("/v.mov"), "video/quicktime");
	CHECK_STR(nw_mime_type("/v.m4v"), "video/x-m4v");
	CHECK_STR(nw_mime_type("/v.ts"), "video/mp2t");
	CHECK_STR(nw_mime_type("/r.txt"), "text/plain; charset=utf-8");
	CHECK_STR(nw_mime_type("/README.md"), "text/markdown; charset=utf-8");
	CHECK_STR(nw_mime_type("/d.csv"), "text/csv; charset=utf-8");
	CHECK_STR(nw_mime_type("/sitemap.xml"), "application/xml; charset=utf-8");
	CHECK_STR(nw_mime_type("/feed.rss"), "application/rss+xml; charset=utf-8");
	CHECK_STR(nw_mime_type("/feed.atom"), "application/atom+xml; charset=utf-8");
	CHECK_STR(nw_mime_type("/doc.pdf"), "application/pdf");
	CHECK_STR(nw_mime_type("/a.zip"), "application/zip");
	CHECK_STR(nw_mime_type("/a.tar.gz"), "application/gzip");
	CHECK_STR(nw_mime_type("/a.br"), "application/x-brotli");
	CHECK_STR(nw_mime_type("/a.zst"), "application/zstd");
	CHECK_STR(nw_mime_type("/a.tar"), "application/x-tar");
	CHECK_STR(nw_mime_type("/c.yaml"), "application/yaml; charset=utf-8");
	CHECK_STR(nw_mime_type("/c.yml"), "application/yaml; charset=utf-8");
	CHECK_STR(nw_mime_type("/c.toml"), "application/toml; charset=utf-8");
	CHECK_STR(nw_mime_type("/c.ics"), "text/calendar; charset=utf-8");
	CHECK_STR(nw_mime_type("/c.vtt"), "text/vtt; charset=utf-8");
	CHECK_STR(nw_mime_type("/m.glb"), "model/gltf-binary");
	CHECK_STR(nw_mime_type("/m.gltf"), "model/gltf+json; charset=utf-8");
	CHECK_STR(nw_mime_type("/b.epub"), "application/epub+zip");
	CHECK_STR(nw_mime_type("/b.apk"), "application/vnd.android.package-archive");

	/* case-insensitive */
	CHECK_STR(nw_mime_type("/INDEX.HTML"), "text/html; charset=utf-8");
	CHECK_STR(nw_mime_type("/Photo.JpG"), "image/jpeg");
	CHECK_STR(nw_mime_type("/X.WebManifest"),
		  "application/manifest+json; charset=utf-8");

	/* unknown / no extension */
	CHECK_STR(nw_mime_type("/file"), OCTET);
	CHECK_STR(nw_mime_type("/file."), OCTET);
	CHECK_STR(nw_mime_type("/a.b/file"), OCTET);
	CHECK_STR(nw_mime_type("/.htaccess"), OCTET);
	CHECK_STR(nw_mime_type("/.html"), OCTET);      /* a dot file, not HTML */
	CHECK_STR(nw_mime_type("/a/.css"), OCTET);
	CHECK_STR(nw_mime_type("/x.unknownext"), OCTET);
	CHECK_STR(nw_mime_type("/x.htmlx"), OCTET);
	CHECK_STR(nw_mime_type("/x.ht"), OCTET);
	CHECK_STR(nw_mime_type("/x.averyveryverylongextension"), OCTET);
	CHECK_STR(nw_mime_type(""), OCTET);
	CHECK_STR(nw_mime_type("/"), OCTET);
	CHECK_STR(nw_mime_type(NULL), OCTET);
	/* the dot must be in the last segment */
	CHECK_STR(nw_mime_type("/dir.html/"), OCTET);
}

static void test_compressible(void)
{
	const char *yes[] = {
		"/a.html", "/a.css", "/a.js", "/a.mjs", "/a.json", "/a.map",
		"/a.svg", "/a.wasm", "/a.webmanifest", "/a.xml", "/a.rss",
		"/a.atom", "/a.txt", "/a.md", "/a.csv", "/a.ttf", "/a.otf",
		"/a.eot", "/a.ico", "/a.bmp", "/a.yaml", "/a.toml", "/a.ics",
		"/a.vtt", "/a.jsonld", "/a.gltf", "/a.xhtml",
	};
	const char *no[] = {
		"/a.png", "/a.jpg", "/a.gif", "/a.webp", "/a.avif", "/a.woff",
		"/a.woff2", "/a.zip", "/a.gz", "/a.br", "/a.zst", "/a.mp4",
		"/a.webm", "/a.mp3", "/a.ogg", "/a.pdf", "/a.epub", "/a.apk",
		"/a.glb", "/a.bin", "/a",
	};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!nw_mime_compressible(nw_mime_type(yes[i])))
			fprintf(stderr, "  should compress %s\n", yes[i]);
		CHECK(nw_mime_compressible(nw_mime_type(yes[i])));
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		if (nw_mime_compressible(nw_mime_type(no[i])))
			fprintf(stderr, "  should not compress %s\n", no[i]);
		CHECK(!nw_mime_compressible(nw_mime_type(no[i])));
	}
	/* raw Content-Type strings */
	CHECK(nw_mime_compressible("text/plain"));
	CHECK(nw_mime_compressible("TEXT/HTML; charset=UTF-8"));
	CHECK(nw_mime_compressible("text/x-anything"));
	CHECK(nw_mime_compressible("application/javascript"));
	CHECK(nw_mime_compressible("application/javascript; charset=utf-8"));
	CHECK(nw_mime_compressible("application/json"));
	CHECK(nw_mime_compressible("application/problem+json"));
	CHECK(nw_mime_compressible("application/vnd.api+json"));
	CHECK(nw_mime_compressible("application/soap+xml"));
	CHECK(nw_mime_compressible(" image/svg+xml ; charset=utf-8"));
	CHECK(nw_mime_compressible("image/vnd.microsoft.icon"));
	CHECK(nw_mime_compressible("font/ttf"));
	CHECK(!nw_mime_compressible("image/png"));
	CHECK(!nw_mime_compressible("image/jpeg"));
	CHECK(!nw_mime_compressible("font/woff2"));
	CHECK(!nw_mime_compressible("application/zip"));
	CHECK(!nw_mime_compressible("application/epub+zip"));
	CHECK(!nw_mime_compressible("application/octet-stream"));
	CHECK(!nw_mime_compressible("video/mp4"));
	CHECK(!nw_mime_compressible("application/jsonx"));
	CHECK(!nw_mime_compressible("texts/plain"));
	CHECK(!nw_mime_compressible("text"));
	CHECK(!nw_mime_compressible(""));
	CHECK(!nw_mime_compressible(NULL));
}

static void test_is_html(void)
{
	CHECK(nw_mime_is_html(nw_mime_type("/index.html")));
	CHECK(nw_mime_is_html(nw_mime_type("/index.htm")));
	CHECK(nw_mime_is_html("text/html"));
	CHECK(nw_mime_is_html("Text/HTML; charset=utf-8"));
	CHECK(nw_mime_is_html("text/html;charset=utf-8"));
	CHECK(nw_mime_is_html(" text/html "));
	CHECK(!nw_mime_is_html("text/htmlx"));
	CHECK(!nw_mime_is_html("text/htm"));
	CHECK(!nw_mime_is_html("text/plain"));
	CHECK(!nw_mime_is_html("application/xhtml+xml"));
	CHECK(!nw_mime_is_html(nw_mime_type("/a.css")));
	CHECK(!nw_mime_is_html(""));
	CHECK(!nw_mime_is_html(NULL));
}

static void test_hashed(void)
{
	CHECK(nw_path_is_hashed_asset("/assets/app.3f9a1c2b.js"));
	CHECK(nw_path_is_hashed_asset("/assets/index-BxYz12Ab.js"));
	CHECK(nw_path_is_hashed_asset("/chunk.a1b2c3d4e5.css"));
	CHECK(nw_path_is_hashed_asset("main.0123456789abcdef0123.js"));
	CHECK(nw_path_is_hashed_asset("/a/b/vendor-a_b_c_d1.woff2"));
	CHECK(nw_path_is_hashed_asset("/x.12345678.png"));
	CHECK(nw_path_is_hashed_asset("/chunk-vendors.3f9a1c2b.js"));
	CHECK(nw_path_is_hashed_asset("/A.ABCDEFG1.JS"));

	CHECK(!nw_path_is_hashed_asset("/app.js"));
	CHECK(!nw_path_is_hashed_asset("/index.html"));
	CHECK(!nw_path_is_hashed_asset("/app.abcdefgh.js"));     /* no digit */
	CHECK(!nw_path_is_hashed_asset("/app.3f9a1c2.js"));      /* 7 chars */
	CHECK(!nw_path_is_hashed_asset("/3f9a1c2b.js"));         /* no name */
	CHECK(!nw_path_is_hashed_asset("/.3f9a1c2b.js"));
	CHECK(!nw_path_is_hashed_asset("/-3f9a1c2b.js"));
	CHECK(!nw_path_is_hashed_asset("/app_3f9a1c2b.js"));     /* '_' is no separator */
	CHECK(!nw_path_is_hashed_asset("/app.3f9a1c2b"));        /* no extension */
	CHECK(!nw_path_is_hashed_asset("/app.3f9a1c2b."));
	CHECK(!nw_path_is_hashed_asset("/app.3f9a1c2b.min.js")); /* not right before */
	CHECK(!nw_path_is_hashed_asset("/app.3f9a-1c2b.js"));
	CHECK(!nw_path_is_hashed_asset("/app.3f9a1c2b/x.js"));
	CHECK(!nw_path_is_hashed_asset("/jquery-3.7.1.min.js"));
	CHECK(!nw_path_is_hashed_asset(""));
	CHECK(!nw_path_is_hashed_asset("/"));
	CHECK(!nw_path_is_hashed_asset(NULL));
}

int main(void)
{
	test_types();
	test_more_types();
	test_compressible();
	test_is_html();
	test_hashed();
	return check_report();
}
