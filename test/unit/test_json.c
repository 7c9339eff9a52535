/* Unit tests of src/core/sp_json.c (the command-line tool's JSON check and buffer) */
#include "tap.h"
#include "sp_json.h"

#include <stdlib.h>

#define V(s, obj) sp_json_valid(s, strlen(s), obj, NULL)

int
main(void)
{
	static const char *const good[] = {
		"{}", "[]", "0", "-1.5e+10", "\"x\"", "true", "null", " {\"a\": [1, 2, {\"b\": null}], \"c\": \"\\u00e9\\n\"} ",
		"{\"name\": \"Иван محمد 王\"}", "[\"\\\"\", \"\\\\\", \"\\/\"]",
	};
	static const char *const bad[] = {
		"", "{", "}", "{\"a\" 1}", "{\"a\": 1,}", "[1,]", "[1 2]", "01", "1.", "-", ".5", "1e", "tru", "nul",
		"{a: 1}", "'x'", "\"unterminated", "\"bad \\x escape\"", "\"\\u12G4\"", "{} {}", "[1] x", "\"tab\there\"",
		"NaN", "Infinity", "{\"a\": 1}}",
	};
	size_t		where = 0;
	char	   *deep;
	sp_buf		b = {0};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(V(good[i], false), "valid: %s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!V(bad[i], false), "invalid: %s", bad[i]);
	ok(V("{\"a\": 1}", true) && !V("[1]", true) && !V("\"s\"", true), "object_only: only objects");
	ok(!V("\"\\u0000\"", false), "\\u0000 refused (PostgreSQL text cannot hold it)");
	ok(!V("\"\\ud800\"", false) && !V("\"\\udc00\"", false) && !V("\"\\ud800\\u0041\"", false), "lone surrogates refused");
	ok(V("\"\\ud83d\\ude00\"", false), "a surrogate pair is fine");
	ok(!sp_json_valid("\"\xff\"", 3, false, NULL), "invalid UTF-8 in a string");
	ok(!sp_json_valid("\"\xc0\xaf\"", 4, false, NULL), "an overlong UTF-8 form");
	ok(!sp_json_valid("\"\xed\xa0\x80\"", 5, false, NULL), "a UTF-8 surrogate");
	ok(!sp_json_valid("{\"a\"\0: 1}", 9, false, NULL), "a NUL byte");
	ok(!sp_json_valid("{\"a\": 1, \"b\" 2}", 15, false, &where) && where == 13, "the offset of the problem (got %zu)", where);
	deep = malloc(2001);
	if (deep == NULL)
		return 1;
	memset(deep, '[', 1000);
	memset(deep + 1000, ']', 1000);
	deep[2000] = '\0';
	ok(!V(deep, false), "1,000 levels deep: refused");
	memset(deep, '[', 500);
	memset(deep + 500, ']', 500);
	deep[1000] = '\0';
	ok(V(deep, false), "500 levels deep: fine");
	free(deep);

	ok(sp_buf_puts(&b, "{\"k\": ") && sp_buf_json_string(&b, "a\"b\\c\n\x01", 7) && sp_buf_puts(&b, "}"), "buffer appends");
	is_str(b.data, "{\"k\": \"a\\\"b\\\\c\\u000a\\u0001\"}", "strings escaped");
	ok(sp_json_valid(b.data, b.len, true, NULL), "what the buffer builds is valid JSON");
	sp_buf_free(&b);
	for (int i = 0; i < 100000; i++)
		sp_buf_puts(&b, "0123456789");
	is_int(b.len, 1000000, "a million bytes appended");
	sp_buf_free(&b);
	return done_testing();
}
