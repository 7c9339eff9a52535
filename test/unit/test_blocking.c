/* Unit tests of src/core/sp_blocking.c: keys, splitting large blocks, candidate pairs */
#include "tap.h"
#include "linkage_fixture.h"
#include "sp_blocking.h"

typedef struct Count
{
	int			pairs;
	int			per_rule[SP_LINK_MAX_RULES];
	int			first_per_rule[SP_LINK_MAX_RULES];
	int			seen[16][16];
	int			bad;			/* i >= j in a deduplication, or out of range */
	int64_t		nl;
	int64_t		nr;
	bool		dedup;
} Count;

static void
count_pair(int64_t i, int64_t j, int rule, bool first, void *arg)
{
	Count	   *c = arg;

	c->pairs++;
	c->per_rule[rule]++;
	c->first_per_rule[rule] += first;
	if (i < 0 || i >= c->nl || j < 0 || j >= (c->dedup ? c->nl : c->nr) || (c->dedup && i == j))
		c->bad++;
	else if (i < 16 && j < 16)
		c->seen[i][j]++;
}

static double progress_done[4];
static int	progress_calls;

static void
progress(double done, void *arg)
{
	(void) arg;
	if (progress_calls < 4)
		progress_done[progress_calls] = done;
	progress_calls++;
}

/* A rule of one part. */
static int
rule1(sp_link_spec *s, sp_key_fn fn, int column, int column2, int n)
{
	int			k = s->nrules++;

	s->rules[k].nparts = 1;
	s->rules[k].parts[0] = (sp_block_part) {fn, column, column2, n};
	s->rules[k].present = true;
	return k;
}

/* refine key for sp_refine_block alone: the record's index modulo 2 + level */
static int
refine_by_index(const sp_keyed_record *rec, int level, uint64_t *h, void *arg)
{
	(void) arg;
	if (rec->idx % 7 == 6)
		return 0;				/* no value to split by */
	*h = *h * 31 + (uint64_t) (rec->idx % (2 + level)) + 1;
	return 1;
}

