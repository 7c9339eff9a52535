/*
 * sp_http.c - pure helpers of the DCI HTTP gateway.  See sp_http.h.
 */
#include "sp_http.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static bool
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool
is_host_char(char c)
{
	return is_alnum(c) || c == '.' || c == '-';
}

/*
 * RFC 3986 unreserved and sub-delims, plus ':' and '@' (pchar), without ';'
 * (some servers read "/a;x/" as a path parameter, "..;" as "..").  Never the
 * NUL: strchr finds the terminator of its set.
 */
static bool
is_segment_char(char c)
{
	return c != '\0' && (is_alnum(c) || strchr("._~%!$&'()*+,=:@-", c) != NULL);
}

static char
lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

/*
 * "http://" or "https://", a host of [A-Za-z0-9.-]+, an optional port of 1
 * to 5 digits: the length of that authority part, or 0.
 */
static size_t
scheme_and_authority(const char *s)
{
	size_t		i;
	size_t		host_start;
	size_t		digits;

	if (strncmp(s, "http://", 7) == 0)
		i = 7;
	else if (strncmp(s, "https://", 8) == 0)
		i = 8;
	else
		return 0;
	host_start = i;
	while (is_host_char(s[i]))
		i++;
	if (i == host_start)
		return 0;
	if (s[i] == ':')
	{
		i++;
		digits = 0;
		while (s[i] >= '0' && s[i] <= '9')
		{
			i++;
			digits++;
		}
		if (digits < 1 || digits > 5)
			return 0;
	}
	return i;
}

/* a "." or ".." segment at p (p just after a '/'), ending at '/', '?' or the end */
static bool
dot_segment(const char *p)
{
	if (p[0] != '.')
		return false;
	if (p[1] == '\0' || p[1] == '/' || p[1] == '?')
		return true;
	return p[1] == '.' && (p[2] == '\0' || p[2] == '/' || p[2] == '?');
}

bool
sp_http_prefix_valid(const char *prefix)
{
	size_t		len;
	size_t		i;

	if (prefix == NULL)
		return false;
	len = strlen(prefix);
	if (len > SP_HTTP_MAX_PREFIX)
		return false;
	i = scheme_and_authority(prefix);
	if (i == 0 || prefix[i] != '/')
		return false;
	/* whole segments, each followed by '/' */
	i++;
	while (prefix[i] != '\0')
	{
		size_t		start = i;

		if (dot_segment(prefix + i))
			return false;
		while (is_segment_char(prefix[i]))
			i++;
		if (i == start || prefix[i] != '/')
			return false;
		i++;
	}
	return true;
}

bool
sp_http_callback_allowed(const char *uri, const char *const *prefixes, size_t n)
{
	size_t		len;
	size_t		i;
	size_t		k;

	if (uri == NULL || prefixes == NULL)
		return false;
	len = strlen(uri);
	if (len > SP_HTTP_MAX_URI)
		return false;
	i = scheme_and_authority(uri);
	if (i == 0)
		return false;
	if (uri[i] != '\0')
	{
		bool		in_query = false;

		if (uri[i] != '/')
			return false;
		for (k = i; uri[k] != '\0'; k++)
		{
			char		c = uri[k];

			if (!(is_segment_char(c) || c == '/' || c == '?'))
				return false;
			if (c == '?')
				in_query = true;
			/* a dot segment, or an empty one ("//"), in the path */
			if (c == '/' && !in_query && (dot_segment(uri + k + 1) || uri[k + 1] == '/'))
				return false;
			/* an encoded dot, slash or backslash could make a dot segment downstream */
			if (c == '%' && ((uri[k + 1] == '2' && (lower(uri[k + 2]) == 'e' || lower(uri[k + 2]) == 'f'))
							 || (uri[k + 1] == '5' && lower(uri[k + 2]) == 'c')))
				return false;
		}
	}
	for (k = 0; k < n; k++)
	{
		size_t		plen;

		if (prefixes[k] == NULL)
			continue;
		plen = strlen(prefixes[k]);
		if (plen > 0 && plen <= len && strncmp(uri, prefixes[k], plen) == 0)
			return true;
	}
	return false;
}

