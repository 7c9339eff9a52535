/* Unit tests of src/core/sp_sample.c: the samples training draws */
#include "tap.h"
#include "linkage_fixture.h"
#include "sp_sample.h"

#include <math.h>

/* sorted keyed records from (key, side) pairs */
static sp_keyed_record *
keyed(const int (*ks)[2], int m)
{
	sp_keyed_record *kr = malloc(sizeof(sp_keyed_record) * (size_t) m);
	int			idx[2] = {0, 0};

	for (int x = 0; x < m; x++)
		kr[x] = (sp_keyed_record) {(uint64_t) ks[x][0], idx[ks[x][1]]++, (int8_t) ks[x][1], 0};
	qsort(kr, (size_t) m, sizeof(sp_keyed_record), sp_keyed_record_cmp);
	return kr;
}

int
main(void)
{
	const sp_link_env *env = &sp_link_env_malloc;

	/* deduplication: keys 1 (3 records), 2 (1), 3 (2) */
	{
		static const int ks[6][2] = {{1, 0}, {3, 0}, {1, 0}, {2, 0}, {3, 0}, {1, 0}};
		sp_keyed_record *kr = keyed(ks, 6);
		sp_pair_groups g;
		uint64_t	rng1 = 7,
					rng2 = 7;
		int			same = 1,
					across = 0,
					self = 0,
					per_group[2] = {0, 0};

		is_int(sp_pair_groups_build(&g, kr, 6, true, env), SP_LINK_OK, "groups of 6 records");
		is_int(g.ngroups, 2, "2 groups with pairs (a record alone has none)");
		ok(g.total == 4 && g.cum[0] == 3 && g.cum[1] == 4, "3 + 1 pairs, cumulated");
		for (int t = 0; t < 100000; t++)
		{
			int64_t		a1,
						b1,
						a2,
						b2;

			sp_pair_groups_draw(&g, &rng1, &a1, &b1);
			sp_pair_groups_draw(&g, &rng2, &a2, &b2);
			same &= a1 == a2 && b1 == b2;
			across += kr[a1].key != kr[b1].key;
			self += a1 == b1;
			per_group[kr[a1].key == 1 ? 0 : 1]++;
		}
		ok(same, "the same seed draws the same pairs");
		is_int(across, 0, "never a pair across groups");
		is_int(self, 0, "never a record with itself");
		ok(fabs(per_group[0] / 100000.0 - 0.75) < 0.01, "groups drawn by their pairs (%.3f of 3/4)", per_group[0] / 100000.0);
		{
			uint64_t	rng3 = 8;
			int64_t		a,
						b,
						a3,
						b3;
			int			differ = 0;

			rng1 = 7;
			for (int t = 0; t < 100; t++)
			{
				sp_pair_groups_draw(&g, &rng1, &a, &b);
				sp_pair_groups_draw(&g, &rng3, &a3, &b3);
				differ += a != a3 || b != b3;
			}
			ok(differ > 0, "another seed, other pairs");
		}
		sp_pair_groups_free(&g, env);
		free(kr);
	}

	/* two relations: a left record with a right one of its group */
	{
		static const int ks[6][2] = {{1, 0}, {1, 1}, {1, 1}, {2, 0}, {2, 0}, {2, 1}};
		sp_keyed_record *kr = keyed(ks, 6);
		sp_pair_groups g;
		uint64_t	rng = 11;
		int			bad = 0;

		sp_pair_groups_build(&g, kr, 6, false, env);
		ok(g.ngroups == 2 && g.total == 2 + 2, "1: 1 x 2, 2: 2 x 1");
		for (int t = 0; t < 100000; t++)
		{
			int64_t		a,
						b;

			sp_pair_groups_draw(&g, &rng, &a, &b);
			bad += kr[a].side != 0 || kr[b].side != 1 || kr[a].key != kr[b].key;
		}
		is_int(bad, 0, "always left against right within a group");
		sp_pair_groups_free(&g, env);
		free(kr);
	}
	{
		/*
		 * Blocks with no pairs (key 2, left only) between two that have
		 * them, and one (key 4, right only) after the last: never drawn from.
		 */
		static const int ks[7][2] = {{1, 0}, {1, 1}, {2, 0}, {2, 0}, {3, 0}, {3, 1}, {4, 1}};
		sp_keyed_record *kr = keyed(ks, 7);
		sp_pair_groups g;
		uint64_t	rng = 11;
		int			bad = 0;

		sp_pair_groups_build(&g, kr, 7, false, env);
		for (int t = 0; t < 10000; t++)
		{
			int64_t		a,
						b;

			sp_pair_groups_draw(&g, &rng, &a, &b);
			bad += kr[a].side != 0 || kr[b].side != 1 || kr[a].key != kr[b].key;
		}
		is_int(bad, 0, "linking: blocks without pairs between and after groups are not drawn from");
		sp_pair_groups_free(&g, env);
		free(kr);
	}

	/* keeping candidate pairs */
	{
		int			kept = 0,
					again = 1;

		for (int64_t i = 0; i < 1000; i++)
			for (int64_t j = i + 1; j < i + 101; j++)
			{
				bool		k = sp_keep_pair(i, j, 0.25);

				kept += k;
				again &= k == sp_keep_pair(i, j, 0.25);
			}
		ok(again, "the same pair is always kept or always skipped");
		ok(fabs(kept / 100000.0 - 0.25) < 0.01, "about a quarter kept (%.4f)", kept / 100000.0);
		ok(sp_keep_pair(3, 4, 1.0) && !sp_keep_pair(3, 4, 0.0), "all, or none");
	}

	/* u among random pairs, and among pairs of one family */
	{
		sp_link_spec s;
		sp_records	r;
		sp_cmp_work w;
		int			family,
					area,
					c_family,
					c_area;
		double		counts[SP_FS_MAX_COMPARISONS][SP_FS_MAX_LEVELS];
		double		totals[SP_FS_MAX_COMPARISONS];
		double		pairs;
		int			cols[1];
		const char *families[8] = {"hassan", "hassan", "hassan", "ali", "ali", "omar", "", "hassan"};
		const char *areas[8] = {"A", "A", "B", "A", "C", "C", "A", "A"};

		fx_spec(&s);
		family = fx_column(&s, "family_name", SP_NORM_NAME, false);
		area = fx_column(&s, "admin_area_code", SP_NORM_NONE, false);
		c_family = fx_comparison(&s, "family_name", family, SP_METHOD_EXACT, 0, NULL, false);
		c_area = fx_comparison(&s, "admin_area_code", area, SP_METHOD_EXACT, 0, NULL, false);
		fx_records(&r, 8, s.ncolumns);
		for (int i = 0; i < 8; i++)
		{
			fx_text(&s, &r, i, family, families[i]);
			fx_text(&s, &r, i, area, areas[i]);
		}
		sp_cmp_work_init(&w, env);

		memset(counts, 0, sizeof(counts));
		memset(totals, 0, sizeof(totals));
		is_int(sp_u_random_pairs(&s, &r, &r, true, 20000, counts, totals, &w, env), SP_LINK_OK, "u from 20000 random pairs");
		ok(totals[c_area] == 20000, "every pair counted (no evidence rules)");
		ok(fabs(counts[c_area][0] / 20000 - 11.0 / 28) < 0.02,
		   "same area in about 11 of 28 pairs: never a record with itself (%.3f)", counts[c_area][0] / 20000);

		cols[0] = family;
		memset(counts, 0, sizeof(counts));
		pairs = sp_conditional_level_counts(&s, &r, &r, true, cols, 1, counts, &w, env);
		is_int((int) pairs, 6 + 1, "pairs of one family: 4 hassans, 2 alis");
		ok(counts[c_family][0] == 7 && counts[c_family][1] == 0, "every pair drawn agrees on the family name");
		ok(counts[c_area][0] + counts[c_area][1] == 7, "and is compared on the rest");
		sp_cmp_work_free(&w);
		fx_free(&r);
	}
	return done_testing();
}
