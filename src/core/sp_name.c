/*
 * sp_name.c - name normalisation and phonetic keys.
 */
#include "sp_name.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ustring.h>
#include <unicode/utrans.h>

#include "sp_text.h"

/* Compiled once per process: building the rule set takes milliseconds. */
static UTransliterator *translit = NULL;

static sp_name_status
icu_failure(UErrorCode st, char *errbuf, size_t errlen)
{
	if (errbuf && errlen > 0)
		snprintf(errbuf, errlen, "%s", u_errorName(st));
	return st == U_MEMORY_ALLOCATION_ERROR ? SP_NAME_OUT_OF_MEMORY : SP_NAME_ICU_ERROR;
}

static sp_name_status
get_transliterator(char *errbuf, size_t errlen)
{
	UErrorCode	st = U_ZERO_ERROR;
	UParseError pe;
	UChar		id[64];

	if (translit)
		return SP_NAME_OK;
	u_uastrcpy(id, "Any-Latin; Latin-ASCII");
	translit = utrans_openU(id, -1, UTRANS_FORWARD, NULL, 0, &pe, &st);
	if (U_FAILURE(st))
	{
		translit = NULL;
		return icu_failure(st, errbuf, errlen);
	}
	return SP_NAME_OK;
}

/*
 * Transliterate UTF-8 to (mostly) ASCII with ICU.  Returns a malloc'd
 * UTF-8 string in *ascii.
 */
static sp_name_status
transliterate(const char *in, size_t len, char **ascii, size_t *ascii_len, char *errbuf, size_t errlen)
{
	UErrorCode	st = U_ZERO_ERROR;
	int32_t		n16 = 0;
	UChar	   *src = NULL;
	UChar	   *buf = NULL;
	int32_t		capacity;
	int32_t		text_len = 0;
	int32_t		n8 = 0;
	sp_name_status rc = get_transliterator(errbuf, errlen);

	if (rc != SP_NAME_OK)
		return rc;

	/* UTF-8 -> UTF-16: len code units always suffice */
	src = malloc(sizeof(UChar) * (len + 1));
	if (!src)
		return SP_NAME_OUT_OF_MEMORY;
	u_strFromUTF8(src, (int32_t) len + 1, &n16, in, (int32_t) len, &st);
	if (U_FAILURE(st))
	{
		free(src);
		return st == U_INVALID_CHAR_FOUND ? SP_NAME_INVALID_UTF8 : icu_failure(st, errbuf, errlen);
	}
	/*
	 * Arabic ta marbuta (ة, the feminine ending of Fatima, Halima, Safiya)
	 * is pronounced as a vowel in names; ICU writes it "t".  As heh ("h")
	 * it meets the Latin spellings (Safiya / صفية -> sfyh).
	 */
	for (int32_t i = 0; i < n16; i++)
		if (src[i] == 0x0629)
			src[i] = 0x0647;

	/* Transliteration grows text (Щ -> Shch, 中 -> zhong); retry larger on overflow. */
	for (capacity = n16 * 4 + 64;; capacity *= 4)
	{
		int32_t		limit;

		buf = malloc(sizeof(UChar) * capacity);
		if (!buf)
		{
			free(src);
			return SP_NAME_OUT_OF_MEMORY;
		}
		memcpy(buf, src, sizeof(UChar) * n16);
		text_len = n16;
		limit = n16;
		st = U_ZERO_ERROR;
		utrans_transUChars(translit, buf, &text_len, capacity, 0, &limit, &st);
		if (st != U_BUFFER_OVERFLOW_ERROR)
			break;
		free(buf);
		buf = NULL;
		if (capacity > 64 * 1024 * 1024)
		{
			free(src);
			return icu_failure(st, errbuf, errlen);
		}
	}
	free(src);
	if (U_FAILURE(st))
	{
		free(buf);
		return icu_failure(st, errbuf, errlen);
	}

	/* UTF-16 -> UTF-8: preflight, then convert */
	st = U_ZERO_ERROR;
	u_strToUTF8(NULL, 0, &n8, buf, text_len, &st);
	if (st != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(st))
	{
		free(buf);
		return icu_failure(st, errbuf, errlen);
	}
	*ascii = malloc((size_t) n8 + 1);
	if (!*ascii)
	{
		free(buf);
		return SP_NAME_OUT_OF_MEMORY;
	}
	st = U_ZERO_ERROR;
	u_strToUTF8(*ascii, n8 + 1, &n8, buf, text_len, &st);
	free(buf);
	if (U_FAILURE(st))
	{
		free(*ascii);
		*ascii = NULL;
		return icu_failure(st, errbuf, errlen);
	}
	*ascii_len = (size_t) n8;
	return SP_NAME_OK;
}

