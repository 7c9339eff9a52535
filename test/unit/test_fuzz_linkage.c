/*
 * Fuzz harness of the linkage engine in src/core: deterministic
 * pseudo-random inputs (a fixed seed) for date parsing and comparison,
 * name keys, record comparison and evidence, blocking and splitting large
 * blocks, candidate pairs, term frequencies, EM with guard rails, and
 * union-find, each checked against invariants.  SP_FUZZ_ITERATIONS sets
 * the number of inputs (default 200,000; fewer under valgrind).
 */
#include "tap.h"
#include "linkage_fixture.h"
#include "sp_blocking.h"
#include "sp_linkage.h"
#include "sp_name.h"
#include "sp_records.h"
#include "sp_tf.h"

#include <math.h>
#include <stdio.h>

static uint64_t rng = 20261201;

static uint64_t
rnd(void)
{
	return sp_random_next(&rng);
}

static int
below(int n)
{
	return (int) (rnd() % (uint64_t) n);
}

static double
unit(void)
{
	return (double) (rnd() >> 11) / 9007199254740992.0;
}

/* A failed invariant: counted, the first few shown. */
typedef struct Family
{
	const char *what;
	long		inputs;
	long		failures;
} Family;

static void
fail(Family *f, const char *fmt, const char *detail)
{
	if (f->failures++ < 3)
	{
		printf("# %s: ", f->what);
		printf(fmt, detail);
		printf("\n");
	}
}

static void
report(const Family *f)
{
	ok(f->failures == 0, "%s: %ld cases, %ld invariants broken", f->what, f->inputs, f->failures);
}

/* ------------------------------------------------------------------------ */

static void
fuzz_date(Family *f)
{
	static const char alphabet[] = "0123456789012345678901234567890123456789-/ \tx";
	char		s[16];
	int			len = below(13);
	sp_ymd		d;

	for (int k = 0; k < len; k++)
		s[k] = alphabet[below((int) sizeof(alphabet) - 1)];
	s[len] = '\0';
	/* a well-formed one now and then */
	if (below(3) == 0)
		len = snprintf(s, sizeof(s), below(2) ? "%04d-%02d-%02d" : "%04d%02d%02d", below(10001), below(14), below(33));
	f->inputs++;
	memset(&d, 0, sizeof(d));
	if (sp_parse_linkage_date(s, (size_t) len, &d) != 0)
		return;
	if (d.year < 1 || d.year > 9999 || d.month < 1 || d.month > 12 || d.day < 1 || d.day > 31 ||
		d.precision < SP_YMD_DAY || d.precision > SP_YMD_YEAR ||
		d.days != sp_days_from_civil(d.year, d.month, d.day))
		fail(f, "\"%s\" parsed out of bounds", s);
	if (d.day > (d.month == 12 ? 31 : sp_days_from_civil(d.year, d.month + 1, 1) - sp_days_from_civil(d.year, d.month, 1)))
		fail(f, "\"%s\" is not a day of its month", s);
	{
		/* written back in its canonical form, it parses the same */
		char		canon[16];
		sp_ymd		e;
		int			n = d.precision == SP_YMD_DAY ? snprintf(canon, sizeof(canon), "%04d-%02d-%02d", d.year, d.month, d.day) :
			d.precision == SP_YMD_MONTH ? snprintf(canon, sizeof(canon), "%04d-%02d", d.year, d.month) :
			snprintf(canon, sizeof(canon), "%04d", d.year);

		memset(&e, 0, sizeof(e));
		if (sp_parse_linkage_date(canon, (size_t) n, &e) != 0 || memcmp(&d, &e, sizeof(d)) != 0)
			fail(f, "\"%s\" does not parse back the same", s);
	}
	{
		sp_date_level self = sp_compare_dates(d, d);
		sp_date_level want = d.precision == SP_YMD_DAY ? SP_DATE_LEVEL_EXACT :
			d.precision == SP_YMD_MONTH ? SP_DATE_LEVEL_SAME_MONTH : SP_DATE_LEVEL_YEAR_ONLY;

		if (self != want)
			fail(f, "\"%s\" against itself: not the level of its precision", s);
	}
}

