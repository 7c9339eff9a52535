/*
 * sp_json.c - JSON syntax check and a string buffer.  See sp_json.h.
 */
#include "sp_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct
{
	const unsigned char *p;
	const unsigned char *end;
	const unsigned char *start;
	int			depth;
} parser;

static void
ws(parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static bool value(parser *ps);

static bool
literal(parser *ps, const char *word)
{
	size_t		n = strlen(word);

	if ((size_t) (ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return false;
	ps->p += n;
	return true;
}

/* one UTF-8 character (not ASCII) starting at ps->p */
static bool
utf8_char(parser *ps)
{
	unsigned char c = *ps->p;
	int			more;
	unsigned int cp;
	unsigned int min;

	if (c >= 0xc2 && c <= 0xdf)
	{
		more = 1;
		cp = c & 0x1f;
		min = 0x80;
	}
	else if (c >= 0xe0 && c <= 0xef)
	{
		more = 2;
		cp = c & 0x0f;
		min = 0x800;
	}
	else if (c >= 0xf0 && c <= 0xf4)
	{
		more = 3;
		cp = c & 0x07;
		min = 0x10000;
	}
	else
		return false;
	if (ps->end - ps->p <= more)
		return false;
	for (int i = 1; i <= more; i++)
	{
		if ((ps->p[i] & 0xc0) != 0x80)
			return false;
		cp = (cp << 6) | (ps->p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return false;
	ps->p += more + 1;
	return true;
}

/* four hex digits at p (before end) as *cp */
static bool
hex4(const unsigned char *p, const unsigned char *end, unsigned int *cp)
{
	*cp = 0;
	for (int i = 0; i < 4; i++)
	{
		unsigned char c;

		if (p + i >= end)
			return false;
		c = p[i];
		*cp <<= 4;
		if (c >= '0' && c <= '9')
			*cp |= (unsigned int) (c - '0');
		else if (c >= 'a' && c <= 'f')
			*cp |= (unsigned int) (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*cp |= (unsigned int) (c - 'A' + 10);
		else
			return false;
	}
	return true;
}

static bool
string(parser *ps)
{
	if (ps->p >= ps->end || *ps->p != '"')
		return false;
	ps->p++;
	while (ps->p < ps->end)
	{
		unsigned char c = *ps->p;

		if (c == '"')
		{
			ps->p++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\')
		{
			ps->p++;
			if (ps->p >= ps->end)
				return false;
			if (*ps->p == 'u')
			{
				unsigned int cp = 0;

				if (!hex4(ps->p + 1, ps->end, &cp))
					return false;
				ps->p += 5;
				/* \u0000 (PostgreSQL's text cannot hold it), and surrogates only as a high-low pair */
				if (cp == 0 || (cp >= 0xdc00 && cp <= 0xdfff))
					return false;
				if (cp >= 0xd800 && cp <= 0xdbff)
				{
					unsigned int lo = 0;

					if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' || !hex4(ps->p + 2, ps->end, &lo)
						|| lo < 0xdc00 || lo > 0xdfff)
						return false;
					ps->p += 6;
				}
			}
			else if (strchr("\"\\/bfnrt", *ps->p) != NULL && *ps->p != '\0')
				ps->p++;
			else
				return false;
		}
		else if (c < 0x80)
			ps->p++;
		else if (!utf8_char(ps))
			return false;
	}
	return false;
}

static bool
digits(parser *ps)
{
	const unsigned char *s = ps->p;

	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
		ps->p++;
	return ps->p > s;
}

static bool
number(parser *ps)
{
	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p < ps->end && *ps->p == '0')
		ps->p++;
	else if (!digits(ps))
		return false;
	if (ps->p < ps->end && *ps->p == '.')
	{
		ps->p++;
		if (!digits(ps))
			return false;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E'))
	{
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (!digits(ps))
			return false;
	}
	return true;
}

static bool
container(parser *ps, char open, char close)
{
	bool		first = true;

	if (++ps->depth > 512)
		return false;
	ps->p++;					/* the opening bracket */
	ws(ps);
	if (ps->p < ps->end && *ps->p == (unsigned char) close)
	{
		ps->p++;
		ps->depth--;
		return true;
	}
	for (;;)
	{
		if (!first)
		{
			ws(ps);
			if (ps->p < ps->end && *ps->p == (unsigned char) close)
			{
				ps->p++;
				ps->depth--;
				return true;
			}
			if (ps->p >= ps->end || *ps->p != ',')
				return false;
			ps->p++;
		}
		first = false;
		ws(ps);
		if (open == '{')
		{
			if (!string(ps))
				return false;
			ws(ps);
			if (ps->p >= ps->end || *ps->p != ':')
				return false;
			ps->p++;
			ws(ps);
		}
		if (!value(ps))
			return false;
	}
}

static bool
value(parser *ps)
{
	if (ps->p >= ps->end)
		return false;
	switch (*ps->p)
	{
		case '{':
			return container(ps, '{', '}');
		case '[':
			return container(ps, '[', ']');
		case '"':
			return string(ps);
		case 't':
			return literal(ps, "true");
		case 'f':
			return literal(ps, "false");
		case 'n':
			return literal(ps, "null");
		default:
			return number(ps);
	}
}

bool
sp_json_valid(const char *s, size_t len, bool object_only, size_t *where)
{
	parser		ps = {(const unsigned char *) s, (const unsigned char *) s + len, (const unsigned char *) s, 0};
	bool		ok;

	ws(&ps);
	ok = (!object_only || (ps.p < ps.end && *ps.p == '{')) && value(&ps);
	if (ok)
	{
		ws(&ps);
		ok = ps.p == ps.end;
	}
	if (!ok && where)
		*where = (size_t) (ps.p - ps.start);
	return ok;
}

bool
sp_buf_append(sp_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap)
	{
		size_t		cap = b->cap ? b->cap : 256;
		char	   *d;

		while (cap < b->len + n + 1)
		{
			if (cap > ((size_t) -1) / 2)
				return false;
			cap *= 2;
		}
		d = realloc(b->data, cap);
		if (d == NULL)
			return false;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return true;
}

bool
sp_buf_puts(sp_buf *b, const char *s)
{
	return sp_buf_append(b, s, strlen(s));
}

bool
sp_buf_json_string(sp_buf *b, const char *s, size_t n)
{
	if (!sp_buf_append(b, "\"", 1))
		return false;
	for (size_t i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];
		char		esc[8];

		if (c == '"' || c == '\\')
		{
			esc[0] = '\\';
			esc[1] = (char) c;
			if (!sp_buf_append(b, esc, 2))
				return false;
		}
		else if (c < 0x20)
		{
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			if (!sp_buf_append(b, esc, 6))
				return false;
		}
		else if (!sp_buf_append(b, (const char *) &s[i], 1))
			return false;
	}
	return sp_buf_append(b, "\"", 1);
}

void
sp_buf_free(sp_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
