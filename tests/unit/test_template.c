#include "check.h"
#include "template.h"

#include <stdlib.h>

static struct nw_env_var *vars;
static size_t nvars;
static char rendered[4096];

/* Renders s; returns the output, or "(null)" when the renderer declined. */
static const char *render(const char *s)
{
	size_t n = 12345;
	char *out = nw_template_render(s, strlen(s), vars, nvars, &n);

	if (out == NULL) {
		if (n != 0)
			return "(bad out_len)";
		return "(null)";
	}
	if (n >= sizeof(rendered) || strlen(out) != n) {
		free(out);
		return "(bad length)";
	}
	memcpy(rendered, out, n + 1);
	free(out);
	return rendered;
}

static void test_collect(void)
{
	char *envp[] = {
		"PATH=/usr/bin",
		"VITE_B=2",
		"VITE_A=1",
		"VITE_=empty-name",
		"VITE_X",             /* no '=' */
		"VITE_C=x=y",
		"VITE_A=dup",
		"VITEX=no",
		"vite_lower=no",
		"VITE_EMPTY=",
		"HOME=/root",
		NULL
	};
	char *none[] = { "A=1", NULL };
	size_t n = 99;
	struct nw_env_var *v;

	v = nw_env_collect(envp, "VITE_", &n);
	CHECK(v != NULL);
	CHECK_INT(n, 4);
	if (v && n == 4) {
		CHECK_STR(v[0].name, "A");
		CHECK_STR(v[0].value, "1");
		CHECK_STR(v[0].full_name, "VITE_A");
		CHECK(v[0].value == envp[2] + 7); /* points into envp */
		CHECK_STR(v[1].name, "B");
		CHECK_STR(v[1].value, "2");
		CHECK_STR(v[2].name, "C");
		CHECK_STR(v[2].value, "x=y");
		CHECK_STR(v[3].name, "EMPTY");
		CHECK_STR(v[3].value, "");
		CHECK_STR(v[3].full_name, "VITE_EMPTY");
	}
	free(v);
	/* envp untouched */
	CHECK_STR(envp[1], "VITE_B=2");

	v = nw_env_collect(none, "VITE_", &n);
	CHECK(v != NULL);
	CHECK_INT(n, 0);
	free(v);

	v = nw_env_collect(none, "", &n);
	CHECK_INT(n, 1);
	if (v && n == 1) {
		CHECK_STR(v[0].name, "A");
		CHECK_STR(v[0].full_name, "A");
	}
	free(v);

	v = nw_env_collect(none, NULL, &n);
	CHECK_INT(n, 1);
	free(v);

	v = nw_env_collect(NULL, "VITE_", &n);
	CHECK_INT(n, 0);
	free(v);
}

static void check_json(const struct nw_env_var *v, size_t n, const char *want)
{
	char *j = nw_env_json(v, n);

	CHECK_STR(j, want);
	free(j);
}

