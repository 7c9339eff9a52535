/* Unit tests of src/core/sp_household.c: groups, pairs of groups weighed whole, levels */
#include "tap.h"
#include "linkage_fixture.h"
#include "sp_household.h"

/* weights of record pairs, by (smaller, larger) index; anything else -30 */
typedef struct wentry
{
	int64_t		i,
				j;
	double		w;
} wentry;

typedef struct fixture
{
	const wentry *weights;
	int			nweights;
	/* what cell() received */
	int64_t		ci[64],
				cj[64];
	double		cw[64];
	int			clevel[64];
	int			ncells;
	int			asked;
} fixture;

static double
weight_of(int64_t i, int64_t j, void *arg)
{
	fixture    *f = arg;

	f->asked++;
	for (int k = 0; k < f->nweights; k++)
		if ((f->weights[k].i == i && f->weights[k].j == j) || (f->weights[k].i == j && f->weights[k].j == i))
			return f->weights[k].w;
	return -30;
}

static void
cell_of(int64_t i, int64_t j, double w, sp_hh_level level, bool assigned, void *arg)
{
	fixture    *f = arg;

	(void) assigned;
	if (f->ncells < 64)
	{
		f->ci[f->ncells] = i;
		f->cj[f->ncells] = j;
		f->cw[f->ncells] = w;
		f->clevel[f->ncells] = (int) level;
	}
	f->ncells++;
}

/* level given to the cell (i, j), or -1 when not seen */
static int
level_of(const fixture *f, int64_t i, int64_t j)
{
	for (int k = 0; k < f->ncells && k < 64; k++)
		if ((f->ci[k] == i && f->cj[k] == j) || (f->ci[k] == j && f->cj[k] == i))
			return f->clevel[k];
	return -1;
}

static void
set_groups(const sp_link_spec *s, sp_records *r, int col, const char *const *groups, int n)
{
	fx_records(r, n, s->ncolumns);
	for (int i = 0; i < n; i++)
		fx_text(s, r, i, col, groups[i]);
}

