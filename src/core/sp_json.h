/*
 * sp_json.h - JSON syntax check (RFC 8259) and a growable string buffer,
 * for the command-line tool (src/cli): a JSON-lines file is checked line by
 * line before anything is sent, so that one bad line is reported with its
 * line number instead of failing a whole batch.
 *
 * Pure C (no postgres.h): unit-tested standalone in test/unit/test_json.c.
 */
#ifndef SP_JSON_H
#define SP_JSON_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Whether s[0..len) is one JSON value with only white space around it, nested
 * at most 512 deep, strings valid UTF-8 without raw control characters.
 * When not, *where (if not NULL) is the byte offset of the first problem.
 * object_only: the value must be an object.
 */
extern bool sp_json_valid(const char *s, size_t len, bool object_only, size_t *where);

/* A growable string; all functions return false when memory runs out. */
typedef struct sp_buf
{
	char	   *data;			/* NUL-terminated */
	size_t		len;
	size_t		cap;
} sp_buf;

extern bool sp_buf_append(sp_buf *b, const char *s, size_t n);
extern bool sp_buf_puts(sp_buf *b, const char *s);
/* s as a JSON string literal, quotes included */
extern bool sp_buf_json_string(sp_buf *b, const char *s, size_t n);
extern void sp_buf_free(sp_buf *b);

#endif							/* SP_JSON_H */
