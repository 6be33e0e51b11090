#include "check.h"
#include "spa.h"

#define CHROME_NAV "text/html,application/xhtml+xml,application/xml;q=0.9," \
	"image/avif,image/webp,image/apng,*/*;q=0.8," \
	"application/signed-exchange;v=b3;q=0.7"
#define FIREFOX_IMG "image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"

static void test_accept(void)
{
	CHECK(nw_accept_lists_html("text/html"));
	CHECK(nw_accept_lists_html("TEXT/HTML"));
	CHECK(nw_accept_lists_html(CHROME_NAV));
	CHECK(nw_accept_lists_html("text/html,application/xhtml+xml,"
				   "application/xml;q=0.9,*/*;q=0.8"));
	CHECK(nw_accept_lists_html("application/json, text/html;q=0.1"));
	CHECK(nw_accept_lists_html("text/html;q=1"));
	CHECK(nw_accept_lists_html("text/html;q=1.000"));
	CHECK(nw_accept_lists_html("text/html;q=0.001"));
	CHECK(nw_accept_lists_html("text/html ; Q=0.5"));
	CHECK(nw_accept_lists_html("text/html;level=1"));
	CHECK(nw_accept_lists_html("text/html;charset=\"utf-8, x\";q=0.5"));
	CHECK(nw_accept_lists_html(" ,, text/html ,"));
	CHECK(nw_accept_lists_html("\ttext/html\t"));
	/* a malformed element does not hide the rest of the list */
	CHECK(nw_accept_lists_html("garbage, text/html"));
	CHECK(nw_accept_lists_html("a/b;q=2, text/html"));
	CHECK(nw_accept_lists_html("a/b;x=\"q,=;\", text/html"));

	CHECK(!nw_accept_lists_html(NULL));
	CHECK(!nw_accept_lists_html(""));
	CHECK(!nw_accept_lists_html("   "));
	CHECK(!nw_accept_lists_html("*/*"));
	CHECK(!nw_accept_lists_html("text/*"));
	CHECK(!nw_accept_lists_html("application/json, */*;q=0.8"));
	CHECK(!nw_accept_lists_html(FIREFOX_IMG));
	CHECK(!nw_accept_lists_html("text/html;q=0"));
	CHECK(!nw_accept_lists_html("text/html;q=0.0"));
	CHECK(!nw_accept_lists_html("text/html;q=0.000"));
	CHECK(!nw_accept_lists_html("text/html;q=0, */*"));
	/* a refusal wins over another listing */
	CHECK(!nw_accept_lists_html("text/html, text/html;q=0"));
	CHECK(!nw_accept_lists_html("text/html;q=0, text/html"));
	/* not text/html */
	CHECK(!nw_accept_lists_html("text/htmlx"));
	CHECK(!nw_accept_lists_html("text/htm"));
	CHECK(!nw_accept_lists_html("xtext/html"));
	CHECK(!nw_accept_lists_html("application/xhtml+xml"));
	CHECK(!nw_accept_lists_html("text/plain; x=text/html"));
	CHECK(!nw_accept_lists_html("text/plain;x=\"text/html\""));
	/* malformed text/html elements are skipped */
	CHECK(!nw_accept_lists_html("text/html;q=2"));
	CHECK(!nw_accept_lists_html("text/html;q=0.5x"));
	CHECK(!nw_accept_lists_html("text/html;q=0.0001"));
	CHECK(!nw_accept_lists_html("text/html;q="));
	CHECK(!nw_accept_lists_html("text/html;q"));
	CHECK(!nw_accept_lists_html("text/html/x"));
	CHECK(!nw_accept_lists_html("text /html"));
	CHECK(!nw_accept_lists_html("text/html x"));
	CHECK(!nw_accept_lists_html("text/html;a=\"unterminated"));
	CHECK(!nw_accept_lists_html("text/"));
	/* empty parameters are allowed (RFC 9110 5.6.6) */
	CHECK(nw_accept_lists_html("text/html;"));
	CHECK(nw_accept_lists_html("text/html;;q=0.5"));
	CHECK(nw_accept_lists_html("text/html ; ; level=1 ;"));
	CHECK(!nw_accept_lists_html("text/html;;q=0"));
	CHECK(!nw_accept_lists_html("/html"));
}

