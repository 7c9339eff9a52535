/* Unit tests of src/core/sp_lifecycle.c */
#include "tap.h"
#include "sp_lifecycle.h"

#define PAYMENT "created>approved|cancelled; approved>sent|cancelled; sent>paid|failed; " \
	"paid>reversed; failed>reissued|cancelled; reissued>failed"

static int
st(const sp_lifecycle *lc, const char *name)
{
	return sp_lifecycle_state(lc, name, strlen(name));
}

static bool
allows(const sp_lifecycle *lc, const char *from, const char *to)
{
	return sp_lifecycle_allows(lc, st(lc, from), st(lc, to));
}

static bool
parse(const char *spec, sp_lifecycle *lc, char *err, size_t errlen)
{
	return sp_lifecycle_parse(spec, strlen(spec), lc, err, errlen);
}

int
main(void)
{
	sp_lifecycle lc;
	char		err[200];
	char		buf[400];
	size_t		need;

	ok(parse(PAYMENT, &lc, err, sizeof(err)), "the payment lifecycle parses (%s)", err);
	is_int(lc.nstates, 8, "eight states");
	ok(allows(&lc, "created", "approved"), "created -> approved");
	ok(allows(&lc, "created", "cancelled"), "created -> cancelled");
	ok(allows(&lc, "reissued", "failed"), "reissued -> failed");
	ok(!allows(&lc, "approved", "paid"), "approved -/-> paid");
	ok(!allows(&lc, "failed", "approved"), "failed -/-> approved");
	ok(!allows(&lc, "cancelled", "created"), "cancelled is final");
	ok(!allows(&lc, "reversed", "paid"), "reversed is final");
	ok(!allows(&lc, "created", "created"), "no move to the same state");
	ok(!allows(&lc, "created", "nonsense"), "an unknown target is never allowed");
	ok(!sp_lifecycle_allows(&lc, 0, 40), "an index out of range is never allowed");
	ok(!sp_lifecycle_allows(&lc, -1, 0), "-1 is never allowed");
	is_int(st(&lc, "paid"), 4, "states are numbered in the order they are named");
	is_int(sp_lifecycle_state(&lc, "paidx", 4), 4, "a state is found by the length given, not a terminator");
	is_int(st(&lc, "pai"), -1, "a prefix is not a state");
	is_int(st(&lc, ""), -1, "the empty name is not a state");

	need = sp_lifecycle_describe(&lc, buf, sizeof(buf));
	is_str(buf, "created -> approved | cancelled; approved -> cancelled | sent; sent -> paid | failed; "
		   "paid -> reversed; failed -> cancelled | reissued; reissued -> failed", "described");
	is_int(need, strlen(buf), "describe returns the length it wrote");
	need = sp_lifecycle_describe(&lc, buf, 10);
	is_int(strlen(buf), 9, "a short buffer is truncated and terminated");
	ok(need > 100, "and the length needed is still returned");
	is_int(sp_lifecycle_describe(&lc, NULL, 0), need, "describe measures without a buffer");

	ok(parse("  a > b | c ;\n b>c ; ; ", &lc, err, sizeof(err)), "whitespace and empty clauses (%s)", err);
	is_int(lc.nstates, 3, "three states");
	ok(allows(&lc, "b", "c") && !allows(&lc, "c", "a"), "moves as written");

	ok(!parse("", &lc, err, sizeof(err)), "an empty spec is refused");
	is_str(err, "the lifecycle has no states", "and says why");
	ok(!parse("a>b; a>c", &lc, err, sizeof(err)), "two clauses for one state are refused");
	is_str(err, "state \"a\" has two clauses", "and say which");
	ok(!parse("a>a", &lc, err, sizeof(err)), "a move to itself is refused");
	ok(!parse("a b", &lc, err, sizeof(err)), "a missing > is refused");
	is_str(err, "\">\" expected after state \"a\"", "and says where");
	ok(!parse("a>", &lc, err, sizeof(err)), "a missing target is refused");
	is_str(err, "a state name is missing", "and says so");
	ok(!parse("a>b|", &lc, err, sizeof(err)), "a dangling | is refused");
	ok(!parse("A>b", &lc, err, sizeof(err)), "upper case is refused");
	ok(!parse("a>b>c", &lc, err, sizeof(err)), "a chain is refused");
	ok(!parse("a>bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", &lc, err, sizeof(err)), "a long name is refused");
	{
		char		many[2000];
		size_t		n = 0;

		for (int i = 0; i < 40; i++)
			n += (size_t) snprintf(many + n, sizeof(many) - n, "s%d>s%d;", i, i + 1);
		ok(!parse(many, &lc, err, sizeof(err)), "more than %d states are refused", SP_LIFECYCLE_MAX_STATES);
	}
	ok(!sp_lifecycle_parse(NULL, 0, &lc, err, sizeof(err)), "NULL spec refused");
	ok(sp_lifecycle_parse("a>b", 3, &lc, NULL, 0), "parses without an error buffer");
	ok(!sp_lifecycle_parse("a>", 2, &lc, NULL, 0), "a bad spec without an error buffer is refused, no crash");
	ok(sp_lifecycle_parse("a>b;zzz", 3, &lc, err, sizeof(err)), "only len bytes are read");
	is_int(lc.nstates, 2, "two states from the first three bytes");
	return done_testing();
}
