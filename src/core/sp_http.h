/*
 * sp_http.h - pure helpers of the DCI HTTP gateway (src/gateway): callback
 * URL checks (the same rules as sp_internal.dci_callback_allowed and
 * sp_internal.dci_prefix_valid in sql/79_dci.sql), bearer tokens, the
 * listen address, a per-client token bucket, JSON string escaping and
 * UUIDs.
 *
 * Pure C (no postgres.h, no libmicrohttpd): unit-tested standalone in
 * test/unit/test_http.c.
 */
#ifndef SP_HTTP_H
#define SP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

/* Longest callback URL and prefix accepted (as in SQL). */
#define SP_HTTP_MAX_URI		2000
#define SP_HTTP_MAX_PREFIX	500

/*
 * Whether prefix is http(s)://host[:port]/path/ with a path of whole
 * segments ending in "/", no user info, query, fragment or dot segments.
 */
extern bool sp_http_prefix_valid(const char *prefix);

/*
 * Whether uri is an http(s) URL without user info, fragment, ';', dot or
 * empty path segments, or encoded dots, slashes and backslashes, that starts
 * with one of the n prefixes.
 */
extern bool sp_http_callback_allowed(const char *uri, const char *const *prefixes, size_t n);

/*
 * The token of an Authorization header value "Bearer <token>" (scheme
 * case-insensitive, blanks around the token ignored): its start and length
 * in *token and *len.  False when the header is missing, of another scheme,
 * empty, or holds anything but visible ASCII inside the token.
 */
extern bool sp_http_bearer(const char *header, const char **token, size_t *len);

/*
 * "host:port", "[v6]:port" or ":port" (all interfaces): host copied into
 * host (hostlen bytes, NUL-terminated; "" for all interfaces) and the port.
 * False for anything else, a port outside 1..65535 or a host too long.
 */
extern bool sp_http_parse_listen(const char *s, char *host, size_t hostlen, int *port);

/*
 * A token bucket: rate tokens per second, at most burst.  sp_rate_take
 * takes one token at time now (seconds, monotonic) and says whether there
 * was one; when not, *retry_after (if not NULL) is the seconds until there
 * will be.  A new bucket is all zeros: it starts full.
 */
typedef struct sp_rate_bucket
{
	double		tokens;
	double		last;
	bool		started;
} sp_rate_bucket;

extern bool sp_rate_take(sp_rate_bucket *b, double now, double rate, double burst, double *retry_after);

/*
 * in as the body of a JSON string (quotes, backslashes and control
 * characters escaped; bytes >= 0x80 copied: the input is UTF-8).  Writes at
 * most outlen bytes including the NUL and returns the length the whole
 * escaped text needs (without the NUL), like snprintf.
 */
extern size_t sp_json_escape(const char *in, char *out, size_t outlen);

/* A version 4 UUID in canonical form from 16 random bytes (out: 37 bytes). */
extern void sp_uuid_format(const unsigned char random16[16], char out[37]);

/*
 * Whether a callback may connect to this address when the callback's host is
 * a name (an address literal in a registered prefix is the administrator's
 * choice): never loopback, unspecified, link-local (cloud metadata lives
 * there), multicast or broadcast; private ranges (10/8, 172.16/12,
 * 192.168/16, 100.64/10, fc00::/7) only when deny_private is false.  addr is
 * 4 bytes (family 4) or 16 (family 6), network order; an IPv4-mapped IPv6
 * address is judged as IPv4.
 */
extern bool sp_http_address_allowed(int family, const unsigned char *addr, bool deny_private);

/* SHA-256 of len bytes: 32 bytes, or 64 lower-case hex digits and a NUL. */
extern void sp_sha256(const void *data, size_t len, unsigned char out[32]);
extern void sp_sha256_hex(const void *data, size_t len, char out[65]);

#endif							/* SP_HTTP_H */
