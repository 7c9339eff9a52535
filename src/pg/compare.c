/*
 * compare.c - SQL wrappers of the string comparators in src/core/sp_compare.c:
 * sp.jaro, sp.jaro_winkler, sp.levenshtein, sp.damerau_levenshtein.
 *
 * Arguments are decoded to code points once, on the stack for names (the
 * usual case) and in palloc'd memory for longer text, up to
 * SP_COMPARE_MAX_CHARS code points.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "sp_compare.h"

PG_FUNCTION_INFO_V1(sp_jaro_sql);
PG_FUNCTION_INFO_V1(sp_jaro_winkler_sql);
PG_FUNCTION_INFO_V1(sp_levenshtein_sql);
PG_FUNCTION_INFO_V1(sp_damerau_levenshtein_sql);

#define STACK_CHARS 128

typedef struct Decoded
{
	uint32_t   *cp;
	int			n;
	uint32_t	stack[STACK_CHARS];
} Decoded;

static void
decode_arg(text *t, Decoded *d, int argno)
{
	const char *s = VARDATA_ANY(t);
	size_t		len = VARSIZE_ANY_EXHDR(t);
	int			cap;

	/* a string of len bytes has at most len code points */
	if (len <= STACK_CHARS)
	{
		d->cp = d->stack;
		cap = STACK_CHARS;
	}
	else
	{
		cap = len < SP_COMPARE_MAX_CHARS ? (int) len : SP_COMPARE_MAX_CHARS;
		d->cp = palloc(sizeof(uint32_t) * cap);
	}
	d->n = sp_utf8_decode_all(s, len, d->cp, cap);
	if (d->n == -2 || d->n > SP_COMPARE_MAX_CHARS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("argument %d is longer than %d characters", argno, SP_COMPARE_MAX_CHARS),
				 errdetail("The string comparators accept up to %d characters per argument.", SP_COMPARE_MAX_CHARS)));
	if (d->n < 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("argument %d is not valid UTF-8", argno)));
}

static void
decode_args(FunctionCallInfo fcinfo, Decoded *a, Decoded *b)
{
	decode_arg(PG_GETARG_TEXT_PP(0), a, 1);
	decode_arg(PG_GETARG_TEXT_PP(1), b, 2);
}

/* Byte flags for Jaro: on the stack for names, palloc'd beyond. */
static unsigned char *
jaro_work(const Decoded *a, const Decoded *b, unsigned char *stack, size_t stack_size)
{
	size_t		need = (size_t) a->n + (size_t) b->n;

	return need <= stack_size ? stack : palloc(need);
}

Datum
sp_jaro_sql(PG_FUNCTION_ARGS)
{
	Decoded		a,
				b;
	unsigned char stack[2 * STACK_CHARS];

	decode_args(fcinfo, &a, &b);
	PG_RETURN_FLOAT8(sp_jaro(a.cp, a.n, b.cp, b.n, jaro_work(&a, &b, stack, sizeof(stack))));
}

Datum
sp_jaro_winkler_sql(PG_FUNCTION_ARGS)
{
	Decoded		a,
				b;
	unsigned char stack[2 * STACK_CHARS];

	decode_args(fcinfo, &a, &b);
	PG_RETURN_FLOAT8(sp_jaro_winkler(a.cp, a.n, b.cp, b.n, 0.1, 0.7,
									 jaro_work(&a, &b, stack, sizeof(stack))));
}

Datum
sp_levenshtein_sql(PG_FUNCTION_ARGS)
{
	Decoded		a,
				b;
	int			stack[STACK_CHARS + 1];
	int			shorter;

	decode_args(fcinfo, &a, &b);
	shorter = a.n < b.n ? a.n : b.n;
	PG_RETURN_INT32(sp_levenshtein(a.cp, a.n, b.cp, b.n,
								   shorter <= STACK_CHARS ? stack : palloc(sizeof(int) * (shorter + 1))));
}

Datum
sp_damerau_levenshtein_sql(PG_FUNCTION_ARGS)
{
	Decoded		a,
				b;
	int			stack[4096];
	size_t		need;

	decode_args(fcinfo, &a, &b);
	need = sp_damerau_work_size(a.n, b.n);
	PG_RETURN_INT32(sp_damerau_levenshtein(a.cp, a.n, b.cp, b.n,
										   need <= lengthof(stack) ? stack : palloc(sizeof(int) * need)));
}
