/* Unit tests of src/core/sp_text.c */
#include "tap.h"
#include "sp_text.h"

#include <stdlib.h>

static sp_text_status
check(const char *s, size_t max, size_t *off)
{
	return sp_check_text_field(s, strlen(s), max, off);
}

int
main(void)
{
	size_t		off;
	char		out[SP_NATIONAL_ID_MAX + 1];
	size_t		out_len,
				bad;
	uint32_t	cp;

	/* UTF-8 decoding */
	is_int(sp_utf8_length("abc", 3), 3, "ascii length");
	is_int(sp_utf8_length("Zo\xc3\xab", 4), 3, "two-byte code point counts once");
	is_int(sp_utf8_length("\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd", 8), 4, "Cyrillic name counts code points");
	is_int(sp_utf8_length("\xf0\x9f\x98\x80", 4), 1, "four-byte code point");
	is_int(sp_utf8_length("\xc0\xaf", 2), -1, "overlong encoding rejected");
	is_int(sp_utf8_length("\xed\xa0\x80", 3), -1, "surrogate rejected");
	is_int(sp_utf8_length("\xf4\x90\x80\x80", 4), -1, "beyond U+10FFFF rejected");
	is_int(sp_utf8_length("\xe2\x82", 2), -1, "truncated sequence rejected");
	is_int(sp_utf8_length("\x80", 1), -1, "lone continuation byte rejected");
	is_int(sp_utf8_decode((const unsigned char *) "\xe2\x82\xac", 3, &cp), 3, "euro sign is three bytes");
	is_int(cp, 0x20AC, "euro sign code point");

	/* prefixes cut at character boundaries, never past the end */
	is_int(sp_utf8_prefix("abcdef", 6, 4), 4, "ascii prefix of 4 characters");
	is_int(sp_utf8_prefix("abc", 3, 10), 3, "a short value is kept whole");
	is_int(sp_utf8_prefix("abc", 3, 0), 0, "zero characters is empty");
	is_int(sp_utf8_prefix("Zo\xc3\xab!", 5, 3), 4, "a two-byte character is kept whole");
	is_int(sp_utf8_prefix("\xe2\x82\xac\xe2\x82\xac", 6, 1), 3, "one euro sign is three bytes");
	is_int(sp_utf8_prefix("\xf0\x9f\x98\x80x", 5, 1), 4, "a four-byte character is not split");
	is_int(sp_utf8_prefix("a\xe2\x82", 3, 2), 2, "a truncated sequence counts byte by byte");
	is_int(sp_utf8_prefix("a\xe2\x82", 3, 10), 3, "and never runs past the end");
	is_int(sp_utf8_prefix("\xff\xfe\xfd", 3, 2), 2, "invalid bytes count as one character each");
	is_int(sp_utf8_prefix("\xe2\x82\xac", 2, 5), 2, "a sequence cut by len is not read past len");
	{
		/* 1000 two-byte characters then more: the cut is at byte 2000 */
		size_t		n = 5000;
		char	   *big = malloc(n);

		for (size_t i = 0; i + 1 < n; i += 2)
		{
			big[i] = (char) 0xd0;
			big[i + 1] = (char) 0x98;
		}
		is_int(sp_utf8_prefix(big, n, 1000), 2000, "1000 Cyrillic letters are 2000 bytes");
		is_int(sp_utf8_prefix(big, 1999, 1000), 1999, "an odd length ends on the cut sequence, not beyond");
		free(big);
	}

	/* text fields */
	is_int(check("Amina", 200, &off), SP_TEXT_OK, "plain name ok");
	is_int(check("Nguy\xe1\xbb\x85n", 200, &off), SP_TEXT_OK, "Vietnamese name ok");
	is_int(check("", 200, &off), SP_TEXT_EMPTY, "empty rejected");
	is_int(check("   ", 200, &off), SP_TEXT_EMPTY, "blank rejected");
	is_int(check("\xc2\xa0", 200, &off), SP_TEXT_EMPTY, "no-break space only rejected");
	is_int(check("Ann\nMarie", 200, &off), SP_TEXT_CONTROL_CHAR, "newline rejected");
	is_int(off, 3, "offset of the newline");
	is_int(check("Ann\x7f", 200, &off), SP_TEXT_CONTROL_CHAR, "DEL rejected");
	is_int(check("Ann\xc2\x85", 200, &off), SP_TEXT_CONTROL_CHAR, "C1 NEL rejected");
	is_int(check("abcde", 5, &off), SP_TEXT_OK, "exactly max ok");
	is_int(check("abcdef", 5, &off), SP_TEXT_TOO_LONG, "max + 1 rejected");
	is_int(check("\xc3\xa9\xc3\xa9\xc3\xa9", 3, &off), SP_TEXT_OK, "max counts characters, not bytes");
	is_int(check("ab\xff", 200, &off), SP_TEXT_INVALID_UTF8, "invalid byte rejected");
	is_int(off, 2, "offset of the invalid byte");

	{
		/* a 1 MB string is refused as soon as it passes the limit */
		size_t		n = 1024 * 1024;
		char	   *big = malloc(n + 1);

		ok(big != NULL, "allocate 1 MB");
		if (big)
		{
			memset(big, 'a', n);
			big[n] = '\0';
			is_int(sp_check_text_field(big, n, 200, &off), SP_TEXT_TOO_LONG, "1 MB string too long");
			free(big);
		}
	}

	/* national IDs */
	is_int(sp_normalize_national_id("ab-12 34.5", 10, out, &out_len, &bad), SP_ID_OK, "separators removed");
	is_str(out, "AB12345", "upper-cased and compacted");
	is_int(out_len, 7, "normalised length");
	is_int(sp_normalize_national_id(" - ", 3, out, &out_len, &bad), SP_ID_EMPTY, "separators only is empty");
	is_int(sp_normalize_national_id("12#4", 4, out, &out_len, &bad), SP_ID_BAD_CHAR, "punctuation rejected");
	is_int(bad, 2, "offset of bad character");
	is_int(sp_normalize_national_id("\xc3\xa9", 2, out, &out_len, &bad), SP_ID_BAD_CHAR, "non-ASCII rejected");
	{
		char		id[80];

		memset(id, '7', sizeof(id));
		is_int(sp_normalize_national_id(id, 64, out, &out_len, &bad), SP_ID_OK, "64 characters ok");
		is_int(sp_normalize_national_id(id, 65, out, &out_len, &bad), SP_ID_TOO_LONG, "65 characters rejected");
	}

	/* phones */
	{
		char		ph[SP_PHONE_MAX_DIGITS + 2];
		size_t		pl;

		ok(sp_normalize_phone("+254 (712) 345-678", 18, ph, &pl), "formatted phone accepted");
		is_str(ph, "+254712345678", "phone compacted");
		ok(!sp_normalize_phone("1234", 4, ph, &pl), "4 digits rejected");
		ok(sp_normalize_phone("12345", 5, ph, &pl), "5 digits accepted");
		ok(!sp_normalize_phone("123456789012345678901", 21, ph, &pl), "21 digits rejected");
		ok(sp_normalize_phone("+12345678901234567890", 21, ph, &pl), "+ and 20 digits accepted");
		ok(!sp_normalize_phone("12+345678", 9, ph, &pl), "+ in the middle rejected");
		ok(!sp_normalize_phone("call me", 7, ph, &pl), "letters rejected");
	}

	/* UUIDs */
	ok(sp_is_uuid("00000000-0000-4000-8000-000000000001", 36), "hyphenated uuid");
	ok(sp_is_uuid("6F1C3F0E8F4A4B7E9A512D4C1E0B7A11", 32), "compact upper-case uuid");
	ok(!sp_is_uuid("00000000-0000-4000-8000-00000000000g", 36), "non-hex rejected");
	ok(!sp_is_uuid("00000000-0000-4000-8000_000000000001", 36), "wrong separator rejected");
	ok(!sp_is_uuid("not-a-uuid", 10), "short rejected");

	/* fuzz: random bytes never crash and the outcome agrees with sp_utf8_length */
	{
		unsigned int seed = 12345;

		for (int i = 0; i < 20000; i++)
		{
			unsigned char buf[16];
			size_t		n = (size_t) (i % 16);
			size_t		len;
			sp_text_status st;

			for (size_t j = 0; j < n; j++)
			{
				seed = seed * 1103515245u + 12345u;
				buf[j] = (unsigned char) (seed >> 16);
			}
			len = sp_utf8_length((const char *) buf, n);
			st = sp_check_text_field((const char *) buf, n, 1000, &off);
			if ((st == SP_TEXT_INVALID_UTF8 && len != (size_t) -1) ||
				(len == (size_t) -1 && st == SP_TEXT_OK))
			{
				ok(0, "fuzz case %d: utf8 validity agrees", i);
				break;
			}
			(void) sp_normalize_national_id((const char *) buf, n, out, &out_len, &bad);
		}
		ok(1, "20000 random byte strings checked without crash");
	}

	return done_testing();
}