bool
sp_http_bearer(const char *header, const char **token, size_t *len)
{
	const char *p;
	const char *end;
	const char *q;

	if (header == NULL)
		return false;
	p = header;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strlen(p) < 7)
		return false;
	if (lower(p[0]) != 'b' || lower(p[1]) != 'e' || lower(p[2]) != 'a' || lower(p[3]) != 'r'
		|| lower(p[4]) != 'e' || lower(p[5]) != 'r' || (p[6] != ' ' && p[6] != '\t'))
		return false;
	p += 7;
	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end == p)
		return false;
	/* visible ASCII only: tokens are generated, and bytes beyond would not be the text SQL hashed */
	for (q = p; q < end; q++)
		if ((unsigned char) *q <= 0x20 || (unsigned char) *q >= 0x7f)
			return false;
	*token = p;
	*len = (size_t) (end - p);
	return true;
}

bool
sp_http_parse_listen(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon;
	const char *hstart;
	size_t		hlen;
	long		v = 0;
	const char *d;

	if (s == NULL || host == NULL || hostlen == 0 || port == NULL)
		return false;
	if (s[0] == '[')
	{
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return false;
		hstart = s + 1;
		hlen = (size_t) (close - hstart);
		colon = close + 1;
		if (hlen == 0)
			return false;
	}
	else
	{
		colon = strrchr(s, ':');
		if (colon == NULL)
			return false;
		hstart = s;
		hlen = (size_t) (colon - s);
		if (memchr(s, ':', hlen) != NULL)
			return false;		/* an IPv6 address without brackets */
	}
	if (hlen >= hostlen)
		return false;
	d = colon + 1;
	if (*d == '\0')
		return false;
	for (; *d != '\0'; d++)
	{
		if (*d < '0' || *d > '9')
			return false;
		v = v * 10 + (*d - '0');
		if (v > 65535)
			return false;
	}
	if (v < 1)
		return false;
	memcpy(host, hstart, hlen);
	host[hlen] = '\0';
	*port = (int) v;
	return true;
}

bool
sp_rate_take(sp_rate_bucket *b, double now, double rate, double burst, double *retry_after)
{
	if (burst < 1)
		burst = 1;
	if (!b->started)
	{
		b->tokens = burst;
		b->last = now;
		b->started = true;
	}
	if (now > b->last)
	{
		b->tokens += (now - b->last) * rate;
		if (b->tokens > burst)
			b->tokens = burst;
		b->last = now;
	}
	if (b->tokens >= 1)
	{
		b->tokens -= 1;
		if (retry_after)
			*retry_after = 0;
		return true;
	}
	if (retry_after)
		*retry_after = rate > 0 ? (1 - b->tokens) / rate : 3600;
	return false;
}

size_t
sp_json_escape(const char *in, char *out, size_t outlen)
{
	size_t		need = 0;
	size_t		written = 0;
	bool		full = (out == NULL || outlen == 0);
	const unsigned char *p;

	for (p = (const unsigned char *) (in ? in : ""); *p; p++)
	{
		char		buf[8];
		size_t		n;

		switch (*p)
		{
			case '"':
				memcpy(buf, "\\\"", 3);
				break;
			case '\\':
				memcpy(buf, "\\\\", 3);
				break;
			case '\n':
				memcpy(buf, "\\n", 3);
				break;
			case '\r':
				memcpy(buf, "\\r", 3);
				break;
			case '\t':
				memcpy(buf, "\\t", 3);
				break;
			default:
				if (*p < 0x20 || *p == 0x7f)
					snprintf(buf, sizeof(buf), "\\u%04x", *p);
				else
				{
					buf[0] = (char) *p;
					buf[1] = '\0';
				}
		}
		n = strlen(buf);
		/* whole escapes only: a truncated text never ends inside one */
		if (!full && written + n < outlen)
		{
			memcpy(out + written, buf, n);
			written += n;
		}
		else
			full = true;
		need += n;
	}
	if (out && outlen > 0)
		out[written] = '\0';
	return need;
}