static sp_ymd
random_date(void)
{
	sp_ymd		d;
	char		s[16];
	int			n;

	memset(&d, 0, sizeof(d));
	do
	{
		int			p = below(4);

		n = p == 0 ? snprintf(s, sizeof(s), "%04d", 1 + below(9999)) :
			p == 1 ? snprintf(s, sizeof(s), "%04d-%02d", 1900 + below(130), 1 + below(12)) :
			snprintf(s, sizeof(s), "%04d-%02d-%02d", 1900 + below(130), 1 + below(12), 1 + below(31));
	} while (sp_parse_linkage_date(s, (size_t) n, &d) != 0);
	return d;
}

static void
fuzz_compare_dates(Family *f)
{
	sp_ymd		a = random_date(),
				b = below(4) == 0 ? a : random_date();
	sp_date_level l1,
				l2;
	int			years;

	if (below(8) == 0)
	{
		/* day and month swapped */
		b = a;
		b.precision = SP_YMD_DAY;
		a.precision = SP_YMD_DAY;
		b.month = a.day <= 12 ? a.day : a.month;
		b.day = a.month;
		b.days = sp_days_from_civil(b.year, b.month, b.day);
	}
	f->inputs++;
	l1 = sp_compare_dates(a, b);
	l2 = sp_compare_dates(b, a);
	years = abs(a.year - b.year);
	if ((int) l1 < 0 || l1 >= SP_DATE_NLEVELS)
		fail(f, "level out of range%s", "");
	if (l1 != l2)
		fail(f, "not symmetric%s", "");
	if ((l1 == SP_DATE_LEVEL_EXACT) != (a.precision == SP_YMD_DAY && b.precision == SP_YMD_DAY &&
										a.year == b.year && a.month == b.month && a.day == b.day))
		fail(f, "exact when the days differ, or not when they agree%s", "");
	if ((l1 == SP_DATE_LEVEL_FAR) != (years >= SP_DATE_FAR_YEARS))
		fail(f, "a generation apart, or not, against the years%s", "");
	if (l1 <= SP_DATE_LEVEL_SAME_MONTH && a.year != b.year)
		fail(f, "same-year level for two years%s", "");
}

static void
fuzz_name_key(Family *f)
{
	char		in[64],
				out[2 * sizeof(in) + 1],
				again[2 * sizeof(in) + 1];
	size_t		len = 0,
				kl;
	int			target = below(60);

	/* normalised-like: words of a-z and 0-9, one space between them */
	while ((int) len < target)
	{
		int			word = 1 + below(8);

		if (len > 0)
			in[len++] = ' ';
		for (int k = 0; k < word && (int) len < target; k++)
			in[len++] = below(10) == 0 ? (char) ('0' + below(10)) : (char) ('a' + below(26));
	}
	if (len > 0 && in[len - 1] == ' ')
		len--;
	in[len] = '\0';
	f->inputs++;
	kl = sp_name_key(in, len, out);
	if (kl > 2 * len || strlen(out) != kl)
		fail(f, "\"%s\": key longer than 2 * len, or not NUL-terminated", in);
	for (size_t k = 0; k < kl; k++)
		if (!((out[k] >= 'a' && out[k] <= 'z') || (out[k] >= '0' && out[k] <= '9') ||
			  (out[k] == ' ' && k > 0 && k + 1 < kl && out[k - 1] != ' ')))
		{
			fail(f, "\"%s\": key has a character outside a-z, 0-9 and single inner spaces", in);
			break;
		}
	if (sp_name_key(in, len, again) != kl || memcmp(out, again, kl) != 0)
		fail(f, "\"%s\": not deterministic", in);
}

/* ------------------------------------------------------------------------
 * Records
 * ------------------------------------------------------------------------ */

static void
random_word(char *s, int max)
{
	static const char *syllables[] = {"mo", "ha", "med", "ali", "has", "san", "a", "ab", "di", "om", "ar", "ze", "y", "nab", "h", "ou"};
	int			n = below(4);

	s[0] = '\0';
	for (int k = 0; k < n && (int) strlen(s) + 4 < max; k++)
		strcat(s, syllables[below(16)]);
	if (n > 1 && below(6) == 0 && (int) strlen(s) + 6 < max)
	{
		strcat(s, " ");
		strcat(s, syllables[below(16)]);
	}
}

