/*
 * sp_text.c - UTF-8 and identifier checks used by registration.
 */
#include "sp_text.h"

size_t
sp_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t	c;
	size_t		need;
	uint32_t	min;

	if (len == 0)
		return 0;
	c = s[0];
	if (c < 0x80)
	{
		*cp = c;
		return 1;
	}
	else if ((c & 0xE0) == 0xC0)
	{
		need = 2;
		min = 0x80;
		c &= 0x1F;
	}
	else if ((c & 0xF0) == 0xE0)
	{
		need = 3;
		min = 0x800;
		c &= 0x0F;
	}
	else if ((c & 0xF8) == 0xF0)
	{
		need = 4;
		min = 0x10000;
		c &= 0x07;
	}
	else
		return 0;				/* continuation byte or 0xF8..0xFF lead */

	if (len < need)
		return 0;
	for (size_t i = 1; i < need; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return need;
}

size_t
sp_utf8_length(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		n = 0;

	while (len > 0)
	{
		uint32_t	cp;
		size_t		k;

		if (*p < 0x80)
		{
			p++;
			len--;
			n++;
			continue;
		}
		k = sp_utf8_decode(p, len, &cp);
		if (k == 0)
			return (size_t) -1;
		p += k;
		len -= k;
		n++;
	}
	return n;
}

size_t
sp_utf8_prefix(const char *s, size_t len, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		used = 0;

	for (size_t n = 0; n < max_chars && used < len; n++)
	{
		uint32_t	cp;
		size_t		k = p[used] < 0x80 ? 1 : sp_utf8_decode(p + used, len - used, &cp);

		used += k == 0 ? 1 : k;
	}
	return used;
}

static int
is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

/* White space as people type it: ASCII blanks and the common Unicode spaces. */
static int
is_space(uint32_t cp)
{
	return cp == 0x20 || cp == 0xA0 || cp == 0x1680 ||
		(cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F || cp == 0x205F ||
		cp == 0x3000;
}

sp_text_status
sp_check_text_field(const char *s, size_t len, size_t max_chars, size_t *offset)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		n = 0;
	int			seen_visible = 0;

	*offset = 0;
	while (len > 0)
	{
		uint32_t	cp;
		size_t		k = sp_utf8_decode(p, len, &cp);

		if (k == 0)
		{
			*offset = n;
			return SP_TEXT_INVALID_UTF8;
		}
		if (is_control(cp))
		{
			*offset = n;
			return SP_TEXT_CONTROL_CHAR;
		}
		if (!is_space(cp))
			seen_visible = 1;
		p += k;
		len -= k;
		n++;
		if (n > max_chars)
		{
			*offset = max_chars;
			return SP_TEXT_TOO_LONG;
		}
	}
	if (!seen_visible)
		return SP_TEXT_EMPTY;
	return SP_TEXT_OK;
}

const char *
sp_text_status_message(sp_text_status status)
{
	switch (status)
	{
		case SP_TEXT_OK:
			return "ok";
		case SP_TEXT_INVALID_UTF8:
			return "invalid UTF-8 byte sequence";
		case SP_TEXT_CONTROL_CHAR:
			return "control character not allowed";
		case SP_TEXT_TOO_LONG:
			return "value too long";
		case SP_TEXT_EMPTY:
			return "value is empty";
	}
	return "unknown text status";
}

static int
is_id_separator(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '-' || c == '.' || c == '/' || c == '_';
}

sp_id_status
sp_normalize_national_id(const char *s, size_t len, char *out, size_t *out_len,
						 size_t *bad_offset)
{
	size_t		n = 0;

	*bad_offset = 0;
	*out_len = 0;
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (is_id_separator(c))
			continue;
		if (c >= 'a' && c <= 'z')
			c = (unsigned char) (c - 'a' + 'A');
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
		{
			*bad_offset = i;
			return SP_ID_BAD_CHAR;
		}
		if (n >= SP_NATIONAL_ID_MAX)
			return SP_ID_TOO_LONG;
		out[n++] = (char) c;
	}
	if (n == 0)
		return SP_ID_EMPTY;
	out[n] = '\0';
	*out_len = n;
	return SP_ID_OK;
}

const char *
sp_id_status_message(sp_id_status status)
{
	switch (status)
	{
		case SP_ID_OK:
			return "ok";
		case SP_ID_EMPTY:
			return "national ID is empty";
		case SP_ID_BAD_CHAR:
			return "national ID may contain only letters A-Z, digits and separators";
		case SP_ID_TOO_LONG:
			return "national ID is longer than 64 characters";
	}
	return "unknown national ID status";
}

int
sp_normalize_phone(const char *s, size_t len, char *out, size_t *out_len)
{
	size_t		n = 0;
	size_t		digits = 0;

	*out_len = 0;
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
			c == '(' || c == ')' || c == '.' || c == '-')
			continue;
		if (c == '+' && n == 0)
		{
			out[n++] = '+';
			continue;
		}
		if (c < '0' || c > '9')
			return 0;
		if (digits >= SP_PHONE_MAX_DIGITS)
			return 0;
		out[n++] = (char) c;
		digits++;
	}
	if (digits < SP_PHONE_MIN_DIGITS)
		return 0;
	out[n] = '\0';
	*out_len = n;
	return 1;
}

static int
is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int
sp_is_uuid(const char *s, size_t len)
{
	size_t		hex = 0;

	if (len == 36)
	{
		for (size_t i = 0; i < len; i++)
		{
			if (i == 8 || i == 13 || i == 18 || i == 23)
			{
				if (s[i] != '-')
					return 0;
			}
			else if (!is_hex((unsigned char) s[i]))
				return 0;
		}
		return 1;
	}
	if (len != 32)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (is_hex((unsigned char) s[i]))
			hex++;
	return hex == 32;
}