void
sp_uuid_format(const unsigned char random16[16], char out[37])
{
	unsigned char b[16];
	int			i;
	int			o = 0;

	memcpy(b, random16, 16);
	b[6] = (unsigned char) ((b[6] & 0x0f) | 0x40);	/* version 4 */
	b[8] = (unsigned char) ((b[8] & 0x3f) | 0x80);	/* variant 10 */
	for (i = 0; i < 16; i++)
	{
		static const char hex[] = "0123456789abcdef";

		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 0x0f];
	}
	out[o] = '\0';
}

/* ------------------------------------------------------------------------ */
/* SHA-256 (FIPS 180-4)                                                     */

static const uint32_t sha_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void
sha_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t	w[64];
	uint32_t	a, b, c, d, e, f, g, hh;
	int			i;

	for (i = 0; i < 16; i++)
		w[i] = ((uint32_t) p[4 * i] << 24) | ((uint32_t) p[4 * i + 1] << 16) | ((uint32_t) p[4 * i + 2] << 8) | (uint32_t) p[4 * i + 3];
	for (i = 16; i < 64; i++)
	{
		uint32_t	s0 = ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t	s1 = ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4]; f = h[5]; g = h[6]; hh = h[7];
	for (i = 0; i < 64; i++)
	{
		uint32_t	t1 = hh + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
		uint32_t	t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));

		hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

void
sp_sha256(const void *data, size_t len, unsigned char out[32])
{
	uint32_t	h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	const unsigned char *p = data;
	unsigned char tail[128];
	size_t		full = len / 64 * 64;
	size_t		rest = len - full;
	size_t		tlen;
	uint64_t	bits = (uint64_t) len * 8;
	int			i;

	for (size_t off = 0; off < full; off += 64)
		sha_block(h, p + off);
	memset(tail, 0, sizeof(tail));
	if (rest > 0)
		memcpy(tail, p + full, rest);
	tail[rest] = 0x80;
	tlen = rest + 1 + 8 <= 64 ? 64 : 128;
	for (i = 0; i < 8; i++)
		tail[tlen - 1 - i] = (unsigned char) (bits >> (8 * i));
	sha_block(h, tail);
	if (tlen == 128)
		sha_block(h, tail + 64);
	for (i = 0; i < 8; i++)
	{
		out[4 * i] = (unsigned char) (h[i] >> 24);
		out[4 * i + 1] = (unsigned char) (h[i] >> 16);
		out[4 * i + 2] = (unsigned char) (h[i] >> 8);
		out[4 * i + 3] = (unsigned char) h[i];
	}
}

void
sp_sha256_hex(const void *data, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[32];

	sp_sha256(data, len, d);
	for (int i = 0; i < 32; i++)
	{
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 0x0f];
	}
	out[64] = '\0';
}

bool
sp_http_address_allowed(int family, const unsigned char *a, bool deny_private)
{
	if (family == 6)
	{
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		bool		zero = true;

		if (memcmp(a, mapped, 12) == 0)
			return sp_http_address_allowed(4, a + 12, deny_private);
		for (int i = 0; i < 15; i++)
			if (a[i] != 0)
				zero = false;
		if (zero && (a[15] == 0 || a[15] == 1))
			return false;			/* :: and ::1 */
		if (a[0] == 0xff)
			return false;			/* multicast */
		if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
			return false;			/* fe80::/10 link-local */
		if ((a[0] & 0xfe) == 0xfc)
			return !deny_private;	/* fc00::/7 unique local */
		return true;
	}
	if (family != 4)
		return false;
	if (a[0] == 127 || a[0] == 0)
		return false;				/* loopback, "this network" */
	if (a[0] == 169 && a[1] == 254)
		return false;				/* link-local: 169.254.169.254 is cloud metadata */
	if (a[0] >= 224)
		return false;				/* multicast, reserved, broadcast */
	if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168)
		|| (a[0] == 100 && (a[1] & 0xc0) == 64))
		return !deny_private;
	return true;
}