static void
random_digits(char *s, int max)
{
	int			n = below(max < 10 ? max : 10);

	for (int k = 0; k < n; k++)
		s[k] = (char) ('0' + below(4));
	s[n] = '\0';
}

static void
fuzz_compare_records(Family *f)
{
	sp_link_spec s;
	sp_records	r;
	sp_cmp_work w;
	int			n = 2 + below(6);
	double		jw[3] = {0.95, 0.85, 0.7};
	double		edits[3] = {1, 2, 3};
	int			given,
				family,
				date,
				id,
				group;
	double		min_weight = 0;

	fx_spec(&s);
	given = fx_column(&s, "given", SP_NORM_NAME, false);
	family = fx_column(&s, "family", SP_NORM_NAME, false);
	date = fx_column(&s, "date", SP_NORM_NONE, true);
	id = fx_column(&s, "id", SP_NORM_ID, false);
	group = fx_column(&s, "group", SP_NORM_NONE, false);
	fx_comparison(&s, "given", given, SP_METHOD_JARO_WINKLER, 1 + below(3), jw, below(2));
	fx_comparison(&s, "family", family, SP_METHOD_JARO_WINKLER, 1 + below(3), jw, below(2));
	fx_comparison(&s, "date", date, SP_METHOD_DATE, 0, NULL, false);
	fx_comparison(&s, "id", id, below(2) ? SP_METHOD_DAMERAU : SP_METHOD_LEVENSHTEIN, 1 + below(3), edits, false);
	{
		/* exact, with prefix levels or without (hierarchical codes) */
		const double prefixes[3] = {1 + below(8), 1 + below(1), 0};

		fx_comparison(&s, "id_exact", id, SP_METHOD_EXACT, prefixes[0] > 1 ? 1 + below(2) : below(2), prefixes, false);
	}
	if (below(2))
	{
		s.comparisons[0].swap_with = 1;
		s.comparisons[1].swap_with = 0;
	}
	s.anchor = below(2) ? 3 : -1;
	s.evidence[s.nevidence++] = (sp_evidence) {"together", SP_EV_SAME_GROUP, group, 0, 0, 0, -40, true};
	s.evidence[s.nevidence++] = (sp_evidence) {"twins", SP_EV_TWINS, 0, 2, 1, 0, -15, true};
	s.evidence[s.nevidence++] = (sp_evidence) {"swapped", SP_EV_SWAPPED, 0, 0, 0, 0, -4, true};
	for (int e = 0; e < s.nevidence; e++)
		min_weight += s.evidence[e].weight;
	for (int c = 0; c < s.ncolumns; c++)
		s.columns[c].present = below(8) != 0;
	sp_link_spec_set_present(&s);

	fx_records(&r, n, s.ncolumns);
	for (int i = 0; i < n; i++)
	{
		char		buf[40];

		random_word(buf, sizeof(buf));
		fx_text(&s, &r, i, given, buf);
		random_word(buf, sizeof(buf));
		fx_text(&s, &r, i, family, buf);
		if (below(5))
		{
			sp_ymd		d = random_date();

			r.values[i * s.ncolumns + date].isnull = false;
			r.values[i * s.ncolumns + date].date = d;
		}
		random_digits(buf, sizeof(buf));
		fx_text(&s, &r, i, id, buf);
		snprintf(buf, sizeof(buf), "%d", below(3));
		fx_text(&s, &r, i, group, below(4) ? buf : "");
	}
	sp_cmp_work_init(&w, &sp_link_env_malloc);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
		{
			sp_gamma	g[SP_FS_MAX_COMPARISONS];
			sp_pair_values pv;
			double		ev;

			f->inputs++;
			if (sp_compare_records(&s, &r, i, &r, j, g, &pv, &w) != SP_LINK_OK)
				fail(f, "comparison failed%s", "");
			for (int c = 0; c < s.ncomparisons; c++)
			{
				const sp_value *va = &r.values[i * s.ncolumns + s.comparisons[c].column];
				const sp_value *vb = &r.values[j * s.ncolumns + s.comparisons[c].column];

				if (g[c] < -1 || g[c] >= s.comparisons[c].nlevels)
					fail(f, "level out of range%s", "");
				if (!s.comparisons[c].present && g[c] != -1)
					fail(f, "a comparison of an absent column has a level%s", "");
				if (s.comparisons[c].present && s.comparisons[c].swap_with < 0 && (g[c] == -1) != (va->isnull || vb->isnull))
					fail(f, "null level without a missing value, or the reverse%s", "");
			}
			if (i == j)
				for (int c = 0; c < s.ncomparisons; c++)
					if (g[c] > 0 && s.comparisons[c].method != SP_METHOD_DATE)
						fail(f, "a record is not exact against itself%s", "");
			if (pv.swapped && (s.comparisons[0].swap_with != 1 || !s.comparisons[1].present))
				fail(f, "swapped without a swap%s", "");
			ev = sp_evidence_weight(&s, &r, i, &r, j, true, g, pv.swapped, NULL);
			if (ev > 0 || ev < min_weight)
				fail(f, "evidence weight out of range%s", "");
			if (sp_evidence_weight(&s, &r, i, &r, j, false, g, false, NULL) < -15 - 1e-9)
				fail(f, "same group across two relations%s", "");
		}
	sp_cmp_work_free(&w);
	fx_free(&r);
}

