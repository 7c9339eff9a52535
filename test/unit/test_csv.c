/* Unit tests of src/core/sp_csv.c (the command-line tool's CSV reader) */
#include "tap.h"
#include "sp_csv.h"

#include <stdlib.h>

/* the fields of every record as "a|b|c" lines, "!" and the status on an error */
static const char *
parse(const char *data, size_t len)
{
	static char out[4096];
	sp_csv_reader r;
	sp_csv_record rec = {0};
	sp_csv_status st;
	size_t		o = 0;

	sp_csv_init(&r, data, len);
	out[0] = '\0';
	while ((st = sp_csv_next(&r, &rec)) != SP_CSV_END)
	{
		if (st != SP_CSV_RECORD)
		{
			o += (size_t) snprintf(out + o, sizeof(out) - o, "!%d@%ld;", (int) st, rec.line);
			if (st == SP_CSV_UNTERMINATED || st == SP_CSV_NO_MEMORY)
				break;
			continue;
		}
		o += (size_t) snprintf(out + o, sizeof(out) - o, "%ld:", rec.line);
		for (size_t i = 0; i < rec.n; i++)
			o += (size_t) snprintf(out + o, sizeof(out) - o, "%s%s", i ? "|" : "", rec.fields[i]);
		o += (size_t) snprintf(out + o, sizeof(out) - o, ";");
	}
	sp_csv_record_free(&rec);
	return out;
}

#define P(s) parse(s, sizeof(s) - 1)

int
main(void)
{
	is_str(P("a,b,c\n1,2,3\n"), "1:a|b|c;2:1|2|3;", "plain records with their lines");
	is_str(P("a,b\r\n1,2\r\n"), "1:a|b;2:1|2;", "CRLF line ends");
	is_str(P("a,b\n1,2"), "1:a|b;2:1|2;", "no line end at the end");
	is_str(P("a,,c\n,\n"), "1:a||c;2:|;", "empty fields");
	is_str(P("\"x,y\",\"he said \"\"no\"\"\"\n"), "1:x,y|he said \"no\";", "quoted separators and doubled quotes");
	is_str(P("a,\"two\nlines\",c\nnext,row,here\n"), "1:a|two\nlines|c;3:next|row|here;", "a line break inside quotes: the next record is on line 3");
	is_str(P("\xef\xbb\xbf" "id,name\n1,Amina\n"), "1:id|name;2:1|Amina;", "a UTF-8 byte order mark is skipped");
	is_str(P("a,b\n\n\n1,2\n"), "1:a|b;4:1|2;", "empty lines are skipped, line numbers kept");
	is_str(P("a,b\n1,\"open\n2,3\n"), "1:a|b;!2@2;", "an unterminated quote is an error naming its record's line");
	is_str(P("a,b\n1,x\"y\n2,3\n"), "1:a|b;!3@2;3:2|3;", "a quote inside an unquoted field: that record is refused, the next read");
	is_str(P("a,b\n\"1\"x,2\n3,4\n"), "1:a|b;!3@2;3:3|4;", "text after a closing quote: refused, reading goes on");
	is_str(P("\"\"\n"), "1:;", "an empty quoted field");
	is_str(P(""), "", "no data: no record");
	is_str(P("Ivan,Иван,محمد,王\n"), "1:Ivan|Иван|محمد|王;", "UTF-8 in fields");
	{
		/* a field with a NUL byte keeps its length */
		static const char data[] = "a,b\0c\n";
		sp_csv_reader r;
		sp_csv_record rec = {0};

		sp_csv_init(&r, data, sizeof(data) - 1);
		ok(sp_csv_next(&r, &rec) == SP_CSV_RECORD && rec.n == 2 && rec.field_len[1] == 3, "a NUL byte inside a field: the length says");
		sp_csv_record_free(&rec);
	}
	{
		/* many fields, long fields */
		size_t		n = 100000;
		char	   *big = malloc(n * 2 + 1);
		sp_csv_reader r;
		sp_csv_record rec = {0};

		for (size_t i = 0; i < n; i++)
		{
			big[2 * i] = 'x';
			big[2 * i + 1] = ',';
		}
		big[2 * n - 1] = '\n';
		sp_csv_init(&r, big, 2 * n);
		ok(sp_csv_next(&r, &rec) == SP_CSV_RECORD && rec.n == n, "100,000 fields in one record");
		ok(sp_csv_next(&r, &rec) == SP_CSV_END, "then the end");
		sp_csv_record_free(&rec);
		free(big);
	}
	return done_testing();
}