static void test_navigate(void)
{
	CHECK(nw_spa_fallback("/users/jane.doe", "navigate", "document", CHROME_NAV));
	CHECK(nw_spa_fallback("/v/1.2", "navigate", "document", NULL));
	CHECK(nw_spa_fallback("/dashboard", "navigate", "iframe", "*/*"));
	CHECK(nw_spa_fallback("/x.png", "Navigate", NULL, NULL));
	CHECK(nw_spa_fallback("/x.png", "NAVIGATE", NULL, "text/html;q=0"));
	CHECK(!nw_spa_fallback("/x", "navigatex", NULL, NULL));
	CHECK(!nw_spa_fallback("/x", "navigat", NULL, NULL));
}

static void test_accept_html(void)
{
	/* a file name is a 404 unless navigated to: crawlers send text/html
	 * for robots.txt and sitemap.xml, and no Sec-Fetch-* */
	CHECK(!nw_spa_fallback("/users/jane.doe", NULL, NULL, CHROME_NAV));
	CHECK(!nw_spa_fallback("/robots.txt", NULL, NULL, "text/html,*/*;q=0.8"));
	CHECK(!nw_spa_fallback("/sitemap.xml", NULL, NULL, "text/html"));
	CHECK(!nw_spa_fallback("/page.html", "cors", "empty", "text/html"));
	/* fetch() asking for HTML (htmx and the like) */
	CHECK(nw_spa_fallback("/page", "cors", "empty", "text/html"));
	CHECK(nw_spa_fallback("/page", "same-origin", NULL, "text/html;level=1;"));
	CHECK(!nw_spa_fallback("/page", "cors", "empty", "text/html;q=0"));
}

static void test_subresources(void)
{
	CHECK(!nw_spa_fallback("/api/x", "cors", "empty", "*/*"));
	CHECK(!nw_spa_fallback("/api/x", "same-origin", "empty", "application/json"));
	CHECK(!nw_spa_fallback("/missing", "no-cors", "image", FIREFOX_IMG));
	CHECK(!nw_spa_fallback("/chunk", "cors", "script", "*/*"));
	CHECK(!nw_spa_fallback("/x", "no-cors", "style", "text/css,*/*;q=0.1"));
	CHECK(!nw_spa_fallback("/x", "websocket", "websocket", NULL));
	/* any present value: an unknown mode, a Dest alone */
	CHECK(!nw_spa_fallback("/x", "bogus", NULL, NULL));
	CHECK(!nw_spa_fallback("/x", NULL, "image", NULL));
	CHECK(!nw_spa_fallback("/x", NULL, "document", "*/*"));
}

static void test_old_rule(void)
{
	CHECK(nw_spa_fallback("/dashboard", NULL, NULL, NULL));
	CHECK(nw_spa_fallback("/dashboard", NULL, NULL, "*/*"));
	CHECK(nw_spa_fallback("/a.b/c", NULL, NULL, "*/*"));
	CHECK(nw_spa_fallback("/dashboard/", NULL, NULL, "*/*"));
	CHECK(!nw_spa_fallback("/nope.png", NULL, NULL, "*/*"));
	CHECK(!nw_spa_fallback("/users/jane.doe", NULL, NULL, NULL));
	CHECK(!nw_spa_fallback("/nope.png", NULL, NULL, "text/html;q=0"));
	/* empty values count as absent */
	CHECK(nw_spa_fallback("/dashboard", "", "", ""));
	CHECK(!nw_spa_fallback("/nope.png", "", "", ""));
}

static void test_well_known(void)
{
	CHECK(!nw_spa_fallback("/.well-known/acme-challenge/abc", NULL, NULL, NULL));
	CHECK(!nw_spa_fallback("/.well-known/apple-app-site-association",
			       NULL, NULL, "*/*"));
	CHECK(!nw_spa_fallback("/.well-known/x", "navigate", "document", CHROME_NAV));
	CHECK(!nw_spa_fallback("/.well-known", NULL, NULL, NULL));
	CHECK(nw_spa_fallback("/.well-knownx", NULL, NULL, NULL));
	CHECK(nw_spa_fallback("/app/.well-known/x", NULL, NULL, NULL));
	CHECK(!nw_spa_applies("/.well-known/x"));
	CHECK(!nw_spa_applies("/.well-known"));
	CHECK(nw_spa_applies("/.well-knownx"));
	CHECK(nw_spa_applies("/dashboard"));
}

int main(void)
{
	test_accept();
	test_navigate();
	test_accept_html();
	test_subresources();
	test_old_rule();
	test_well_known();
	return check_report();
}
