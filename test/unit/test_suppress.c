/* Unit tests of src/core/sp_suppress.c */
#include "tap.h"
#include "sp_suppress.h"

#include <stdint.h>
#include <stdlib.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* "1010": hidden[] as a string of 0 and 1, for readable expectations */
static const char *
pattern(const bool *hidden, size_t n)
{
	static char buf[64];
	size_t		i;

	for (i = 0; i < n && i < sizeof(buf) - 1; i++)
		buf[i] = hidden[i] ? '1' : '0';
	buf[i] = '\0';
	return buf;
}

static const char *
run(size_t n, const int64_t *count, const int64_t *parent, int64_t k)
{
	bool		hidden[64];
	size_t		bad = 0;
	sp_suppress_status st = sp_suppress(n, count, parent, k, NULL, hidden, &bad);

	if (st != SP_SUPPRESS_OK)
		return sp_suppress_message(st);
	return pattern(hidden, n);
}

/* a cheap deterministic generator for the property checks */
static uint64_t lcg = 42;
static uint64_t
next(uint64_t bound)
{
	lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
	return (lcg >> 33) % bound;
}

/*
 * Whether the result obeys the rules: every count 1..k-1 withheld, nothing
 * at 0 withheld, and for every parent either the rule holds or no child is
 * left that could be withheld.
 */
static bool
obeys(size_t n, const int64_t *count, const int64_t *parent, int64_t k, const bool *hidden, char *why, size_t whylen)
{
	size_t		i,
				p;

	for (i = 0; i < n; i++)
	{
		if (count[i] > 0 && count[i] < k && !hidden[i])
		{
			snprintf(why, whylen, "cell %zu (count %lld) shown", i, (long long) count[i]);
			return false;
		}
		if (count[i] == 0 && hidden[i])
		{
			snprintf(why, whylen, "cell %zu (count 0) withheld", i);
			return false;
		}
	}
	for (p = 0; p < n; p++)
	{
		size_t		n_children = 0,
					n_hidden = 0,
					n_left = 0;
		int64_t		sum = 0;

		for (i = 0; i < n; i++)
			if (parent[i] == (int64_t) p)
			{
				n_children++;
				if (hidden[i])
				{
					n_hidden++;
					sum += count[i];
				}
				else if (count[i] > 0)
					n_left++;
			}
		if (n_children == 0 || n_left == 0)
			continue;
		if (hidden[p] && count[p] > 0 && n_hidden == 0)
		{
			snprintf(why, whylen, "parent %zu withheld, no child withheld", p);
			return false;
		}
		if (!hidden[p] && (n_hidden == 1 || (n_hidden > 1 && sum < k)))
		{
			snprintf(why, whylen, "parent %zu shown, %zu children withheld adding up to %lld", p, n_hidden, (long long) sum);
			return false;
		}
	}
	return true;
}