int
main(void)
{
	sp_link_spec s;
	sp_records	r;
	int			given,
				family,
				date,
				id,
				area;
	const sp_link_env *env = &sp_link_env_malloc;

	fx_spec(&s);
	given = fx_column(&s, "given_name", SP_NORM_NAME, false);
	family = fx_column(&s, "family_name", SP_NORM_NAME, false);
	date = fx_column(&s, "birth_date", SP_NORM_NONE, true);
	id = fx_column(&s, "national_id", SP_NORM_ID, false);
	area = fx_column(&s, "admin_area_code", SP_NORM_NONE, false);

	/* keys of one part */
	{
		int			r_value = rule1(&s, SP_KEY_VALUE, family, 0, 0);
		int			r_keys = rule1(&s, SP_KEY_NAME_KEYS, given, family, 0);
		int			r_sorted = rule1(&s, SP_KEY_SORTED, id, 0, 0);
		int			r_first = rule1(&s, SP_KEY_FIRST, given, 0, 3);
		int			r_year = rule1(&s, SP_KEY_YEAR, date, 0, 0);
		int			r_year_text = rule1(&s, SP_KEY_YEAR, family, 0, 0);
		int			r_name_key = rule1(&s, SP_KEY_NAME_KEY, family, 0, 0);
		int			r_name_key_id = rule1(&s, SP_KEY_NAME_KEY, id, 0, 0);
		int			r_sorted_date = rule1(&s, SP_KEY_SORTED, date, 0, 0);
		uint64_t	k[6][SP_LINK_MAX_RULES];

		fx_records(&r, 6, s.ncolumns);
		fx_text(&s, &r, 0, given, "abdirahman");
		fx_text(&s, &r, 0, family, "hassan");
		fx_date(&s, &r, 0, date, "1985-03-14");
		fx_text(&s, &r, 0, id, "8539119");
		fx_text(&s, &r, 1, given, "hassan");
		fx_text(&s, &r, 1, family, "abdirahman");
		fx_date(&s, &r, 1, date, "1985");
		fx_text(&s, &r, 1, id, "8531919");
		fx_text(&s, &r, 2, given, "abdi");
		fx_text(&s, &r, 2, family, "hasan");
		fx_date(&s, &r, 2, date, "1986-03-14");
		fx_text(&s, &r, 2, id, "8539118");
		fx_text(&s, &r, 3, given, "abdi");
		fx_text(&s, &r, 4, id, "ABC");
		fx_text(&s, &r, 5, id, "ACB");
		is_int(sp_block_keys(&s, &r, env), SP_LINK_OK, "keys of 6 records");
		for (int i = 0; i < 6; i++)
			for (int rule = 0; rule < s.nrules; rule++)
				k[i][rule] = r.keys[i * s.nrules + rule];
		ok(k[0][r_value] != 0 && k[0][r_value] != k[2][r_value], "value: hassan and hasan differ");
		is_int(k[3][r_value], 0, "value: missing is no key");
		ok(k[0][r_keys] != 0 && k[0][r_keys] == k[1][r_keys], "name_keys: both names, in either order");
		ok(k[0][r_keys] != k[2][r_keys], "name_keys: other names");
		is_int(k[3][r_keys], 0, "name_keys: one name missing");
		ok(k[0][r_sorted] == k[1][r_sorted], "sorted: an ID with two digits swapped meets itself");
		ok(k[0][r_sorted] != k[2][r_sorted], "sorted: a different digit does not");
		ok(k[4][r_sorted] == k[5][r_sorted], "sorted: ABC / ACB");
		is_int(k[0][r_sorted_date], 0, "sorted: no key for a date");
		ok(k[0][r_first] == k[2][r_first] && k[2][r_first] == k[3][r_first], "first(given, 3): abdirahman / abdi");
		ok(k[0][r_first] != k[1][r_first], "first(given, 3): abd / has");
		ok(k[0][r_year] == k[1][r_year], "year: a full date and a year-only one of 1985");
		ok(k[0][r_year] != k[2][r_year], "year: 1986 is another");
		is_int(k[0][r_year_text], 0, "year: no key for a text column");
		ok(k[0][r_name_key] == k[2][r_name_key], "name_key: hassan / hasan");
		ok(k[4][r_name_key_id] != 0 && k[4][r_name_key_id] != k[5][r_name_key_id],
		   "name_key of a column that is not a name: normalised first (abc / acb)");
		{
			uint64_t	key;

			sp_block_rule_key(&s, &r, 0, &s.rules[r_value], &key);
			ok(key == k[0][r_value], "sp_block_rule_key gives the key sp_block_keys stored");
		}
		{
			/* the same part as the second of a rule mixes differently */
			uint64_t	h1 = SP_FNV64_OFFSET,
						h2 = SP_FNV64_OFFSET;

			sp_block_mix_part(&s, &r, 0, &s.rules[r_value].parts[0], 0, &h1);
			sp_block_mix_part(&s, &r, 0, &s.rules[r_value].parts[0], 1, &h2);
			ok(h1 != h2, "a part's position is part of the key");
		}
		fx_free(&r);
		s.nrules = 0;
	}

	/* splitting a block by a refine key */
	{
		int			rule = rule1(&s, SP_KEY_VALUE, family, 0, 0);
		sp_block_stats stats[SP_LINK_MAX_RULES];
		const char *areas[10] = {"A", "A", "A", "A", "B", "B", "B", "", "C", "C"};
		int64_t		n;
		sp_keyed_record *kr;

		s.rules[rule].max_block = 3;
		s.rules[rule].nrefine = 1;
		s.rules[rule].refine[0] = (sp_block_part) {SP_KEY_VALUE, area, 0, 0};
		fx_records(&r, 12, s.ncolumns);
		/* eight Hassans: four in A, three in B, one without an area; two Alis in C */
		for (int i = 0; i < 10; i++)
		{
			fx_text(&s, &r, i, family, i < 8 ? "hassan" : "ali");
			fx_text(&s, &r, i, area, areas[i]);
		}
		fx_text(&s, &r, 10, family, "omar");
		fx_text(&s, &r, 11, family, "omar");
		fx_text(&s, &r, 11, area, "A");
		sp_block_keys(&s, &r, env);
		is_int(sp_estimate_pairs(&s, &r, &r, true, env), 28 + 1 + 1, "before splitting: 28 + 1 + 1 pairs");
		is_int(sp_largest_block(&s, &r, &r, true, rule, env), 8, "the largest block has 8 records");
		is_int(sp_refine_keys(&s, &r, &r, true, env, stats), SP_LINK_OK, "refine");
		is_int(stats[rule].refined_blocks, 1, "one block over 3 was split");
		is_int(stats[rule].dropped_blocks, 1, "the part in A (4) is still too big: left out");
		is_int(stats[rule].dropped_records, 5, "its 4 records and the one without an area are counted");
		is_int((int) stats[rule].dropped_pairs, 6 + 7, "6 pairs in A, 7 of the record without an area");
		ok(r.keys[0 * s.nrules + rule] == 0 && r.keys[3 * s.nrules + rule] == 0, "A's records lost their key");
		is_int(r.keys[7 * s.nrules + rule], 0, "so did the record without an area");
		ok(r.keys[4 * s.nrules + rule] != 0 && r.keys[4 * s.nrules + rule] == r.keys[6 * s.nrules + rule],
		   "B's three records share a refined key");
		ok(r.keys[8 * s.nrules + rule] != 0 && r.keys[8 * s.nrules + rule] == r.keys[9 * s.nrules + rule],
		   "a small block keeps its key");
		ok(r.refine_level != NULL && r.refine_level[4 * s.nrules + rule] == 1 && r.refine_level[8 * s.nrules + rule] == 0,
		   "refine levels: B's records were refined once, C's not");
		ok(r.keys[10 * s.nrules + rule] == r.keys[11 * s.nrules + rule], "a small block is not refined");
		is_int(sp_estimate_pairs(&s, &r, &r, true, env), 3 + 1 + 1, "after: 3 pairs in B, 1 in C, 1 of omar");
		is_int(sp_largest_block(&s, &r, &r, true, rule, env), 3, "no block over max_block");

		/* the same by the callback alone, two refine levels */
		s.rules[rule].nrefine = 2;
		s.rules[rule].max_block = 2;
		kr = malloc(sizeof(sp_keyed_record) * 14);
		for (int i = 0; i < 14; i++)
			kr[i] = (sp_keyed_record) {42, i, 0, 0};
		memset(stats, 0, sizeof(stats));
		n = 14;
		is_int(sp_refine_block(&s.rules[rule], true, kr, n, 0, refine_by_index, NULL, &stats[0]), SP_LINK_OK,
			   "a block of 14 refined by a callback");
		{
			int			zero = 0,
						biggest = 0;

			for (int64_t a = 0, b; a < n; a = b)
			{
				for (b = a; b < n && kr[b].key == kr[a].key; b++)
					;
				if (kr[a].key == 0)
					zero += (int) (b - a);
				else if (b - a > biggest)
					biggest = (int) (b - a);
			}
			ok(biggest <= 2, "every block left is at most max_block (%d)", biggest);
			is_int(zero, stats[0].dropped_records, "every record without a key is counted");
			ok(stats[0].dropped_records >= 2, "records 6 and 13 have no refine value");
			ok(stats[0].refined_blocks >= 3, "split at level 0, then its parts at level 1 (%lld)",
			   (long long) stats[0].refined_blocks);
		}
		free(kr);
		fx_free(&r);
		s.nrules = 0;
	}

	/* candidate pairs, each once */
	{
		int			by_family = rule1(&s, SP_KEY_VALUE, family, 0, 0);
		int			by_given = rule1(&s, SP_KEY_VALUE, given, 0, 0);
		Count		c;
		int			twice = 0,
					missing = 0;

		fx_records(&r, 7, s.ncolumns);
		/* 0-1 share both names, 0-2 and 1-2 the family name, 3-4 and 5-6 (no family names) the given name */
		fx_text(&s, &r, 0, given, "ali");
		fx_text(&s, &r, 0, family, "hassan");
		fx_text(&s, &r, 1, given, "ali");
		fx_text(&s, &r, 1, family, "hassan");
		fx_text(&s, &r, 2, given, "omar");
		fx_text(&s, &r, 2, family, "hassan");
		fx_text(&s, &r, 3, given, "amina");
		fx_text(&s, &r, 3, family, "osman");
		fx_text(&s, &r, 4, given, "amina");
		fx_text(&s, &r, 4, family, "warsame");
		fx_text(&s, &r, 5, given, "zeynab");
		fx_text(&s, &r, 6, given, "zeynab");
		sp_block_keys(&s, &r, env);
		memset(&c, 0, sizeof(c));
		c.nl = 7;
		c.dedup = true;
		is_int(sp_for_each_candidate(&s, &r, &r, true, true, count_pair, &c, NULL, NULL, env), SP_LINK_OK,
			   "candidates, each once");
		is_int(c.pairs, 5, "5 distinct pairs");
		ok(c.per_rule[by_family] == 3 && c.per_rule[by_given] == 2, "0-1 is the family rule's, not the given name's");
		for (int i = 0; i < 7; i++)
			for (int j = i + 1; j < 7; j++)
			{
				int			n = c.seen[i][j] + c.seen[j][i];

				twice += n > 1;
				missing += n == 0 && ((i == 0 && j == 1) || (i == 0 && j == 2) || (i == 1 && j == 2) ||
									  (i == 3 && j == 4) || (i == 5 && j == 6));
			}
		ok(twice == 0 && missing == 0 && c.bad == 0, "every pair once, none missing, none with itself");
		is_int(sp_estimate_pairs(&s, &r, &r, true, env), 6, "the estimate counts 0-1 under both rules");

		memset(&c, 0, sizeof(c));
		c.nl = 7;
		c.dedup = true;
		sp_for_each_candidate(&s, &r, &r, true, false, count_pair, &c, NULL, NULL, env);
		is_int(c.pairs, 6, "for training, every rule's pairs: 0-1 twice");
		ok(c.first_per_rule[by_given] == 2 && c.per_rule[by_given] == 3,
		   "the second time it is not first; two records without the earlier rule's key are");

		/* two relations: left against right only */
		{
			sp_records	right;

			fx_records(&right, 3, s.ncolumns);
			fx_text(&s, &right, 0, family, "hassan");
			fx_text(&s, &right, 1, given, "amina");
			fx_text(&s, &right, 1, family, "hassan");
			fx_text(&s, &right, 2, given, "ali");
			sp_block_keys(&s, &right, env);
			memset(&c, 0, sizeof(c));
			c.nl = 7;
			c.nr = 3;
			sp_for_each_candidate(&s, &r, &right, false, true, count_pair, &c, NULL, NULL, env);
			is_int(c.pairs, 6 + 2 + 2, "linking: hassans 3x2, alis 2x1, aminas 2x1");
			is_int(c.bad, 0, "left indexes into the left, right into the right");
			is_int(c.seen[0][2] + c.seen[1][2], 2, "ali hassan of the left meets the right's ali once each");
			is_int(sp_estimate_pairs(&s, &r, &right, false, env), 6 + 2 + 2, "estimate: every rule's pairs");
			fx_free(&right);
		}
		fx_free(&r);
		s.nrules = 0;
	}

	/* progress every 65,536 pairs */
	{
		Count		c;

		rule1(&s, SP_KEY_VALUE, family, 0, 0);
		fx_records(&r, 400, s.ncolumns);
		for (int i = 0; i < 400; i++)
			fx_text(&s, &r, i, family, "hassan");
		sp_block_keys(&s, &r, env);
		memset(&c, 0, sizeof(c));
		c.nl = 400;
		c.dedup = true;
		progress_calls = 0;
		sp_for_each_candidate(&s, &r, &r, true, true, count_pair, &c, progress, NULL, env);
		is_int(c.pairs, 400 * 399 / 2, "79,800 pairs in one block");
		ok(progress_calls == 1 && progress_done[0] == 65536, "progress once, at 65,536 pairs");
		fx_free(&r);
	}
	return done_testing();
}