static int
is_apostrophe(unsigned char c)
{
	return c == '\'' || c == '`';
}

/*
 * Bytes of a modifier-letter apostrophe at in[i], or 0: U+02BB-U+02BF
 * (ʻ ʼ ʽ ʾ ʿ).  Transliteration writes Arabic ayn and hamza and Ethiopic
 * ejectives with them and Latin-ASCII leaves them alone; like an
 * apostrophe they are dropped, not a word break: نعمة becomes "nmh", not
 * "n mh", and meets Ni'ma.
 */
static size_t
modifier_apostrophe(const char *in, size_t len, size_t i)
{
	unsigned char c = (unsigned char) in[i];

	if (c == 0xCA && i + 1 < len && (unsigned char) in[i + 1] >= 0xBB && (unsigned char) in[i + 1] <= 0xBF)
		return 2;
	return 0;
}

/* A schwa at in[i] (two bytes): U+01DD ǝ or U+0259 ə. */
static int
schwa(const char *in, size_t len, size_t i)
{
	unsigned char c = (unsigned char) in[i];

	if (i + 1 >= len)
		return 0;
	return (c == 0xC7 && (unsigned char) in[i + 1] == 0x9D) || (c == 0xC9 && (unsigned char) in[i + 1] == 0x99);
}

/* Lower-case words of [a-z0-9] separated by single spaces; out may alias in. */
static size_t
collapse(const char *in, size_t len, char *out)
{
	size_t		n = 0;
	int			pending_space = 0;

	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) in[i];
		size_t		skip = modifier_apostrophe(in, len, i);

		if (skip > 0)
		{
			i += skip - 1;
			continue;
		}
		if (schwa(in, len, i))
		{
			/* Ethiopic sixth-order vowel, which Latin-ASCII leaves alone */
			c = 'e';
			i++;
		}
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char) (c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		{
			if (pending_space && n > 0)
				out[n++] = ' ';
			pending_space = 0;
			out[n++] = (char) c;
		}
		else if (!is_apostrophe(c))
			pending_space = 1;
	}
	out[n] = '\0';
	return n;
}

sp_name_status
sp_normalize_name(const char *in, size_t len, char **out, size_t *out_len, char *errbuf, size_t errlen)
{
	int			ascii = 1;
	size_t		chars;
	char	   *work = NULL;
	size_t		work_len = 0;

	*out = NULL;
	*out_len = 0;
	if (errbuf && errlen > 0)
		errbuf[0] = '\0';

	for (size_t i = 0; i < len; i++)
		if ((unsigned char) in[i] >= 0x80)
		{
			ascii = 0;
			break;
		}
	if (ascii)
		chars = len;
	else
	{
		chars = sp_utf8_length(in, len);
		if (chars == (size_t) -1)
			return SP_NAME_INVALID_UTF8;
	}
	if (chars > SP_NAME_MAX_CHARS)
		return SP_NAME_TOO_LONG;

	if (ascii)
	{
		work = malloc(len + 1);
		if (!work)
			return SP_NAME_OUT_OF_MEMORY;
		memcpy(work, in, len);
		work_len = len;
	}
	else
	{
		sp_name_status rc = transliterate(in, len, &work, &work_len, errbuf, errlen);

		if (rc != SP_NAME_OK)
			return rc;
	}
	*out_len = collapse(work, work_len, work);
	*out = work;
	return SP_NAME_OK;
}

