/* Unit tests of src/core/sp_records.c: comparing two records, evidence rules */
#include "tap.h"
#include "linkage_fixture.h"
#include "sp_records.h"

static const double jw_thresholds[2] = {0.92, 0.8};
static const double edit_thresholds[2] = {1, 2};

/* given, family (swapped with each other), birth date, national ID, group */
typedef struct People
{
	sp_link_spec spec;
	int			given;
	int			family;
	int			date;
	int			id;
	int			id_lev;
	int			group_col;
} People;

static void
people_spec(People *p)
{
	sp_link_spec *s = &p->spec;
	int			c_given,
				c_family,
				c_date,
				c_id,
				c_group;

	fx_spec(s);
	c_given = fx_column(s, "given_name", SP_NORM_NAME, false);
	c_family = fx_column(s, "family_name", SP_NORM_NAME, false);
	c_date = fx_column(s, "birth_date", SP_NORM_NONE, true);
	c_id = fx_column(s, "national_id", SP_NORM_ID, false);
	c_group = fx_column(s, "registration_group", SP_NORM_NONE, false);
	p->given = fx_comparison(s, "given_name", c_given, SP_METHOD_JARO_WINKLER, 2, jw_thresholds, true);
	p->family = fx_comparison(s, "family_name", c_family, SP_METHOD_JARO_WINKLER, 2, jw_thresholds, true);
	p->date = fx_comparison(s, "birth_date", c_date, SP_METHOD_DATE, 0, NULL, false);
	p->id = fx_comparison(s, "national_id", c_id, SP_METHOD_DAMERAU, 2, edit_thresholds, false);
	p->id_lev = fx_comparison(s, "national_id_lev", c_id, SP_METHOD_LEVENSHTEIN, 2, edit_thresholds, false);
	p->group_col = c_group;
	s->comparisons[p->given].swap_with = p->family;
	s->comparisons[p->family].swap_with = p->given;
	s->anchor = p->id;
}

static void
person(People *p, sp_records *r, int64_t i, const char *given, const char *family, const char *date,
	   const char *id, const char *group)
{
	fx_text(&p->spec, r, i, p->spec.comparisons[p->given].column, given);
	fx_text(&p->spec, r, i, p->spec.comparisons[p->family].column, family);
	fx_date(&p->spec, r, i, p->spec.comparisons[p->date].column, date);
	fx_text(&p->spec, r, i, p->spec.comparisons[p->id].column, id);
	fx_text(&p->spec, r, i, p->group_col, group);
}