/* ------------------------------------------------------------------------
 * Blocking
 * ------------------------------------------------------------------------ */

static int
random_refine(const sp_keyed_record *rec, int level, uint64_t *h, void *arg)
{
	uint64_t	salt = *(const uint64_t *) arg;
	uint64_t	x = salt ^ ((uint64_t) rec->idx * 0x9E3779B97F4A7C15ULL) ^ (uint64_t) (level + 1) * 31 ^ (uint64_t) rec->side;
	uint64_t	v = sp_random_next(&x);

	if (v % 9 == 0)
		return 0;
	*h = sp_fnv64(*h, (const char *) &v, 1);	/* a few distinct refine values */
	return 1;
}

static void
fuzz_refine(Family *f)
{
	int			n = 1 + below(60);
	bool		dedup = below(2);
	sp_keyed_record *kr = malloc(sizeof(sp_keyed_record) * (size_t) n);
	sp_block_rule rule;
	sp_block_stats st;
	uint64_t	salt = rnd();
	int			nkeys = 1 + below(4);
	double		before = 0,
				after = 0;
	int64_t		zero = 0;

	memset(&rule, 0, sizeof(rule));
	rule.max_block = 2 + below(8);
	rule.nrefine = below(SP_LINK_MAX_REFINE + 1);
	memset(&st, 0, sizeof(st));
	for (int x = 0; x < n; x++)
	{
		/* keys are hashes in the engine: a few random 64-bit ones */
		uint64_t	key = salt + (uint64_t) below(nkeys);

		kr[x] = (sp_keyed_record) {sp_random_next(&key) | 1, x, (int8_t) (dedup ? 0 : below(2)), 0};
	}
	qsort(kr, (size_t) n, sizeof(sp_keyed_record), sp_keyed_record_cmp);
	for (int64_t a = 0, b; a < n; a = b)
	{
		for (b = a; b < n && kr[b].key == kr[a].key; b++)
			;
		before += sp_block_pairs(kr + a, b - a, dedup);
		if (b - a > rule.max_block && sp_refine_block(&rule, dedup, kr + a, b - a, 0, random_refine, &salt, &st) != SP_LINK_OK)
			fail(f, "refine failed%s", "");
	}
	f->inputs++;
	qsort(kr, (size_t) n, sizeof(sp_keyed_record), sp_keyed_record_cmp);
	for (int64_t a = 0, b; a < n; a = b)
	{
		for (b = a; b < n && kr[b].key == kr[a].key; b++)
			;
		if (kr[a].key == 0)
			zero += b - a;
		else
		{
			after += sp_block_pairs(kr + a, b - a, dedup);
			if (b - a > rule.max_block)
				fail(f, "a block over max_block is left%s", "");
		}
		for (int64_t x = a; x < b; x++)
			if (kr[x].level > rule.nrefine)
				fail(f, "refined more often than there are refine keys%s", "");
	}
	if (zero != st.dropped_records)
		fail(f, "records left out and records without a key differ%s", "");
	if (after + st.dropped_pairs > before + 1e-9 || st.dropped_pairs < 0)
		fail(f, "more pairs after splitting than before%s", "");
	if (rule.nrefine == 0 && st.refined_blocks != 0)
		fail(f, "split without a refine key%s", "");
	free(kr);
}