int
main(void)
{
	sp_link_spec s;
	sp_records	r;
	sp_groups	g;
	sp_hh_stats st;
	int			grp;

	/*
	 * 0-2: household h1 (mother, two children); 3-5: h1 registered again;
	 * 6: alone; 7: no group; 8-9: an unrelated household whose 9 is a
	 * namesake of child 1.
	 */
	const char *const groups[10] = {"h1", "h1", "h1", "h2", "h2", "h2", "h3", "", "h4", "h4"};

	fx_spec(&s);
	grp = fx_column(&s, "registration_group", SP_NORM_NONE, false);
	set_groups(&s, &r, grp, groups, 10);

	/* groups */
	is_int(sp_groups_build(&s, &r, grp, &g, &sp_link_env_malloc), SP_LINK_OK, "groups built");
	is_int(g.ngroups, 4, "four groups (a missing value is in none)");
	ok(g.group_of[0] == 0 && g.group_of[1] == 0 && g.group_of[2] == 0, "h1 is group 0 (its first record)");
	ok(g.group_of[3] == 1 && g.group_of[5] == 1, "h2 is group 1");
	is_int(g.group_of[7], -1, "no value, no group");
	is_int(sp_group_size(&g, 0), 3, "h1 has three members");
	is_int(sp_group_size(&g, 6), 1, "h3 has one");
	is_int(sp_group_size(&g, 7), 0, "no group: size 0");
	ok(g.members[g.start[3]] == 8 && g.members[g.start[3] + 1] == 9, "members in record order");
	is_int(sp_hh_plain_level(&g, 6, &g, 0), SP_HH_ALONE, "alone in its group: ALONE");
	is_int(sp_hh_plain_level(&g, 7, &g, 0), SP_HH_ALONE, "no group: ALONE");
	is_int(sp_hh_plain_level(&g, 9, &g, 1), SP_HH_UNLINKED, "both with other members: UNLINKED");
	is_str(sp_hh_level_name(SP_HH_LINKED), "linked", "level names");
	{
		sp_hh_pair	a = sp_hh_pair_of(7, 3, true),
					b = sp_hh_pair_of(7, 3, false),
					c = sp_hh_pair_of(3, 7, true);

		ok(a.i == 3 && a.j == 7 && b.i == 7 && b.j == 3, "dedup orders a pair, linking keeps its sides");
		ok(sp_hh_pair_cmp(&a, &c) == 0 && sp_hh_pair_cmp(&a, &b) < 0 && sp_hh_pair_cmp(&b, &a) > 0,
		   "pairs compare by i, then j");
	}

	/* the same groups whatever the order of the records */
	{
		const char *const shuffled[10] = {"h4", "h2", "", "h1", "h3", "h2", "h1", "h4", "h2", "h1"};
		sp_records	r2;
		sp_groups	g2;

		set_groups(&s, &r2, grp, shuffled, 10);
		sp_groups_build(&s, &r2, grp, &g2, &sp_link_env_malloc);
		ok(g2.ngroups == 4 && g2.group_of[0] == 0 && g2.group_of[7] == 0 && g2.group_of[1] == 1 &&
		   g2.group_of[5] == 1 && g2.group_of[8] == 1 && g2.group_of[3] == 2 && g2.group_of[4] == 3,
		   "shuffled: groups numbered by their first record");
		sp_groups_free(&g2, &sp_link_env_malloc);
		fx_free(&r2);
	}

	/* one confident pair (the mothers): the children are LINKED, the mothers not (nothing else confident) */
	{
		const wentry w[] = {{0, 3, 20}, {1, 4, -2}, {2, 5, -8}, {1, 5, -9}, {2, 4, -12}, {1, 9, 1}};
		fixture		f = {w, 6, {0}, {0}, {0}, {0}, 0, 0};
		sp_hh_pair	links[] = {{3, 0}, {0, 3}};	/* both orders: one pair of groups */

		is_int(sp_household_cells(&g, &g, true, links, 2, 3.17, weight_of, cell_of, &f, &st, &sp_link_env_malloc),
			   SP_LINK_OK, "cells weighed");
		is_int(st.group_pairs, 1, "one pair of groups examined");
		is_int(st.cells, 9, "3 x 3 member pairs weighed");
		is_int(f.ncells, 9, "each handed over once");
		is_int(st.linked, 2, "two linked");
		is_int(level_of(&f, 1, 4), SP_HH_LINKED, "child 1: assigned, supported by the mothers: LINKED");
		is_int(level_of(&f, 2, 5), SP_HH_LINKED, "child 2 too, though weaker than child 1 with child 2'");
		is_int(level_of(&f, 1, 5), SP_HH_UNLINKED, "child 1 with child 2': lost the assignment");
		is_int(level_of(&f, 0, 3), SP_HH_UNLINKED, "the mothers: no other confident pair supports them");
		is_int(level_of(&f, 1, 9), -1, "the namesake's groups were not joined: not examined");
		ok(f.ci[0] < f.cj[0] && f.ci[0] == 0 && f.cj[0] == 3, "dedup: the left record in the smaller group, cells in order");
	}

	/* two confident pairs support each other */
	{
		const wentry w[] = {{0, 3, 20}, {1, 4, 5}, {2, 5, -8}};
		fixture		f = {w, 3, {0}, {0}, {0}, {0}, 0, 0};
		sp_hh_pair	links[] = {{0, 3}, {1, 4}};

		sp_household_cells(&g, &g, true, links, 2, 3.17, weight_of, cell_of, &f, &st, &sp_link_env_malloc);
		ok(level_of(&f, 0, 3) == SP_HH_LINKED && level_of(&f, 1, 4) == SP_HH_LINKED &&
		   level_of(&f, 2, 5) == SP_HH_LINKED, "all three members linked");
	}

	/* a link within one group (registered together) or to a record without a group examines nothing */
	{
		fixture		f = {NULL, 0, {0}, {0}, {0}, {0}, 0, 0};
		sp_hh_pair	links[] = {{0, 1}, {7, 3}};

		sp_household_cells(&g, &g, true, links, 2, 3.17, weight_of, cell_of, &f, &st, &sp_link_env_malloc);
		ok(st.group_pairs == 0 && f.ncells == 0 && f.asked == 0, "nothing examined");
	}

	/* a lone record joined to a household: ALONE, never LINKED */
	{
		const wentry w[] = {{6, 3, 20}};
		fixture		f = {w, 1, {0}, {0}, {0}, {0}, 0, 0};
		sp_hh_pair	links[] = {{6, 3}};

		sp_household_cells(&g, &g, true, links, 1, 3.17, weight_of, cell_of, &f, &st, &sp_link_env_malloc);
		ok(f.ncells == 3 && level_of(&f, 6, 3) == SP_HH_ALONE && level_of(&f, 6, 4) == SP_HH_ALONE, "alone");
	}

	/*
	 * a tie is no assignment: twins whose names were both spelt anew weigh
	 * the same against either twin, and neither pair is linked (whatever
	 * the order of the links)
	 */
	{
		const wentry w[] = {{0, 3, 20}, {1, 4, 0}, {1, 5, 0}, {2, 4, 0}, {2, 5, 0}};
		fixture		f = {w, 5, {0}, {0}, {0}, {0}, 0, 0};
		sp_hh_pair	links[] = {{0, 3}};

		sp_household_cells(&g, &g, true, links, 1, 3.17, weight_of, cell_of, &f, &st, &sp_link_env_malloc);
		ok(level_of(&f, 1, 4) == SP_HH_UNLINKED && level_of(&f, 2, 5) == SP_HH_UNLINKED &&
		   level_of(&f, 1, 5) == SP_HH_UNLINKED && level_of(&f, 2, 4) == SP_HH_UNLINKED,
		   "equal weights: no pair of the twins linked");
	}
	/* one of them told apart (a name that still agrees): both pairs linked */
	{
		const wentry w[] = {{0, 3, 20}, {1, 4, 2}, {1, 5, 0}, {2, 4, 0}, {2, 5, 0}};
		fixture		f = {w, 5, {0}, {0}, {0}, {0}, 0, 0};
		sp_hh_pair	links[] = {{0, 3}};

		sp_household_cells(&g, &g, true, links, 1, 3.17, weight_of, cell_of, &f, &st, &sp_link_env_malloc);
		ok(level_of(&f, 1, 4) == SP_HH_LINKED && level_of(&f, 2, 5) == SP_HH_LINKED &&
		   level_of(&f, 1, 5) == SP_HH_UNLINKED, "one twin told apart: each with the other's counterpart");
	}
	sp_groups_free(&g, &sp_link_env_malloc);
	fx_free(&r);

	/* two relations: each side its own groups */
	{
		const char *const left[3] = {"a", "a", "b"};
		const char *const right[4] = {"x", "x", "y", "y"};
		sp_records	ra,
					rb;
		sp_groups	ga,
					gb;
		const wentry w[] = {{0, 1, 20}, {1, 0, 6}};	/* (left 0, right 1), (left 1, right 0) */
		fixture		f = {w, 2, {0}, {0}, {0}, {0}, 0, 0};
		sp_hh_pair	links[] = {{0, 1}};

		set_groups(&s, &ra, grp, left, 3);
		set_groups(&s, &rb, grp, right, 4);
		sp_groups_build(&s, &ra, grp, &ga, &sp_link_env_malloc);
		sp_groups_build(&s, &rb, grp, &gb, &sp_link_env_malloc);
		sp_household_cells(&ga, &gb, false, links, 1, 3.17, weight_of, cell_of, &f, &st, &sp_link_env_malloc);
		ok(st.cells == 4 && f.ci[0] == 0 && f.cj[0] == 0, "link: left group a against right group x, left first");
		is_int(level_of(&f, 1, 0), SP_HH_LINKED, "link: supported by the confident pair");
		sp_groups_free(&ga, &sp_link_env_malloc);
		sp_groups_free(&gb, &sp_link_env_malloc);
		fx_free(&ra);
		fx_free(&rb);
	}

	/* pairs of groups too large to weigh whole are counted and left alone */
	{
		const char *big[80];
		sp_records	rr;
		sp_groups	gg;
		fixture		f = {NULL, 0, {0}, {0}, {0}, {0}, 0, 0};
		sp_hh_pair	links[] = {{0, 40}};

		for (int i = 0; i < 80; i++)
			big[i] = i < 40 ? "camp1" : "camp2";
		set_groups(&s, &rr, grp, big, 80);
		sp_groups_build(&s, &rr, grp, &gg, &sp_link_env_malloc);
		sp_household_cells(&gg, &gg, true, links, 1, 3.17, weight_of, cell_of, &f, &st, &sp_link_env_malloc);
		ok(st.group_pairs_too_large == 1 && st.group_pairs == 0 && f.asked == 0, "40 x 40 members: not weighed");
		sp_groups_free(&gg, &sp_link_env_malloc);
		fx_free(&rr);
	}

	/* no records, no links */
	{
		sp_records	rr;
		sp_groups	gg;
		fixture		f = {NULL, 0, {0}, {0}, {0}, {0}, 0, 0};

		fx_records(&rr, 0, s.ncolumns);
		is_int(sp_groups_build(&s, &rr, grp, &gg, &sp_link_env_malloc), SP_LINK_OK, "empty input");
		is_int(sp_household_cells(&gg, &gg, true, NULL, 0, 3.17, weight_of, cell_of, &f, &st, &sp_link_env_malloc),
			   SP_LINK_OK, "no links");
		sp_groups_free(&gg, &sp_link_env_malloc);
		fx_free(&rr);
	}
	return done_testing();
}