int
main(void)
{
	People		p;
	sp_records	r;
	sp_cmp_work w;
	sp_pair_values pv;
	sp_gamma	g[SP_FS_MAX_COMPARISONS];

	people_spec(&p);
	sp_cmp_work_init(&w, &sp_link_env_malloc);
	fx_records(&r, 16, p.spec.ncolumns);
	person(&p, &r, 0, "mohamed", "hassan", "1985-03-14", "8539119", "g1");
	person(&p, &r, 1, "mohammed", "hassan", "1985-03-14", "8531919", "g1");
	person(&p, &r, 2, "mahmoud", "hassan", "1985-04-03", "", "g2");
	person(&p, &r, 3, "hassan", "mohamed", "1985", "8539119", "g3");
	person(&p, &r, 4, "zeynab", "hassan", "1985-03-14", "1234567", "g4");
	person(&p, &r, 5, "ali", "hassan", "1985-03-14", "", "g4");
	person(&p, &r, 6, "ali", "", "1960-01-20", "8539118", "");
	person(&p, &r, 7, "amina", "hassan", "1985-03-14", "8539118", "g5");
	person(&p, &r, 8, "mahmoud", "hassan", "1985-03-04", "", "g6");

	/* levels */
	is_int(sp_compare_records(&p.spec, &r, 0, &r, 0, g, &pv, &w), SP_LINK_OK, "a record against itself");
	ok(g[p.given] == 0 && g[p.family] == 0 && g[p.date] == 0 && g[p.id] == 0, "agrees with itself exactly");
	sp_compare_records(&p.spec, &r, 0, &r, 1, g, &pv, &w);
	is_int(g[p.given], 1, "mohamed / mohammed: jaro_winkler >= 0.92");
	is_int(g[p.id], 1, "an ID with two digits swapped is one Damerau-Levenshtein edit");
	is_int(g[p.id_lev], 2, "and two Levenshtein edits");
	is_int(g[p.date], SP_DATE_LEVEL_EXACT, "same full birth date");
	sp_compare_records(&p.spec, &r, 0, &r, 2, g, &pv, &w);
	is_int(g[p.given], 3, "mohamed / mahmoud: below both thresholds, same phonetic key (md)");
	is_int(g[p.date], SP_DATE_LEVEL_WITHIN_YEAR, "three weeks apart: within one year");
	is_int(g[p.id], -1, "a missing ID is null, not a level");
	sp_compare_records(&p.spec, &r, 2, &r, 8, g, &pv, &w);
	is_int(g[p.date], SP_DATE_LEVEL_TRANSPOSED, "day and month transposed");
	sp_compare_records(&p.spec, &r, 0, &r, 5, g, &pv, &w);
	is_int(g[p.given], 4, "mohamed / ali: else, after the phonetic level");
	sp_compare_records(&p.spec, &r, 0, &r, 6, g, &pv, &w);
	is_int(g[p.date], SP_DATE_LEVEL_FAR, "25 years apart: a generation");
	is_int(g[p.family], -1, "an empty family name is missing");
	is_int(g[p.id], 1, "one digit changed");
	is_int(g[p.id_lev], 1, "one digit changed, Levenshtein too");
	sp_compare_records(&p.spec, &r, 4, &r, 6, g, &pv, &w);
	is_int(g[p.id], 3, "IDs far apart: else");
	{
		sp_records	short_id;
		sp_gamma	g2[SP_FS_MAX_COMPARISONS];

		fx_records(&short_id, 1, p.spec.ncolumns);
		person(&p, &short_id, 0, "mohamed", "hassan", "1985", "85", "");
		sp_compare_records(&p.spec, &r, 0, &short_id, 0, g2, &pv, &w);
		is_int(g2[p.id], 3, "lengths 7 and 2: else without computing the distance");
		is_int(g2[p.date], SP_DATE_LEVEL_YEAR_ONLY, "same year, one side known to the year only");
		ok(pv.ra == &r && pv.rb == &short_id, "the pair's values are of ra and rb");
		fx_free(&short_id);
	}

	{
		/* exact with prefix levels: hierarchical codes (P-codes) */
		sp_link_spec ps;
		sp_records	areas;
		const double prefixes[2] = {6, 4};
		int			area;
		const char *codes[] = {"SO1401004", "SO1401004", "SO1401002", "SO1402001", "SO0101001", "SO14", "SÖ1401004", "SÖ1401009"};

		fx_spec(&ps);
		area = fx_column(&ps, "area", SP_NORM_NONE, false);
		fx_comparison(&ps, "area", area, SP_METHOD_EXACT, 2, prefixes, false);
		is_int(ps.comparisons[0].nlevels, 4, "two prefix lengths: exact, first 6, first 4, else");
		fx_records(&areas, 8, ps.ncolumns);
		for (int k = 0; k < 8; k++)
			fx_text(&ps, &areas, k, area, codes[k]);
		is_int(sp_compare_one(&ps, 0, &areas, 0, &areas, 1, &w), 0, "same village: exact");
		is_int(sp_compare_one(&ps, 0, &areas, 0, &areas, 2, &w), 1, "another village of the district: first 6 agree");
		is_int(sp_compare_one(&ps, 0, &areas, 0, &areas, 3, &w), 2, "another district of the region: first 4 agree");
		is_int(sp_compare_one(&ps, 0, &areas, 0, &areas, 4, &w), 3, "another region: else");
		is_int(sp_compare_one(&ps, 0, &areas, 0, &areas, 5, &w), 2, "a region code against a village in it: first 4 agree");
		is_int(sp_compare_one(&ps, 0, &areas, 6, &areas, 7, &w), 1, "prefixes count characters, not bytes");
		fx_free(&areas);
	}

	/* swapped names */
	sp_compare_records(&p.spec, &r, 0, &r, 3, g, &pv, &w);
	ok(g[p.given] == 0 && g[p.family] == 0, "given and family swapped: both exact crosswise");
	ok(pv.swapped, "the pair is marked swapped");
	ok(pv.left[p.given] == &r.values[0 * p.spec.ncolumns + p.spec.comparisons[p.given].column] &&
	   pv.right[p.given] == &r.values[3 * p.spec.ncolumns + p.spec.comparisons[p.family].column],
	   "a's given name was compared with b's family name");
	sp_compare_records(&p.spec, &r, 0, &r, 1, g, &pv, &w);
	ok(!pv.swapped, "a straight agreement is not swapped");
	sp_compare_records(&p.spec, &r, 5, &r, 4, g, &pv, &w);
	ok(!pv.swapped && g[p.given] == 4 && g[p.family] == 0,
	   "ali hassan / zeynab hassan: crosswise is no better, straight levels kept");
	person(&p, &r, 9, "ali", "ali", "", "", "");
	person(&p, &r, 10, "omar", "ali", "", "", "");
	sp_compare_records(&p.spec, &r, 9, &r, 10, g, &pv, &w);
	ok(!pv.swapped && g[p.given] == 4 && g[p.family] == 0, "ali ali / omar ali: crosswise only as good, not swapped");
	p.spec.comparisons[p.family].present = false;
	sp_compare_records(&p.spec, &r, 0, &r, 3, g, &pv, &w);
	ok(g[p.given] == 4 && g[p.family] == -1 && !pv.swapped,
	   "without the family name column no swap is tried (and family is not compared)");
	p.spec.comparisons[p.family].present = true;

	/* evidence */
	{
		int			same_group,
					twins,
					swapped;
		bool		applies[SP_LINK_MAX_EVIDENCE];
		sp_records	other;
		double		w8;

		same_group = p.spec.nevidence++;
		p.spec.evidence[same_group] = (sp_evidence) {"registered_together", SP_EV_SAME_GROUP, p.group_col, 0, 0, 0, -40, true};
		twins = p.spec.nevidence++;
		p.spec.evidence[twins] = (sp_evidence) {"twins", SP_EV_TWINS, 0, p.date, p.family, p.given, -15, true};
		swapped = p.spec.nevidence++;
		p.spec.evidence[swapped] = (sp_evidence) {"names_swapped", SP_EV_SWAPPED, 0, 0, 0, 0, -4, true};

		sp_compare_records(&p.spec, &r, 0, &r, 1, g, &pv, &w);
		w8 = sp_evidence_weight(&p.spec, &r, 0, &r, 1, true, g, pv.swapped, applies);
		ok(applies[same_group] && w8 == -40, "same group within one relation: -40");
		w8 = sp_evidence_weight(&p.spec, &r, 0, &r, 1, false, g, pv.swapped, applies);
		ok(!applies[same_group] && w8 == 0, "the same group value in two relations means nothing");
		sp_compare_records(&p.spec, &r, 0, &r, 2, g, &pv, &w);
		sp_evidence_weight(&p.spec, &r, 0, &r, 2, true, g, pv.swapped, applies);
		ok(!applies[same_group], "different groups");
		sp_compare_records(&p.spec, &r, 6, &r, 7, g, &pv, &w);
		sp_evidence_weight(&p.spec, &r, 6, &r, 7, true, g, pv.swapped, applies);
		ok(!applies[same_group], "a missing group is no group");

		/* zeynab / ali hassan, same birth date: twins when the ID is missing */
		sp_compare_records(&p.spec, &r, 4, &r, 5, g, &pv, &w);
		w8 = sp_evidence_weight(&p.spec, &r, 4, &r, 5, false, g, pv.swapped, applies);
		ok(applies[twins] && w8 == -15, "twins: same date and family, different given names, one ID missing");
		/* zeynab / amina hassan: IDs 1234567 and 8539118 completely different */
		sp_compare_records(&p.spec, &r, 4, &r, 7, g, &pv, &w);
		ok(g[p.id] == 3, "(the IDs are at their lowest level)");
		sp_evidence_weight(&p.spec, &r, 4, &r, 7, false, g, pv.swapped, applies);
		ok(applies[twins], "twins: IDs completely different");
		/* amina with mohamed's ID one digit off */
		fx_records(&other, 1, p.spec.ncolumns);
		person(&p, &other, 0, "zeynab", "hassan", "1985-03-14", "8539119", "");
		sp_compare_records(&p.spec, &r, 7, &other, 0, g, &pv, &w);
		ok(g[p.id] == 1, "(the IDs differ by one digit)");
		sp_evidence_weight(&p.spec, &r, 7, &other, 0, false, g, pv.swapped, applies);
		ok(!applies[twins], "not twins: an ID with a typo is the same person's");
		sp_compare_records(&p.spec, &r, 0, &other, 0, g, &pv, &w);
		ok(g[p.id] == 0 && g[p.given] == 4, "(same ID, different given names)");
		sp_evidence_weight(&p.spec, &r, 0, &other, 0, false, g, pv.swapped, applies);
		ok(!applies[twins], "not twins: the same ID");
		p.spec.anchor = -1;
		sp_evidence_weight(&p.spec, &r, 0, &other, 0, false, g, pv.swapped, applies);
		ok(applies[twins], "without an anchor, the ID says nothing");
		p.spec.anchor = p.id;
		fx_free(&other);
		sp_compare_records(&p.spec, &r, 0, &r, 1, g, &pv, &w);
		sp_evidence_weight(&p.spec, &r, 0, &r, 1, false, g, pv.swapped, applies);
		ok(!applies[twins], "not twins: similar given names");
		sp_compare_records(&p.spec, &r, 0, &r, 2, g, &pv, &w);
		sp_evidence_weight(&p.spec, &r, 0, &r, 2, false, g, pv.swapped, applies);
		ok(!applies[twins], "not twins: given names with one phonetic key (and dates not exact)");
		sp_compare_records(&p.spec, &r, 5, &r, 6, g, &pv, &w);
		sp_evidence_weight(&p.spec, &r, 5, &r, 6, false, g, pv.swapped, applies);
		ok(!applies[twins], "not twins: a family name missing");

		sp_compare_records(&p.spec, &r, 0, &r, 3, g, &pv, &w);
		w8 = sp_evidence_weight(&p.spec, &r, 0, &r, 3, false, g, pv.swapped, applies);
		ok(applies[swapped] && w8 == -4, "names agreeing only crosswise: -4");
		sp_compare_records(&p.spec, &r, 0, &r, 1, g, &pv, &w);
		w8 = sp_evidence_weight(&p.spec, &r, 0, &r, 1, true, g, pv.swapped, NULL);
		is_int((int) w8, -40, "applies may be NULL; only the rules that apply count");
		p.spec.evidence[same_group].present = false;
		w8 = sp_evidence_weight(&p.spec, &r, 0, &r, 1, true, g, pv.swapped, applies);
		ok(w8 == 0 && !applies[same_group], "a rule whose column is absent never applies");
		p.spec.evidence[same_group].present = true;
	}

	/* which comparisons, rules and evidence an input can use */
	{
		sp_link_spec s = p.spec;
		int			rule = s.nrules++;

		s.rules[rule].nparts = 1;
		s.rules[rule].parts[0] = (sp_block_part) {SP_KEY_NAME_KEYS, s.comparisons[p.given].column,
		s.comparisons[p.family].column, 0};
		s.columns[s.comparisons[p.family].column].present = false;
		sp_link_spec_set_present(&s);
		ok(!s.comparisons[p.family].present && s.comparisons[p.given].present, "a comparison of an absent column is skipped");
		ok(!s.rules[rule].present, "a rule on name_keys of an absent column is skipped");
		ok(!s.evidence[1].present && s.evidence[2].present && s.evidence[0].present,
		   "twins need their comparisons, swapped names nothing, a group its column");
	}

	/* exclusions: comparisons that agree by construction */
	{
		sp_link_spec s = p.spec;
		bool		excluded[SP_FS_MAX_COMPARISONS];
		int			rule = s.nrules++;

		s.rules[rule].nparts = 1;
		s.rules[rule].parts[0] = (sp_block_part) {SP_KEY_NAME_KEY, s.comparisons[p.given].column, 0, 0};
		s.comparisons[p.date].ndepends = 1;
		s.comparisons[p.date].depends_on[0] = p.family;
		sp_rule_exclusions(&s, rule, excluded);
		ok(excluded[p.given] && excluded[p.family], "a rule on the given name leaves out both names (swap partners)");
		ok(excluded[p.date], "and what depends on them");
		ok(!excluded[p.id], "but not the ID");
		sp_part_exclusions(&s, &(sp_block_part) {SP_KEY_VALUE, s.comparisons[p.id].column, 0, 0}, excluded);
		ok(excluded[p.id] && excluded[p.id_lev] && !excluded[p.given], "a refine key on the ID: both ID comparisons");
		sp_anchor_exclusions(&s, excluded);
		ok(excluded[p.id] && !excluded[p.id_lev], "the anchor itself");
		s.anchor = -1;
		sp_anchor_exclusions(&s, excluded);
		ok(!excluded[p.id], "no anchor, nothing left out");
	}

	/* hashes */
	{
		int			cols[2] = {p.spec.comparisons[p.family].column, p.spec.comparisons[p.date].column};

		ok(sp_columns_key(&p.spec, &r, 0, cols, 2) == sp_columns_key(&p.spec, &r, 1, cols, 2),
		   "same family and date, same key");
		ok(sp_columns_key(&p.spec, &r, 0, cols, 2) != sp_columns_key(&p.spec, &r, 2, cols, 2),
		   "another date, another key");
		is_int(sp_columns_key(&p.spec, &r, 6, cols, 2), 0, "a missing value: no key");
		ok(sp_value_hash(&r, &r.values[4 * p.spec.ncolumns + cols[0]]) ==
		   sp_value_hash(&r, &r.values[5 * p.spec.ncolumns + cols[0]]), "value hash of equal values");
	}

	sp_cmp_work_free(&w);
	fx_free(&r);
	return done_testing();
}