static void test_json(void)
{
	struct nw_env_var v[] = {
		{ .name = "API_URL", .value = "https://x" },
		{ .name = "K", .value = "</script><b>&'\"" },
		{ .name = "BS", .value = "a\\b" },
		{ .name = "CTL", .value = "\x01\n\r\t\x1f\x7f\b\f" },
		{ .name = "LS", .value = "a\xe2\x80\xa8" "b\xe2\x80\xa9" "c" },
		{ .name = "U", .value = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
		{ .name = "BAD", .value = "\xff\xc3(\xc0\xaf\xed\xa0\x80\xe2\x82" },
		{ .name = "N<", .value = NULL },
	};

	check_json(NULL, 0, "{}");
	check_json(v, 0, "{}");
	check_json(v, 1, "{\"API_URL\":\"https://x\"}");
	check_json(v + 1, 1,
		   "{\"K\":\"\\u003c/script\\u003e\\u003cb\\u003e\\u0026\\u0027\\u0022\"}");
	check_json(v + 2, 1, "{\"BS\":\"a\\\\b\"}");
	check_json(v + 3, 1,
		   "{\"CTL\":\"\\u0001\\n\\r\\t\\u001f\\u007f\\u0008\\u000c\"}");
	check_json(v + 4, 1, "{\"LS\":\"a\\u2028b\\u2029c\"}");
	check_json(v + 5, 1,
		   "{\"U\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}");
	check_json(v + 6, 1,
		   "{\"BAD\":\"\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"}");
	check_json(v + 7, 1, "{\"N\\u003c\":\"\"}");
	{
		/* inert inside a JS template literal too */
		struct nw_env_var tl = { .name = "TL", .value = "`${globalThis.x=1}`" };

		check_json(&tl, 1, "{\"TL\":\"\\u0060\\u0024{globalThis.x=1}\\u0060\"}");
	}
	check_json(v, 2,
		   "{\"API_URL\":\"https://x\",\"K\":\"\\u003c/script\\u003e\\u003cb\\u003e\\u0026\\u0027\\u0022\"}");
}

#define JSON2 "{\"API_URL\":\"https://x/?a=1\\u0026b=2\"," \
	"\"HTML\":\"\\u003ci\\u003e\\u0026\\u0022\\u0027\"}"
#define ESCAPED2 "{\\\"API_URL\\\":\\\"https://x/?a=1\\\\u0026b=2\\\"," \
	"\\\"HTML\\\":\\\"\\\\u003ci\\\\u003e\\\\u0026\\\\u0022\\\\u0027\\\"}"

static void test_render(void)
{
	struct nw_env_var v[] = {
		{ .name = "API_URL", .value = "https://x/?a=1&b=2", .full_name = "VITE_API_URL" },
		{ .name = "HTML", .value = "<i>&\"'", .full_name = "VITE_HTML" },
		{ .name = "Q", .value = "say \"hi\"\\", .full_name = "VITE_Q" },
		{ .name = "VITE_Q", .value = "shadow", .full_name = "VITE_VITE_Q" },
	};
	size_t n = 0;
	char *out;

	vars = v;
	nvars = 2;

	/* no placeholder: NULL */
	CHECK_STR(render(""), "(null)");
	CHECK_STR(render("<html>plain</html>"), "(null)");
	CHECK_STR(render("{{unknown}}"), "(null)");
	CHECK_STR(render("{{ env. }}"), "(null)");
	CHECK_STR(render("{{env.API_URL"), "(null)");
	CHECK_STR(render("{{env.API_URL}"), "(null)");
	CHECK_STR(render("{{"), "(null)");
	CHECK_STR(render("{"), "(null)");
	CHECK_STR(render("}}"), "(null)");
	CHECK_STR(render("{{JSON}}"), "(null)");
	CHECK_STR(render("{{escapedjson}}"), "(null)");
	CHECK_STR(render("{{Env.API_URL}}"), "(null)");
	CHECK_STR(render("{ {env.API_URL}}"), "(null)");

	/* env */
	CHECK_STR(render("{{env.API_URL}}"), "https://x/?a=1&amp;b=2");
	CHECK_STR(render("[{{env.API_URL}}]"), "[https://x/?a=1&amp;b=2]");
	CHECK_STR(render("{{ env.API_URL }}"), "https://x/?a=1&amp;b=2");
	CHECK_STR(render("{{\tenv.API_URL\n}}"), "https://x/?a=1&amp;b=2");
	CHECK_STR(render("{{env.VITE_API_URL}}"), "https://x/?a=1&amp;b=2");
	CHECK_STR(render("{{env.HTML}}"), "&lt;i&gt;&amp;&quot;&#39;");
	CHECK_STR(render("a{{env.NOPE}}b"), "ab");
	CHECK_STR(render("{{env.API}}"), "");
	CHECK_STR(render("{{env.API_URLX}}"), "");
	CHECK_STR(render("{{env.HTML}}{{env.HTML}}"),
		  "&lt;i&gt;&amp;&quot;&#39;&lt;i&gt;&amp;&quot;&#39;");

	/* unknown and unterminated are copied, the rest still rendered */
	CHECK_STR(render("{{x}} {{env.HTML}}"), "{{x}} &lt;i&gt;&amp;&quot;&#39;");
	CHECK_STR(render("{{env.HTML}} {{"), "&lt;i&gt;&amp;&quot;&#39; {{");
	CHECK_STR(render("{{env.HTML}} {{env.HTML"),
		  "&lt;i&gt;&amp;&quot;&#39; {{env.HTML");
	CHECK_STR(render("{{{env.HTML}}}"), "{&lt;i&gt;&amp;&quot;&#39;}");
	CHECK_STR(render("{{ {{env.HTML}}"), "{{ &lt;i&gt;&amp;&quot;&#39;");
	CHECK_STR(render("{{env.A B}}{{env.HTML}}"),
		  "{{env.A B}}&lt;i&gt;&amp;&quot;&#39;");
	/* a value that looks like a placeholder is not re-expanded */
	{
		struct nw_env_var w[] = {
			{ .name = "T", .value = "{{env.T}}" },
		};
		vars = w;
		nvars = 1;
		CHECK_STR(render("{{env.T}}"), "{{env.T}}");
		vars = v;
		nvars = 2;
	}

	/* JSON */
	CHECK_STR(render("{{Json}}"), JSON2);
	CHECK_STR(render("{{json}}"), JSON2);
	CHECK_STR(render("<script>x={{ Json }};</script>"),
		  "<script>x=" JSON2 ";</script>");
	CHECK_STR(render("{{EscapedJson}}"), ESCAPED2);
	CHECK_STR(render("{{escapedJson}}"), ESCAPED2);
	CHECK_STR(render("JSON.parse(\"{{ EscapedJson }}\")"),
		  "JSON.parse(\"" ESCAPED2 "\")");

	/* backslashes survive the string literal */
	vars = v + 2;
	nvars = 1;
	CHECK_STR(render("{{Json}}"), "{\"Q\":\"say \\u0022hi\\u0022\\\\\"}");
	CHECK_STR(render("{{EscapedJson}}"),
		  "{\\\"Q\\\":\\\"say \\\\u0022hi\\\\u0022\\\\\\\\\\\"}");

	/* stripped names win over full names */
	vars = v + 2;
	nvars = 2;
	CHECK_STR(render("{{env.VITE_Q}}"), "shadow");
	CHECK_STR(render("{{env.VITE_VITE_Q}}"), "shadow");
	CHECK_STR(render("{{env.Q}}"), "say &quot;hi&quot;\\");

	/* no vars at all */
	vars = NULL;
	nvars = 0;
	CHECK_STR(render("{{Json}}"), "{}");
	CHECK_STR(render("{{EscapedJson}}"), "{}");
	CHECK_STR(render("[{{env.X}}]"), "[]");

	/* embedded NUL bytes and len bound */
	vars = v;
	nvars = 2;
	out = nw_template_render("a\0{{env.HTML}}b", 15, vars, nvars, &n);
	CHECK(out != NULL);
	CHECK_INT(n, 28);
	if (out && n == 28) {
		CHECK(memcmp(out, "a\0&lt;i&gt;&amp;&quot;&#39;b", 28) == 0);
		CHECK(out[28] == '\0');
	}
	free(out);
	/* a NUL inside the name never matches (and never over-reads) */
	out = nw_template_render("{{env.HTML\0}}", 13, vars, nvars, &n);
	CHECK(out != NULL);
	CHECK_INT(n, 0);
	free(out);
	out = nw_template_render("{{env.H\0ML}}", 12, vars, nvars, &n);
	CHECK(out != NULL);
	CHECK_INT(n, 0);
	free(out);
	out = nw_template_render("{{env.HTML}}", 11, vars, nvars, &n);
	CHECK(out == NULL);
	CHECK_INT(n, 0);
	free(out);
	out = nw_template_render("xx{{env.HTML}}", 2, vars, nvars, &n);
	CHECK(out == NULL);
	out = nw_template_render(NULL, 0, vars, nvars, &n);
	CHECK(out == NULL);
	/* from nw_env_collect, end to end */
	{
		char *envp[] = { "VITE_FOO=bar", "OTHER=secret", NULL };
		size_t c = 0;
		struct nw_env_var *cv = nw_env_collect(envp, "VITE_", &c);
		const char *in = "{{env.FOO}}|{{env.VITE_FOO}}|{{env.OTHER}}|{{Json}}";

		out = nw_template_render(in, strlen(in), cv, c, &n);
		CHECK_STR(out, "bar|bar||{\"FOO\":\"bar\"}");
		free(out);
		free(cv);
	}
}

int main(void)
{
	test_collect();
	test_json();
	test_render();
	return check_report();
}