/* Vowels, and the semivowels w and y (and v, which w becomes): dropped from keys. */
static int
is_vowel(char c)
{
	return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y' || c == 'v';
}

/* Key of one token t[0..len) into out; returns its length. */
static size_t
token_key(const char *t, size_t len, char *out)
{
	char		mapped[2 * SP_NAME_MAX_CHARS + 2];
	size_t		m = 0;
	size_t		n = 0;

	/* 1. letters and digraphs to a reduced alphabet */
	for (size_t i = 0; i < len && m + 2 < sizeof(mapped); i++)
	{
		char		c = t[i];
		char		next = i + 1 < len ? t[i + 1] : '\0';

		if (next == 'h' && (c == 'p' || c == 'k' || c == 'g' || c == 's' || c == 'c' || c == 't' || c == 'd'))
		{
			mapped[m++] = c == 'p' ? 'f' : c == 'c' ? 'k' : c;
			i++;
			continue;
		}
		if (c == 'c' && next == 'k')
		{
			mapped[m++] = 'k';
			i++;
			continue;
		}
		switch (c)
		{
			case 'h':
				break;			/* silent or aspiration: dropped */
			case 'c':
			case 'q':
				mapped[m++] = 'k';
				break;
			case 'x':
				mapped[m++] = 'k';
				mapped[m++] = 's';
				break;
			case 'z':
				mapped[m++] = 's';
				break;
			case 'w':
				mapped[m++] = 'v';
				break;
			case 'j':
				mapped[m++] = 'g';	/* Arabic jim and Ethiopic jä are written j or g */
				break;
			case 'y':
				mapped[m++] = 'i';
				break;
			default:
				mapped[m++] = c;
		}
	}
	if (m == 0)
		return 0;

	/*
	 * 2. vowels go, a leading one too (Arabic script drops the initial ayn
	 * and short vowels: عبدي is "bdy", Abdi must meet it); runs collapse.  A
	 * token of vowels only keeps one 'a'.
	 */
	for (size_t i = 0; i < m; i++)
	{
		if (is_vowel(mapped[i]))
			continue;
		if (n > 0 && mapped[i] == out[n - 1])
			continue;
		out[n++] = mapped[i];
	}
	if (n == 0)
		out[n++] = 'a';
	/* the Arabic "Abd al-" (Abdul, Abdel, عبدال) meets "Abdi": bdl -> bd */
	for (size_t i = 0; i + 2 < n; i++)
		if (out[i] == 'b' && out[i + 1] == 'd' && out[i + 2] == 'l')
		{
			memmove(out + i + 2, out + i + 3, n - i - 3);
			n--;
			break;
		}
	return n;
}

size_t
sp_name_key(const char *normalized, size_t len, char *out)
{
	size_t		n = 0;
	size_t		i = 0;

	while (i < len)
	{
		size_t		start;
		size_t		k;

		while (i < len && normalized[i] == ' ')
			i++;
		start = i;
		while (i < len && normalized[i] != ' ')
			i++;
		if (i == start)
			break;
		if (n > 0)
			out[n++] = ' ';
		k = token_key(normalized + start, i - start, out + n);
		if (k == 0 && n > 0)
			n--;				/* token reduced to nothing (e.g. "h"): drop its space */
		n += k;
	}
	out[n] = '\0';
	return n;
}

const char *
sp_name_status_message(sp_name_status status)
{
	switch (status)
	{
		case SP_NAME_OK:
			return "ok";
		case SP_NAME_INVALID_UTF8:
			return "invalid UTF-8 byte sequence";
		case SP_NAME_TOO_LONG:
			return "name longer than 1000 characters";
		case SP_NAME_ICU_ERROR:
			return "ICU transliteration failed";
		case SP_NAME_OUT_OF_MEMORY:
			return "out of memory";
	}
	return "unknown name status";
}
