/*
 * sp_csv.c - an RFC 4180 CSV reader.  See sp_csv.h.
 */
#include "sp_csv.h"

#include <stdlib.h>
#include <string.h>

void
sp_csv_init(sp_csv_reader *r, const char *data, size_t len)
{
	r->p = data;
	r->end = data + len;
	r->line = 1;
	if (len >= 3 && (unsigned char) data[0] == 0xef && (unsigned char) data[1] == 0xbb && (unsigned char) data[2] == 0xbf)
		r->p += 3;
}

static void
clear_fields(sp_csv_record *rec)
{
	for (size_t i = 0; i < rec->n; i++)
		free(rec->fields[i]);
	rec->n = 0;
}

void
sp_csv_record_free(sp_csv_record *rec)
{
	clear_fields(rec);
	free(rec->fields);
	free(rec->field_len);
	rec->fields = NULL;
	rec->field_len = NULL;
	rec->cap = 0;
}

/* append a field of len bytes (quotes already undone) */
static bool
add_field(sp_csv_record *rec, const char *s, size_t len)
{
	char	   *copy;

	if (rec->n == rec->cap)
	{
		size_t		cap = rec->cap ? rec->cap * 2 : 16;
		char	  **f = realloc(rec->fields, cap * sizeof(char *));
		size_t	   *l;

		if (f == NULL)
			return false;
		rec->fields = f;
		l = realloc(rec->field_len, cap * sizeof(size_t));
		if (l == NULL)
			return false;
		rec->field_len = l;
		rec->cap = cap;
	}
	copy = malloc(len + 1);
	if (copy == NULL)
		return false;
	memcpy(copy, s, len);
	copy[len] = '\0';
	rec->fields[rec->n] = copy;
	rec->field_len[rec->n] = len;
	rec->n++;
	return true;
}

/* move past the rest of the current line (after an error) */
static void
skip_line(sp_csv_reader *r)
{
	while (r->p < r->end && *r->p != '\n')
		r->p++;
	if (r->p < r->end)
	{
		r->p++;
		r->line++;
	}
}

sp_csv_status
sp_csv_next(sp_csv_reader *r, sp_csv_record *rec)
{
	char	   *buf = NULL;
	size_t		blen = 0;
	size_t		bcap = 0;

	clear_fields(rec);
	/* empty lines between records */
	while (r->p < r->end && (*r->p == '\n' || (*r->p == '\r' && r->p + 1 < r->end && r->p[1] == '\n')))
	{
		r->p += (*r->p == '\r') ? 2 : 1;
		r->line++;
	}
	if (r->p >= r->end)
		return SP_CSV_END;
	rec->line = r->line;

	for (;;)
	{
		/* one field */
		blen = 0;
		if (r->p < r->end && *r->p == '"')
		{
			r->p++;
			for (;;)
			{
				if (r->p >= r->end)
				{
					free(buf);
					return SP_CSV_UNTERMINATED;
				}
				if (*r->p == '"')
				{
					if (r->p + 1 < r->end && r->p[1] == '"')
						r->p++;		/* a doubled quote: one quote */
					else
					{
						r->p++;
						break;
					}
				}
				if (*r->p == '\n')
					r->line++;
				if (blen + 1 >= bcap)
				{
					size_t		cap = bcap ? bcap * 2 : 256;
					char	   *nb = realloc(buf, cap);

					if (nb == NULL)
					{
						free(buf);
						return SP_CSV_NO_MEMORY;
					}
					buf = nb;
					bcap = cap;
				}
				buf[blen++] = *r->p++;
			}
			/* after the closing quote: a separator or the end of the record */
			if (r->p < r->end && *r->p != ',' && *r->p != '\n' && !(*r->p == '\r' && r->p + 1 < r->end && r->p[1] == '\n')
				&& !(*r->p == '\r' && r->p + 1 == r->end))
			{
				free(buf);
				skip_line(r);
				return SP_CSV_BAD_QUOTE;
			}
			if (!add_field(rec, buf ? buf : "", blen))
			{
				free(buf);
				return SP_CSV_NO_MEMORY;
			}
		}
		else
		{
			const char *start = r->p;

			while (r->p < r->end && *r->p != ',' && *r->p != '\n' && !(*r->p == '\r' && (r->p + 1 == r->end || r->p[1] == '\n')))
			{
				if (*r->p == '"')
				{
					free(buf);
					skip_line(r);
					return SP_CSV_BAD_QUOTE;
				}
				r->p++;
			}
			if (!add_field(rec, start, (size_t) (r->p - start)))
			{
				free(buf);
				return SP_CSV_NO_MEMORY;
			}
		}
		/* separator: another field; line end or data end: the record is complete */
		if (r->p < r->end && *r->p == ',')
		{
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == '\r')
			r->p++;
		if (r->p < r->end && *r->p == '\n')
		{
			r->p++;
			r->line++;
		}
		free(buf);
		return SP_CSV_RECORD;
	}
}

const char *
sp_csv_message(sp_csv_status st)
{
	switch (st)
	{
		case SP_CSV_RECORD:
			return "a record";
		case SP_CSV_END:
			return "the end of the data";
		case SP_CSV_UNTERMINATED:
			return "a quoted field is not closed before the end of the file";
		case SP_CSV_BAD_QUOTE:
			return "a quote inside an unquoted field, or text after a closing quote";
		case SP_CSV_NO_MEMORY:
			return "out of memory";
	}
	return "unknown";
}
