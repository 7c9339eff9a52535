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

/* RFC 3986 unreserved and sub-delims, plus ':' and '@' (pchar) */
static bool
is_segment_char(char c)
{
	return is_alnum(c) || strchr("._~%!$&'()*+,;=:@-", c) != NULL;
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
		if (uri[i] != '/')
			return false;
		for (k = i; uri[k] != '\0'; k++)
		{
			char		c = uri[k];

			if (!(is_segment_char(c) || c == '/' || c == '?'))
				return false;
			if (c == '/' && dot_segment(uri + k + 1))
				return false;
			/* an encoded dot or slash could make a dot segment downstream */
			if (c == '%' && uri[k + 1] == '2' && (lower(uri[k + 2]) == 'e' || lower(uri[k + 2]) == 'f'))
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
	for (q = p; q < end; q++)
		if ((unsigned char) *q <= 0x20 || (unsigned char) *q == 0x7f)
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