typedef struct PairLog
{
	int			n;
	int			times[32][32];
	int			produced;
} PairLog;

static void
log_pair(int64_t i, int64_t j, int rule, bool first, void *arg)
{
	PairLog    *p = arg;

	(void) rule;
	(void) first;
	p->produced++;
	if (i >= 0 && i < p->n && j >= 0 && j < p->n)
		p->times[i][j]++;
}

static void
fuzz_candidates(Family *f)
{
	sp_link_spec s;
	sp_records	r;
	int			n = 2 + below(30);
	int			cols[3];
	PairLog    *once = calloc(1, sizeof(PairLog)),
			   *every = calloc(1, sizeof(PairLog));
	double		estimate;
	int			want_once = 0,
				want_every = 0;

	fx_spec(&s);
	for (int c = 0; c < 3; c++)
		cols[c] = fx_column(&s, c == 0 ? "a" : c == 1 ? "b" : "c", SP_NORM_NONE, false);
	s.nrules = 1 + below(3);
	for (int k = 0; k < s.nrules; k++)
	{
		s.rules[k].nparts = 1 + below(2);
		for (int p = 0; p < s.rules[k].nparts; p++)
			s.rules[k].parts[p] = (sp_block_part) {below(3) ? SP_KEY_VALUE : SP_KEY_FIRST, cols[below(3)], 0, 1};
	}
	sp_link_spec_set_present(&s);
	fx_records(&r, n, s.ncolumns);
	for (int i = 0; i < n; i++)
		for (int c = 0; c < 3; c++)
		{
			char		v[3] = {(char) ('a' + below(3)), (char) ('a' + below(3)), '\0'};

			fx_text(&s, &r, i, cols[c], below(6) ? v : "");
		}
	if (sp_block_keys(&s, &r, &sp_link_env_malloc) != SP_LINK_OK)
		fail(f, "keys failed%s", "");
	once->n = every->n = n;
	sp_for_each_candidate(&s, &r, &r, true, true, log_pair, once, NULL, NULL, &sp_link_env_malloc);
	sp_for_each_candidate(&s, &r, &r, true, false, log_pair, every, NULL, NULL, &sp_link_env_malloc);
	estimate = sp_estimate_pairs(&s, &r, &r, true, &sp_link_env_malloc);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
		{
			int			rules = 0;

			for (int k = 0; k < s.nrules; k++)
			{
				uint64_t	ki = r.keys[i * s.nrules + k],
							kj = r.keys[j * s.nrules + k];

				rules += ki != 0 && ki == kj;
			}
			want_once += rules > 0;
			want_every += rules;
			f->inputs++;
			if (once->times[i][j] + once->times[j][i] != (rules > 0))
				fail(f, "a pair not produced exactly once%s", "");
			if (every->times[i][j] + every->times[j][i] != rules)
				fail(f, "a pair not produced once per rule%s", "");
		}
	if (once->produced != want_once || every->produced != want_every || estimate != want_every)
		fail(f, "pair counts or the estimate are off%s", "");
	free(once);
	free(every);
	fx_free(&r);
}

/* ------------------------------------------------------------------------
 * Term frequencies, EM, union-find
 * ------------------------------------------------------------------------ */

