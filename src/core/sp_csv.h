/*
 * sp_csv.h - an RFC 4180 CSV reader over a buffer in memory, for the
 * command-line tool's imports (src/cli): fields separated by commas,
 * optionally in double quotes (a quote inside doubled), records ended by
 * LF or CRLF, line breaks allowed inside quotes, a UTF-8 byte order mark at
 * the start skipped.  Each record says on which line of the file it began,
 * so that errors can name it.
 *
 * Pure C (no postgres.h): unit-tested standalone in test/unit/test_csv.c.
 */
#ifndef SP_CSV_H
#define SP_CSV_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sp_csv_reader
{
	const char *p;				/* next byte */
	const char *end;
	long		line;			/* line of p, from 1 */
} sp_csv_reader;

typedef struct sp_csv_record
{
	char	  **fields;			/* NUL-terminated copies (a field may hold a NUL byte: field_len says) */
	size_t	   *field_len;
	size_t		n;
	size_t		cap;
	long		line;			/* the line the record began on */
} sp_csv_record;

typedef enum
{
	SP_CSV_RECORD,				/* a record was read */
	SP_CSV_END,					/* no more */
	SP_CSV_UNTERMINATED,		/* a quoted field runs to the end of the data */
	SP_CSV_BAD_QUOTE,			/* a quote in the middle of an unquoted field, or text after a closing quote */
	SP_CSV_NO_MEMORY
} sp_csv_status;

extern void sp_csv_init(sp_csv_reader *r, const char *data, size_t len);

/*
 * The next record into rec (its fields replaced; rec starts zeroed and is
 * freed with sp_csv_record_free).  Empty lines are skipped.  On an error,
 * rec->line is the line of the record and the reader moves past the rest of
 * that line, so that reading can go on.
 */
extern sp_csv_status sp_csv_next(sp_csv_reader *r, sp_csv_record *rec);

extern void sp_csv_record_free(sp_csv_record *rec);

extern const char *sp_csv_message(sp_csv_status st);

#endif							/* SP_CSV_H */
