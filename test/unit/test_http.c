/* Unit tests of src/core/sp_http.c (the DCI gateway's pure helpers) */
#include "tap.h"
#include "sp_http.h"

#include <stdlib.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

int
main(void)
{
	static const char *const prefixes[] = {"http://127.0.0.1:8099/dci/", "https://spmis.example.org/callbacks/"};
	static const struct
	{
		const char *uri;
		bool		allowed;
	}			uris[] = {
		{"http://127.0.0.1:8099/dci/on-search", true},
		{"http://127.0.0.1:8099/dci/", true},
		{"https://spmis.example.org/callbacks/notify?x=1", true},
		{"http://127.0.0.1:8099/dci", false},				/* shorter than the prefix */
		{"http://127.0.0.1:8099/dcix/on-search", false},
		{"http://127.0.0.1:8099/dci/../admin", false},
		{"http://127.0.0.1:8099/dci/./x", false},
		{"http://127.0.0.1:8099/dci/..", false},
		{"http://127.0.0.1:8099/dci/..?q", false},
		{"http://127.0.0.1:8099/dci/%2e%2e/admin", false},
		{"http://127.0.0.1:8099/dci/%2F", false},
		{"http://127.0.0.1:8099.evil.net/dci/", false},
		{"http://user@127.0.0.1:8099/dci/", false},
		{"http://127.0.0.1:8099/dci/x#frag", false},
		{"http://127.0.0.1:8099/dci/a b", false},
		{"ftp://127.0.0.1:8099/dci/", false},
		{"HTTP://127.0.0.1:8099/dci/", false},
		{"https://spmis.example.org.evil.net/callbacks/", false},
		{"https://spmis.example.org/callbacks/\n", false},
		{"", false},
		{"http://:8099/dci/", false},
		{"http://127.0.0.1:123456/dci/", false},
		{"http://127.0.0.1:8099/dci/..;/admin", false},			/* ';' (Tomcat reads "..;" as "..") */
		{"http://127.0.0.1:8099/dci/..%5cadmin", false},		/* an encoded backslash */
		{"http://127.0.0.1:8099/dci//admin", false},			/* an empty segment */
		{"http://127.0.0.1:8099/dci/x?next=//evil", true},		/* (in the query: not a path) */
	};
	static const struct
	{
		const char *prefix;
		bool		valid;
	}			pre[] = {
		{"https://spmis.example.org/", true},
		{"https://spmis.example.org/dci/", true},
		{"http://127.0.0.1:8099/dci/v1/", true},
		{"https://spmis.example.org", false},
		{"https://spmis.example.org/cb", false},
		{"ftp://spmis.example.org/", false},
		{"https://user@spmis.example.org/", false},
		{"https://spmis.example.org/a/../b/", false},
		{"https://spmis.example.org/./", false},
		{"https://spmis.example.org//", false},
		{"https://spmis.example.org/?q=/", false},
		{"https://spmis.example.org/#/", false},
		{"https:///", false},
		{"https://a.b/1", false},						/* no trailing "/" (once read past the end) */
		{"https://a.b/x;y/", false},
	};
	size_t		i;
	const char *tok;
	size_t		tlen;
	char		host[64];
	int			port;
	char		big[SP_HTTP_MAX_URI + 64];

	for (i = 0; i < N(uris); i++)
		ok(sp_http_callback_allowed(uris[i].uri, prefixes, N(prefixes)) == uris[i].allowed,
		   "callback %s %s", strchr(uris[i].uri, '\n') ? "(with a newline)" : uris[i].uri, uris[i].allowed ? "allowed" : "refused");
	ok(!sp_http_callback_allowed("http://127.0.0.1:8099/dci/x", prefixes, 0), "no prefixes: nothing allowed");
	ok(!sp_http_callback_allowed(NULL, prefixes, N(prefixes)), "NULL URL refused");
	memcpy(big, "http://127.0.0.1:8099/dci/", 26);
	memset(big + 26, 'a', sizeof(big) - 27);
	big[sizeof(big) - 1] = '\0';
	ok(!sp_http_callback_allowed(big, prefixes, N(prefixes)), "a URL over %d characters refused", SP_HTTP_MAX_URI);
	for (i = 0; i < N(pre); i++)
		ok(sp_http_prefix_valid(pre[i].prefix) == pre[i].valid, "prefix %s %s", pre[i].prefix, pre[i].valid ? "valid" : "invalid");
	/* every valid prefix allows itself and what is below it */
	for (i = 0; i < N(pre); i++)
		if (pre[i].valid)
		{
			char		below[600];
			const char *one[1];

			one[0] = pre[i].prefix;
			snprintf(below, sizeof(below), "%son-search", pre[i].prefix);
			ok(sp_http_callback_allowed(below, one, 1), "%s allows what is below it", pre[i].prefix);
		}

	ok(sp_http_bearer("Bearer abc.def", &tok, &tlen) && tlen == 7 && strncmp(tok, "abc.def", 7) == 0, "bearer token read");
	ok(sp_http_bearer("  bearer \t tok  ", &tok, &tlen) && tlen == 3 && strncmp(tok, "tok", 3) == 0, "scheme case-insensitive, blanks trimmed");
	ok(!sp_http_bearer("Basic dXNlcjpwYXNz", &tok, &tlen), "another scheme refused");
	ok(!sp_http_bearer("Bearer", &tok, &tlen), "no token refused");
	ok(!sp_http_bearer("Bearer    ", &tok, &tlen), "a blank token refused");
	ok(!sp_http_bearer("Bearer a b", &tok, &tlen), "a token with a blank inside refused");
	ok(!sp_http_bearer("Bearer a\x01" "b", &tok, &tlen), "a token with a control character refused");
	ok(!sp_http_bearer("Bearerabc", &tok, &tlen), "no space after the scheme refused");
	ok(!sp_http_bearer(NULL, &tok, &tlen), "no header refused");
	ok(!sp_http_bearer("Bearer t\xc3\xa9st", &tok, &tlen), "a token beyond visible ASCII refused");

	ok(sp_http_parse_listen("127.0.0.1:8080", host, sizeof(host), &port) && strcmp(host, "127.0.0.1") == 0 && port == 8080, "host:port");
	ok(sp_http_parse_listen(":80", host, sizeof(host), &port) && host[0] == '\0' && port == 80, ":port is every interface");
	ok(sp_http_parse_listen("[::1]:9000", host, sizeof(host), &port) && strcmp(host, "::1") == 0 && port == 9000, "[v6]:port");
	ok(!sp_http_parse_listen("::1:9000", host, sizeof(host), &port), "v6 without brackets refused");
	ok(!sp_http_parse_listen("127.0.0.1", host, sizeof(host), &port), "no port refused");
	ok(!sp_http_parse_listen("127.0.0.1:0", host, sizeof(host), &port), "port 0 refused");
	ok(!sp_http_parse_listen("127.0.0.1:65536", host, sizeof(host), &port), "port 65536 refused");
	ok(!sp_http_parse_listen("127.0.0.1:80x", host, sizeof(host), &port), "a port with letters refused");
	ok(!sp_http_parse_listen("127.0.0.1:", host, sizeof(host), &port), "an empty port refused");
	ok(!sp_http_parse_listen("a-very-long-host-name-that-does-not-fit-in-sixty-four-bytes-at-all.example.org:80",
							 host, sizeof(host), &port), "a host too long refused");

	{
		sp_rate_bucket b = {0};
		double		retry = 0;
		int			taken = 0;

		for (i = 0; i < 10; i++)
			taken += sp_rate_take(&b, 100.0, 2, 5, &retry);
		is_int(taken, 5, "a new bucket gives its burst at once");
		ok(!sp_rate_take(&b, 100.0, 2, 5, &retry) && retry > 0.49 && retry < 0.51, "then refuses, retry after 0.5 s (got %.3f)", retry);
		ok(sp_rate_take(&b, 100.5, 2, 5, &retry), "half a second later at 2/s: one more");
		ok(!sp_rate_take(&b, 100.6, 2, 5, &retry), "not two");
		taken = 0;
		for (i = 0; i < 10; i++)
			taken += sp_rate_take(&b, 1000.0, 2, 5, &retry);
		is_int(taken, 5, "after a long pause: the burst again, no more");
		ok(!sp_rate_take(&b, 999.0, 2, 5, &retry), "a clock going back gives nothing");
	}

	{
		char		out[64];
		size_t		need;

		need = sp_json_escape("a\"b\\c\n\x01" "é", out, sizeof(out));
		is_str(out, "a\\\"b\\\\c\\n\\u0001é", "quotes, backslashes and controls escaped, UTF-8 kept");
		is_int(need, strlen("a\\\"b\\\\c\\n\\u0001é"), "the length needed");
		need = sp_json_escape("abc\"def", out, 5);
		is_str(out, "abc", "truncated at a whole escape");
		is_int(need, 8, "and says what it needed");
		is_int(sp_json_escape("xyz", NULL, 0), 3, "a NULL buffer: only the length");
		is_int(sp_json_escape(NULL, out, sizeof(out)), 0, "NULL in: empty");
	}

	{
		unsigned char r[16];
		char		u[37];

		memset(r, 0xff, sizeof(r));
		sp_uuid_format(r, u);
		is_str(u, "ffffffff-ffff-4fff-bfff-ffffffffffff", "version and variant bits set");
		memset(r, 0, sizeof(r));
		sp_uuid_format(r, u);
		is_str(u, "00000000-0000-4000-8000-000000000000", "canonical form");
	}
	{
		char		hex[65];
		char	   *m;

		sp_sha256_hex("", 0, hex);
		is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "SHA-256 of nothing");
		sp_sha256_hex("abc", 3, hex);
		is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "SHA-256 of abc");
		sp_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
		is_str(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "SHA-256 across two blocks (56 bytes)");
		m = malloc(1000000);
		memset(m, 'a', 1000000);
		sp_sha256_hex(m, 1000000, hex);
		is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "SHA-256 of a million a's");
		free(m);
		/* prefixes on the heap: nothing is read past their end (ASan would say) */
		m = malloc(13);
		memcpy(m, "http://a.b/1", 13);
		ok(!sp_http_prefix_valid(m), "a heap prefix without the trailing slash is invalid");
		free(m);
	}
	{
		static const struct
		{
			int			family;
			unsigned char a[16];
			bool		allowed;		/* deny_private off */
			bool		allowed_strict; /* deny_private on */
			const char *what;
		}			addrs[] = {
			{4, {93, 184, 216, 34}, true, true, "a public address"},
			{4, {127, 0, 0, 1}, false, false, "loopback"},
			{4, {0, 0, 0, 0}, false, false, "0.0.0.0"},
			{4, {169, 254, 169, 254}, false, false, "the cloud metadata address"},
			{4, {224, 0, 0, 1}, false, false, "multicast"},
			{4, {255, 255, 255, 255}, false, false, "broadcast"},
			{4, {10, 1, 2, 3}, true, false, "10/8"},
			{4, {172, 16, 0, 1}, true, false, "172.16/12"},
			{4, {172, 32, 0, 1}, true, true, "172.32 (outside 172.16/12)"},
			{4, {192, 168, 1, 1}, true, false, "192.168/16"},
			{4, {100, 64, 0, 1}, true, false, "100.64/10"},
			{6, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, false, false, "::1"},
			{6, {0}, false, false, "::"},
			{6, {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, false, false, "fe80::1"},
			{6, {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, false, false, "ff02::1"},
			{6, {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, true, false, "fd00::1"},
			{6, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, true, true, "2001:db8::1"},
			{6, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1}, false, false, "::ffff:127.0.0.1 (mapped loopback)"},
			{6, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 169, 254, 169, 254}, false, false, "::ffff:169.254.169.254"},
		};

		for (i = 0; i < N(addrs); i++)
		{
			ok(sp_http_address_allowed(addrs[i].family, addrs[i].a, false) == addrs[i].allowed,
			   "callback to %s %s", addrs[i].what, addrs[i].allowed ? "allowed" : "refused");
			ok(sp_http_address_allowed(addrs[i].family, addrs[i].a, true) == addrs[i].allowed_strict,
			   "with private networks denied: %s %s", addrs[i].what, addrs[i].allowed_strict ? "allowed" : "refused");
		}
	}
	return done_testing();
}