static void
fuzz_tf(Family *f)
{
	int			n = below(200);
	int			range = 1 + below(50);
	sp_term_freq *terms = malloc(sizeof(sp_term_freq) * (size_t) (n ? n : 1));
	int			truth[64] = {0};
	sp_tf_table tf;
	int64_t		sum = 0;

	for (int k = 0; k < n; k++)
	{
		int			v = below(range);

		truth[v]++;
		terms[k] = (sp_term_freq) {0x9E3779B97F4A7C15ULL * (uint64_t) (v + 1), 7};
	}
	sp_tf_count(&tf, terms, n);
	f->inputs++;
	if (tf.n != n || tf.distinct > n)
		fail(f, "counts out of range%s", "");
	for (int64_t k = 0; k < tf.distinct; k++)
	{
		sum += tf.terms[k].count;
		if (k > 0 && tf.terms[k - 1].hash >= tf.terms[k].hash)
			fail(f, "terms not sorted and distinct%s", "");
	}
	if (sum != n)
		fail(f, "counts do not sum to n%s", "");
	for (int v = 0; v < 64; v++)
	{
		double		share = sp_tf_share(&tf, 0x9E3779B97F4A7C15ULL * (uint64_t) (v + 1));
		double		want = n == 0 ? 1.0 : (double) (truth[v] ? truth[v] : 1) / n;

		if (share != want || share <= 0 || share > 1)
			fail(f, "a share is not its count over n (or 1/n when unseen)%s", "");
	}
	free(terms);
}

static void
fuzz_em(Family *f)
{
	sp_fs_model *model = calloc(1, sizeof(sp_fs_model));
	sp_pattern_table t;
	int			width = 1 + below(5);
	int			npatterns = 1 + below(60);
	sp_em_result er;
	int			max_iterations = 1 + below(60);

	model->ncomparisons = width;
	model->prior = unit();
	for (int c = 0; c < width; c++)
	{
		sp_fs_comparison *fc = &model->comparisons[c];
		double		usum = 0,
					msum = 0;

		fc->nlevels = 2 + below(SP_FS_MAX_LEVELS - 1);
		fc->m_fixed = below(5) == 0;
		for (int l = 0; l < fc->nlevels; l++)
		{
			fc->u[l] = unit() + 1e-9;
			fc->m[l] = unit() + 1e-9;
			usum += fc->u[l];
			msum += fc->m[l];
		}
		for (int l = 0; l < fc->nlevels; l++)
		{
			fc->u[l] /= usum;
			fc->m[l] /= msum;
		}
	}
	if (sp_pattern_table_init(&t, width) != 0)
	{
		fail(f, "pattern table%s", "");
		free(model);
		return;
	}
	for (int p = 0; p < npatterns; p++)
	{
		sp_gamma	g[SP_FS_MAX_COMPARISONS];

		for (int c = 0; c < width; c++)
			g[c] = (sp_gamma) (below(6) == 0 ? -1 : below(model->comparisons[c].nlevels));
		sp_pattern_table_add(&t, g, 1 + below(1000));
	}
	f->inputs++;
	er = sp_fs_em(model, &t, max_iterations, 1e-6);
	if (er.iterations > max_iterations || !(er.prior >= 1e-6 && er.prior <= 1 - 1e-6) || isnan(er.max_change))
		fail(f, "EM result out of range%s", "");
	for (int c = 0; c < width; c++)
	{
		sp_fs_comparison *fc = &model->comparisons[c];
		double		caps[SP_FS_MAX_LEVELS];
		double		sum = 0;

		for (int l = 0; l < fc->nlevels; l++)
		{
			if (!(fc->m[l] >= 1e-6 && fc->m[l] <= 1 - 1e-6) && !fc->m_fixed)
				fail(f, "m outside [1e-6, 1 - 1e-6]%s", "");
			sum += fc->m[l];
		}
		if (fabs(sum - 1) > 1e-4)
			fail(f, "m does not sum to 1 after EM%s", "");
		/* guard rails: the first level is never capped, as in every spec */
		caps[0] = 1;
		for (int l = 1; l < fc->nlevels; l++)
			caps[l] = below(3) ? 1 : 0.001 + unit();
		sp_fs_cap_m(fc, caps);
		sum = 0;
		for (int l = 0; l < fc->nlevels; l++)
		{
			sum += fc->m[l];
			if (fc->m[l] > caps[l] + 1e-12 || fc->m[l] < 0)
				fail(f, "m above its cap%s", "");
		}
		if (fabs(sum - 1) > 1e-9)
			fail(f, "m does not sum to 1 after sp_fs_cap_m%s", "");
	}
	er = sp_fs_em_share(model, &t, max_iterations, 1e-7);
	if (!(er.prior >= 1e-6 && er.prior <= 1 - 1e-6))
		fail(f, "share of matches out of range%s", "");
	{
		sp_gamma	g[SP_FS_MAX_COMPARISONS];
		double		w;

		for (int c = 0; c < width; c++)
			g[c] = (sp_gamma) (below(model->comparisons[c].nlevels + 1) - 1);
		w = sp_fs_match_weight(model, g);
		if (!isfinite(w) || !(sp_fs_probability(w) >= 0 && sp_fs_probability(w) <= 1))
			fail(f, "a weight or probability out of range%s", "");
	}
	sp_pattern_table_free(&t);
	free(model);
}