int
main(void)
{
	/* a country (0), three regions (1-3) */
	{
		int64_t		c[] = {100, 3, 50, 47};
		int64_t		p[] = {-1, 0, 0, 0};

		is_str(run(N(c), c, p, 5), "0101", "one small region: the smallest other region is withheld too");
		is_str(run(N(c), c, p, 3), "0000", "with k = 3, a count of 3 is shown");
		is_str(run(N(c), c, p, 1), "0000", "with k = 1, nothing is withheld");
	}
	{
		int64_t		c[] = {100, 2, 2, 96};
		int64_t		p[] = {-1, 0, 0, 0};

		is_str(run(N(c), c, p, 5), "0111", "two small regions adding up to less than k: a third is withheld");
	}
	{
		int64_t		c[] = {100, 2, 3, 95};
		int64_t		p[] = {-1, 0, 0, 0};

		is_str(run(N(c), c, p, 5), "0110", "two small regions adding up to k: enough");
	}
	{
		int64_t		c[] = {100, 3, 0, 97};
		int64_t		p[] = {-1, 0, 0, 0};

		is_str(run(N(c), c, p, 5), "0101", "a zero is never withheld: the next non-zero is");
	}
	{
		int64_t		c[] = {100, 20, 3, 20, 57};
		int64_t		p[] = {-1, 0, 0, 0, 0};

		is_str(run(N(c), c, p, 5), "01100", "equal counts: the first in the input is withheld");
	}
	{
		/* country 0; regions 1 (3), 2 (40), 3 (57); districts 4, 5 of region 2 */
		int64_t		c[] = {100, 3, 40, 57, 20, 20};
		int64_t		p[] = {-1, 0, 0, 0, 2, 2};

		is_str(run(N(c), c, p, 5), "011010", "a region withheld by the secondary rule: one of its districts is withheld too");
	}
	{
		/* the same, districts listed before their region: the order of cells is free */
		int64_t		c[] = {20, 20, 100, 3, 40, 57};
		int64_t		p[] = {4, 4, -1, 2, 2, 2};

		is_str(run(N(c), c, p, 5), "100110", "children may come before their parent in the input");
	}
	{
		int64_t		c[] = {10, 3, 0};
		int64_t		p[] = {-1, 0, 0};

		is_str(run(N(c), c, p, 5), "110", "no other child to withhold: the parent goes too (it would give the 3 back were the parts the whole)");
	}
	{
		/* two measures side by side: separate trees */
		int64_t		c[] = {100, 3, 97, 100, 50, 50};
		int64_t		p[] = {-1, 0, 0, -1, 3, 3};

		is_str(run(N(c), c, p, 5), "011000", "separate trees do not affect each other");
	}
	{
		int64_t		c[] = {4};
		int64_t		p[] = {-1};

		is_str(run(N(c), c, p, 5), "1", "a lone small count is withheld");
		is_str(run(0, c, p, 5), "", "no cells");
	}

	/* forced cells: withheld whatever their count, and the rules follow */
	{
		int64_t		c[] = {100, 20, 30, 50};
		int64_t		p[] = {-1, 0, 0, 0};
		bool		f[] = {false, false, false, true};
		bool		h[4];

		ok(sp_suppress(4, c, p, 5, f, h, NULL) == SP_SUPPRESS_OK, "forced cells");
		is_str(pattern(h, 4), "0101", "a forced cell is withheld, and the smallest other with it");
	}
	{
		/*
		 * A table adding up two ways: a country (0) of two areas (1, 2),
		 * each cell also split by kind X and Y: A1.X 3, A1.Y 4, A2.X 5,
		 * A2.Y 6, country X 7, country Y 8.  Geography: an area's cell is
		 * the child of the country's of the same kind; kinds: X and Y are
		 * the children of their area's total.  One pass per hierarchy,
		 * alternated until nothing changes.
		 */
		int64_t		c[] = {40, 20, 20, 17, 3, 16, 4, 33, 7};
		int64_t		geo[] = {-1, 0, 0, 7, 8, 7, 8, -1, -1};
		int64_t		kind[] = {-1, -1, -1, 1, 1, 2, 2, 0, 0};
		bool		a[9],
					b[9];
		int			round;

		ok(sp_suppress(9, c, kind, 5, NULL, a, NULL) == SP_SUPPRESS_OK, "first pass, by kind");
		for (round = 0; round < 3; round++)
		{
			ok(sp_suppress(9, c, geo, 5, a, b, NULL) == SP_SUPPRESS_OK, "a pass by geography");
			ok(sp_suppress(9, c, kind, 5, b, a, NULL) == SP_SUPPRESS_OK, "a pass by kind");
		}
		is_str(pattern(a, 9), "000111100", "both areas' X withheld with their small Y; the country's X and Y (33, 7) stay shown");
	}

	/* bad input */
	{
		int64_t		c[] = {10, -1};
		int64_t		p[] = {-1, 0};
		bool		h[2];
		size_t		bad = 99;

		is_int(sp_suppress(2, c, p, 5, NULL, h, &bad), SP_SUPPRESS_NEGATIVE, "a negative count is refused");
		is_int(bad, 1, "... naming the cell");
	}
	{
		int64_t		c[] = {10, 1};
		int64_t		p[] = {-1, 2};
		int64_t		self[] = {-1, 1};
		int64_t		below[] = {-2, 0};
		int64_t		cyc[] = {1, 0};
		bool		h[2];
		size_t		bad = 99;

		is_int(sp_suppress(2, c, p, 5, NULL, h, &bad), SP_SUPPRESS_BAD_PARENT, "a parent out of range is refused");
		is_int(bad, 1, "... naming the cell");
		is_int(sp_suppress(2, c, self, 5, NULL, h, &bad), SP_SUPPRESS_BAD_PARENT, "a cell that is its own parent is refused");
		is_int(sp_suppress(2, c, below, 5, NULL, h, &bad), SP_SUPPRESS_BAD_PARENT, "a parent index below -1 is refused");
		is_int(bad, 0, "... naming the cell");
		is_int(sp_suppress(2, c, cyc, 5, NULL, h, &bad), SP_SUPPRESS_CYCLE, "a cycle is refused");
		is_int(bad, 0, "... naming a cell on it");
		is_int(sp_suppress(2, c, p, 0, NULL, h, NULL), SP_SUPPRESS_BAD_K, "k = 0 is refused");
		is_str(sp_suppress_message(SP_SUPPRESS_CYCLE), "a cell is its own ancestor", "messages name the problem");
	}
	{
		/* counts near the top of int64 do not overflow the sum */
		int64_t		c[] = {INT64_MAX, INT64_MAX - 1, INT64_MAX - 1, 7};
		int64_t		p[] = {-1, 0, 0, 0};
		bool		h[4];

		ok(sp_suppress(4, c, p, INT64_MAX, NULL, h, NULL) == SP_SUPPRESS_OK, "huge counts and k");
		is_str(pattern(h, 4), "0111", "... withheld as the rules say, no overflow");
	}

	/* properties over random trees of three levels */
	{
		int			t,
					failures = 0;
		char		why[200] = "";

		for (t = 0; t < 2000 && failures == 0; t++)
		{
			int64_t		c[60],
						p[60];
			bool		h[60];
			size_t		n = 1 + next(60),
						i;
			int64_t		k = 1 + (int64_t) next(12);

			for (i = 0; i < n; i++)
			{
				p[i] = i == 0 ? -1 : (int64_t) next(i);		/* a parent earlier in the input */
				c[i] = next(4) == 0 ? 0 : (int64_t) next(30);
			}
			if (sp_suppress(n, c, p, k, NULL, h, NULL) != SP_SUPPRESS_OK || !obeys(n, c, p, k, h, why, sizeof(why)))
				failures++;
		}
		ok(failures == 0, "2000 random trees: every rule holds after suppression (%s)", failures ? why : "none broken");
	}

	/*
	 * Several hierarchies as edges: two districts (cells 1, 2) of a region
	 * (0), each with households and the eligible among them, and the
	 * complement (households not eligible) as the other part.
	 *   cells: 0 region households 30, 1 district A 20, 2 district B 10,
	 *          3 region eligible 25, 4 A eligible 18, 5 B eligible 7,
	 *          6 region not eligible 5, 7 A not eligible 2, 8 B not eligible 3
	 * hierarchy 0 (areas): 1, 2 -> 0; 4, 5 -> 3; 7, 8 -> 6
	 * hierarchy 1 (nesting): 3, 6 -> 0; 4, 7 -> 1; 5, 8 -> 2
	 * k = 5: 2 and 3 are withheld; in A, 2 alone of 20 would come back from
	 * 20 - 18: 18 goes too; in B, 7 goes with its 3; then the region's
	 * eligible (25) has both districts withheld, adding up to 25: fine; the
	 * region's not eligible (5) has 2 and 3 withheld, adding up to 5: fine.
	 */
	{
		int64_t		c[] = {30, 20, 10, 25, 18, 7, 5, 2, 3};
		int64_t		ch[] = {1, 2, 4, 5, 7, 8, 3, 6, 4, 7, 5, 8};
		int64_t		pa[] = {0, 0, 3, 3, 6, 6, 0, 0, 1, 1, 2, 2};
		int64_t		hi[] = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
		bool		h[9];
		size_t		rounds = 0;

		ok(sp_suppress_multi(9, c, 12, ch, pa, hi, 5, NULL, h, NULL, &rounds) == SP_SUPPRESS_OK, "areas and nesting as edges");
		is_str(pattern(h, 9), "000011011", "each district's eligible goes with its small complement; households stay shown");
		ok(rounds >= 2, "... found in %zu rounds, the last one changing nothing", rounds);
	}
	{
		/*
		 * A cell withheld by one hierarchy can equal its parent in another:
		 * district B has 7 households, none eligible, so its 7 not eligible
		 * are its 7 households.  R: 27 households, 17 eligible, 10 not;
		 * A: 20, 17, 3; B: 7, 0, 7.  The 3 is small; B's 7 not eligible is
		 * withheld beside it under R's 10; but B's households (7) less its
		 * eligible (0) would give that 7, and R's 10 less it the 3: B's
		 * households go, and then R's eligible, equal to A's.
		 */
		int64_t		c[] = {27, 20, 7, 17, 17, 0, 10, 3, 7};
		int64_t		ch[] = {1, 2, 4, 5, 7, 8, 3, 6, 4, 7, 5, 8};
		int64_t		pa[] = {0, 0, 3, 3, 6, 6, 0, 0, 1, 1, 2, 2};
		int64_t		hi[] = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
		bool		h[9];

		ok(sp_suppress_multi(9, c, 12, ch, pa, hi, 5, NULL, h, NULL, NULL) == SP_SUPPRESS_OK, "a withheld cell equal to its parent");
		is_str(pattern(h, 9), "011110111", "... the parent is withheld too, and what that needs in turn: only R's households are shown");
	}
	{
		/*
		 * Counts the reader knows: a district's 118 households, of which the
		 * reader counts 115 enrolled in registry programme X from the records
		 * they read, and 3 in none.  Published: households by what they
		 * receive, registry and external: {} 0, {X} 115, {ext} 3.  The 3
		 * receiving only the external benefit is small; beside it, the 0
		 * receiving nothing would give it back from the 3 the reader knows:
		 * the 0 goes too, and as 0 + 3 is still small against the 118, the
		 * 115 as well (known already, but the rule does not rely on that).
		 * cells: 0 households (known), 1 {}, 2 {X}, 3 {ext}, 4 none of the
		 * registry's (known), 5 X (known)
		 */
		int64_t		c[] = {118, 0, 115, 3, 3, 115};
		bool		kn[] = {true, false, false, false, true, true};
		int64_t		ch[] = {1, 2, 3, 1, 3, 2};
		int64_t		pa[] = {0, 0, 0, 4, 4, 5};
		int64_t		hi[] = {0, 0, 0, 1, 1, 1};
		bool		h[6];

		ok(sp_suppress_multi(6, c, 6, ch, pa, hi, 5, kn, h, NULL, NULL) == SP_SUPPRESS_OK, "known counts");
		is_str(pattern(h, 6), "011100", "the 0 beside the small count under a known total goes too; known counts are never withheld");
		ok(sp_suppress_multi(6, c, 6, ch, pa, hi, 5, NULL, h, NULL, NULL) == SP_SUPPRESS_OK, "the same, nothing known");
		is_str(pattern(h, 6), "001111", "... the 0 stays shown: with the 3 the reader knows, the withheld 3 comes back");
	}
	{
		/* without the nesting, the eligible of A (18) would be shown and give its 2 back */
		int64_t		c[] = {30, 20, 10, 25, 18, 7, 5, 2, 3};
		int64_t		ch[] = {1, 2, 4, 5, 7, 8};
		int64_t		pa[] = {0, 0, 3, 3, 6, 6};
		int64_t		hi[] = {0, 0, 0, 0, 0, 0};
		bool		h[9];

		ok(sp_suppress_multi(9, c, 6, ch, pa, hi, 5, NULL, h, NULL, NULL) == SP_SUPPRESS_OK, "areas alone");
		is_str(pattern(h, 9), "000000011", "only the small complements: what the nesting adds is the eligible");
	}
	{
		/* no edge at all: primary suppression only */
		int64_t		c[] = {4, 0, 9};
		bool		h[3];

		ok(sp_suppress_multi(3, c, 0, NULL, NULL, NULL, 5, NULL, h, NULL, NULL) == SP_SUPPRESS_OK, "no edges");
		is_str(pattern(h, 3), "100", "... counts from 1 to k - 1 only");
	}
	{
		/* the hierarchies' numbers need not follow each other; edges may come in any order */
		int64_t		c[] = {30, 20, 10, 25, 18, 7, 5, 2, 3};
		int64_t		ch[] = {4, 7, 1, 2, 4, 5, 7, 8, 3, 6, 5, 8};
		int64_t		pa[] = {1, 1, 0, 0, 3, 3, 6, 6, 0, 0, 2, 2};
		int64_t		hi[] = {70, 70, 3, 3, 3, 3, 3, 3, 70, 70, 70, 70};
		bool		h[9];

		ok(sp_suppress_multi(9, c, 12, ch, pa, hi, 5, NULL, h, NULL, NULL) == SP_SUPPRESS_OK, "edges shuffled, hierarchies 3 and 70");
		is_str(pattern(h, 9), "000011011", "... the same pattern");
	}
	{
		int64_t		c[] = {10, 4, 6, -1};
		int64_t		ch[] = {1, 2, 2};
		int64_t		pa[] = {0, 0, 1};
		int64_t		hi[] = {0, 0, 0};
		int64_t		self_ch[] = {1, 2};
		int64_t		self_pa[] = {0, 2};
		int64_t		out_pa[] = {0, 4};
		int64_t		neg_hi[] = {0, -1};
		bool		h[4];
		size_t		bad = 99;

		is_int(sp_suppress_multi(3, c, 3, ch, pa, hi, 5, NULL, h, &bad, NULL), SP_SUPPRESS_TWO_PARENTS, "two parents in one hierarchy are refused");
		is_int(bad, 2, "... naming the second edge");
		is_int(sp_suppress_multi(3, c, 2, self_ch, self_pa, hi, 5, NULL, h, &bad, NULL), SP_SUPPRESS_BAD_EDGE, "a cell as its own parent is refused");
		is_int(bad, 1, "... naming the edge");
		is_int(sp_suppress_multi(3, c, 2, self_ch, out_pa, hi, 5, NULL, h, &bad, NULL), SP_SUPPRESS_BAD_EDGE, "a parent out of range is refused");
		is_int(sp_suppress_multi(3, c, 2, ch, pa, neg_hi, 5, NULL, h, &bad, NULL), SP_SUPPRESS_BAD_EDGE, "a hierarchy below 0 is refused");
		is_int(sp_suppress_multi(4, c, 2, ch, pa, hi, 5, NULL, h, &bad, NULL), SP_SUPPRESS_NEGATIVE, "a negative count is refused");
		is_int(bad, 3, "... naming the cell");
		is_int(sp_suppress_multi(3, c, 2, ch, pa, hi, 0, NULL, h, &bad, NULL), SP_SUPPRESS_BAD_K, "k = 0 is refused");
	}

	/* properties over random tables of three hierarchies */
	{
		int			t,
					failures = 0;
		char		why[200] = "";

		for (t = 0; t < 1000 && failures == 0; t++)
		{
			int64_t		c[50],
						p[3][50],
						ch[150],
						pa[150],
						hi[150];
			bool		h[50];
			size_t		n = 1 + next(50),
						ne = 0,
						i;
			int			j;
			int64_t		k = 1 + (int64_t) next(12);

			for (i = 0; i < n; i++)
				c[i] = next(4) == 0 ? 0 : (int64_t) next(30);
			for (j = 0; j < 3; j++)
				for (i = 0; i < n; i++)
				{
					p[j][i] = i == 0 || next(3) == 0 ? -1 : (int64_t) next(i);
					if (p[j][i] >= 0)
					{
						ch[ne] = (int64_t) i;
						pa[ne] = p[j][i];
						hi[ne] = j;
						ne++;
					}
				}
			if (sp_suppress_multi(n, c, ne, ch, pa, hi, k, NULL, h, NULL, NULL) != SP_SUPPRESS_OK)
				failures++;
			for (j = 0; j < 3 && failures == 0; j++)
				if (!obeys(n, c, p[j], k, h, why, sizeof(why)))
					failures++;
		}
		ok(failures == 0, "1000 random tables of three hierarchies: every rule of each holds (%s)", failures ? why : "none broken");
	}
	return done_testing();
}
