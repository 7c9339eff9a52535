/*
 * sp_text.h - UTF-8 and identifier checks used by registration.
 *
 * Pure C (no postgres.h): unit-tested standalone in test/unit.
 */
#ifndef SP_TEXT_H
#define SP_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Outcome of checking a free-text field such as a name. */
typedef enum sp_text_status
{
	SP_TEXT_OK = 0,
	SP_TEXT_INVALID_UTF8,		/* malformed, overlong, surrogate or > U+10FFFF */
	SP_TEXT_CONTROL_CHAR,		/* C0/C1 control character (tab, newline, NUL...) */
	SP_TEXT_TOO_LONG,			/* more code points than allowed */
	SP_TEXT_EMPTY				/* nothing but white space */
} sp_text_status;

/*
 * Decode one UTF-8 code point from s[0..len).  Returns the number of bytes
 * consumed (1..4) and stores the code point, or returns 0 when the sequence is
 * malformed (truncated, overlong, surrogate, beyond U+10FFFF).
 */
size_t		sp_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

/*
 * Count code points; returns (size_t) -1 when s is not valid UTF-8.
 */
size_t		sp_utf8_length(const char *s, size_t len);

/*
 * Length in bytes of the longest prefix of s[0..len) that has at most
 * max_chars code points and ends on a character boundary.  A byte that does
 * not start a valid sequence counts as one character of one byte, so the
 * result never splits a valid character and is never more than len: a value
 * cut with it can be hashed, compared and decoded without reading past its
 * end, whatever bytes it holds.
 */
size_t		sp_utf8_prefix(const char *s, size_t len, size_t max_chars);

/*
 * Check a human-entered text field: valid UTF-8, no control characters, at
 * least one non-space character, at most max_chars code points.  On failure
 * *offset receives the 0-based code point position of the first offending
 * character (or the length for SP_TEXT_TOO_LONG).
 */
sp_text_status sp_check_text_field(const char *s, size_t len, size_t max_chars,
								   size_t *offset);

/* Human-readable, lower-case description of a status (static string). */
const char *sp_text_status_message(sp_text_status status);

/* Maximum length, in characters, of a normalised national ID. */
#define SP_NATIONAL_ID_MAX 64

typedef enum sp_id_status
{
	SP_ID_OK = 0,
	SP_ID_EMPTY,				/* nothing left after removing separators */
	SP_ID_BAD_CHAR,				/* a character other than A-Z, 0-9 or a separator */
	SP_ID_TOO_LONG				/* more than SP_NATIONAL_ID_MAX characters */
} sp_id_status;

/*
 * Normalise a national ID for blind indexing: ASCII letters upper-cased,
 * separators (space, tab, '-', '.', '/', '_') removed, anything else rejected.
 * out must hold at least SP_NATIONAL_ID_MAX + 1 bytes; it is NUL-terminated
 * on success.  *bad_offset receives the byte offset of a rejected character.
 */
sp_id_status sp_normalize_national_id(const char *s, size_t len, char *out,
									  size_t *out_len, size_t *bad_offset);

const char *sp_id_status_message(sp_id_status status);

/* Phone numbers: 5..20 digits, optional leading '+'. */
#define SP_PHONE_MAX_DIGITS 20
#define SP_PHONE_MIN_DIGITS 5

/*
 * Normalise a phone number: white space, '(', ')', '.', '-' removed; what is
 * left must be an optional '+' followed by 5 to 20 ASCII digits.  out must
 * hold SP_PHONE_MAX_DIGITS + 2 bytes.  Returns 1 on success, 0 otherwise.
 */
int			sp_normalize_phone(const char *s, size_t len, char *out, size_t *out_len);

/* True when s is a UUID: 32 hex digits, optionally hyphenated 8-4-4-4-12. */
int			sp_is_uuid(const char *s, size_t len);

#endif							/* SP_TEXT_H */