static void
fuzz_union_find(Family *f)
{
	int			n = 1 + below(64);
	int			label[64];
	sp_union_find uf;
	int			unions = below(2 * n);

	if (sp_uf_init(&uf, (size_t) n) != 0)
	{
		fail(f, "union-find%s", "");
		return;
	}
	for (int i = 0; i < n; i++)
		label[i] = i;
	for (int u = 0; u < unions; u++)
	{
		int			a = below(n),
					b = below(n),
					la = label[a],
					lb = label[b];

		sp_uf_union(&uf, (uint32_t) a, (uint32_t) b);
		for (int i = 0; i < n; i++)
			if (label[i] == lb)
				label[i] = la;
	}
	f->inputs++;
	for (int i = 0; i < n; i++)
	{
		uint32_t	root = sp_uf_find(&uf, (uint32_t) i);

		if (root >= (uint32_t) n || sp_uf_find(&uf, root) != root)
			fail(f, "a root out of range, or not its own root%s", "");
		for (int j = 0; j < n; j++)
			if ((sp_uf_find(&uf, (uint32_t) i) == sp_uf_find(&uf, (uint32_t) j)) != (label[i] == label[j]))
				fail(f, "find disagrees with the components%s", "");
	}
	sp_uf_free(&uf);
}

int
main(void)
{
	const char *env = getenv("SP_FUZZ_ITERATIONS");
	long		iterations = env ? atol(env) : 200000;
	Family		fam[10] = {
		{.what = "sp_parse_linkage_date"},
		{.what = "sp_compare_dates"},
		{.what = "sp_name_key"},
		{.what = "sp_compare_records, sp_evidence_weight"},
		{.what = "sp_refine_block"},
		{.what = "sp_block_keys, sp_for_each_candidate, sp_estimate_pairs"},
		{.what = "term frequencies (sp_tf_count, sp_tf_share)"},
		{.what = "sp_fs_em, sp_fs_cap_m, sp_fs_em_share"},
		{.what = "union-find"},
		{.what = NULL}
	};

	printf("# %ld iterations, seed %llu\n", iterations, (unsigned long long) rng);
	for (long it = 0; it < iterations; it++)
		switch (it % 16)
		{
			case 0:
			case 1:
			case 2:
				fuzz_date(&fam[0]);
				break;
			case 3:
			case 4:
				fuzz_compare_dates(&fam[1]);
				break;
			case 5:
			case 6:
				fuzz_name_key(&fam[2]);
				break;
			case 7:
				fuzz_compare_records(&fam[3]);
				break;
			case 8:
			case 9:
				fuzz_refine(&fam[4]);
				break;
			case 10:
				fuzz_candidates(&fam[5]);
				break;
			case 11:
			case 12:
				fuzz_tf(&fam[6]);
				break;
			case 13:
			case 14:
				fuzz_em(&fam[7]);
				break;
			default:
				fuzz_union_find(&fam[8]);
				break;
		}
	for (int k = 0; fam[k].what; k++)
		report(&fam[k]);
	return done_testing();
}
