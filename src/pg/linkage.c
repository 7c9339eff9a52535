/*
 * linkage.c - Fellegi-Sunter record linkage inside PostgreSQL.
 *
 * A model is data (sp.linkage_model): a spec naming comparisons and
 * blocking rules, and params holding m/u per level and the prior.  This file
 * parses specs, loads the records of a relation with one SPI query, blocks
 * them in memory (one sort per blocking rule, a pair produced by an earlier
 * rule is never scored twice), scores candidate pairs with the comparators
 * of src/core, trains models (u from random pairs, m and the prior by EM
 * over blocked pairs), and explains single pairs.
 *
 * Memory is bounded by sp_registry.linkage_memory_mb; long loops check for
 * interrupts and report progress every few seconds.
 */
#include "postgres.h"

#include <math.h>
#include <stdlib.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/regproc.h"

#include "sp_compare.h"
#include "sp_linkage.h"
#include "sp_name.h"
#include "sp_registry.h"
#include "sp_text.h"

PG_FUNCTION_INFO_V1(sp_validate_linkage_spec);
PG_FUNCTION_INFO_V1(sp_train_linkage_model);
PG_FUNCTION_INFO_V1(sp_match_pairs);
PG_FUNCTION_INFO_V1(sp_explain_match);

/* ------------------------------------------------------------------------
 * Spec
 * ------------------------------------------------------------------------ */

typedef enum
{
	M_EXACT,
	M_JARO_WINKLER,
	M_LEVENSHTEIN,
	M_DAMERAU,
	M_DATE
} Method;

typedef enum
{
	NORM_NONE,
	NORM_NAME,					/* sp_normalize_name */
	NORM_ID,					/* letters and digits, upper case */
	NORM_DIGITS					/* digits only, last 9 kept (phones) */
} Normalize;

typedef enum
{
	KEY_VALUE,					/* the prepared value itself */
	KEY_NAME_KEY,				/* sp_name_key of the normalised name */
	KEY_YEAR,					/* year of a date */
	KEY_FIRST,					/* first n characters of the normalised value */
	KEY_NAME_KEYS,				/* name keys of two columns, in either order (swapped names) */
	KEY_SORTED					/* the value's characters sorted: meets transposed digits of an ID */
} KeyFn;

#define MAX_COLUMNS 32
#define MAX_RULES 16
#define MAX_PARTS 4

typedef struct Comparison
{
	char	   *name;
	int			column;			/* index into Spec.columns */
	Method		method;
	Normalize	normalize;
	int			nthresholds;
	double		thresholds[SP_FS_MAX_LEVELS - 2];
	int			swap_with;		/* comparison index, or -1 */
	int			nlevels;
	bool		present;		/* its column exists in the input */
	bool		tf_adjust;		/* exact agreement weighted by how common the value is */
	bool		phonetic;		/* a level "same phonetic key" before the lowest (names) */
	int			ndepends;		/* comparisons this one is not independent of (sex on given name) */
	int			depends_on[4];
	double		m_max[SP_FS_MAX_LEVELS];	/* training caps m of a level ("different") at this */
	double		m_max_effective[SP_FS_MAX_LEVELS];	/* the caps of the last training, labels considered */
	bool		m_max_used_labels;
	int			nu_within;		/* u among pairs that agree on these columns (locality) */
	int			u_within[2];
} Comparison;

typedef struct BlockPart
{
	KeyFn		fn;
	int			column;
	int			column2;		/* KEY_NAME_KEYS only */
	int			n;
} BlockPart;

#define MAX_REFINE 3

typedef struct BlockRule
{
	int			nparts;
	BlockPart	parts[MAX_PARTS];
	bool		present;
	char	   *text;
	int64		max_block;		/* 0: no limit; larger blocks are split by refine, then left out (reported) */
	int			nrefine;
	BlockPart	refine[MAX_REFINE];
} BlockRule;

/*
 * Evidence that does not fit independent comparisons: facts about a pair
 * that say "different people" however well the rest agrees.  Each has a
 * fixed weight (log2 Bayes factor), shown by sp.explain_match.
 */
typedef enum
{
	EV_SAME_GROUP,				/* same value of a column: registered together in one household */
	EV_TWINS,					/* same birth date and family name, different given names */
	EV_SWAPPED					/* names agree only crosswise (given against family) */
} EvidenceKind;

#define MAX_EVIDENCE 8

typedef struct Evidence
{
	char	   *name;
	EvidenceKind kind;
	int			column;			/* EV_SAME_GROUP */
	int			date;			/* EV_TWINS: comparison indexes */
	int			family;
	int			given;
	double		weight;
	bool		present;
} Evidence;

typedef struct Column
{
	char	   *name;
	Normalize	normalize;		/* how values are prepared (set by the comparisons using it) */
	bool		is_date;
	bool		present;
	int			attno;			/* in the SPI result, 1-based; 0 when absent */
} Column;

typedef struct Spec
{
	int			ncomparisons;
	Comparison	comparisons[SP_FS_MAX_COMPARISONS];
	int			nrules;
	BlockRule	rules[MAX_RULES];
	int			ncolumns;
	Column		columns[MAX_COLUMNS];
	int			nevidence;
	Evidence	evidence[MAX_EVIDENCE];
	int			anchor;			/* comparison whose exact agreement anchors m in training, or -1 */
	int			nanchor_m_from;	/* comparisons whose joint exact agreement anchors the anchor's own m */
	int			anchor_m_from[4];
} Spec;

static void
spec_error(const char *field, const char *fmt, const char *arg)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid linkage spec at \"%s\"", field),
			 errdetail(fmt, arg ? arg : "")));
}

static char *
json_string(JsonbValue *v)
{
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * A JSON number as a double: +-Infinity beyond the range of double (never
 * an error), NaN when v is not a number at all.
 */
static double
json_double(const JsonbValue *v)
{
	if (v->type != jbvNumeric)
		return get_float8_nan();
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, NumericGetDatum(v->val.numeric)));
}

static int
column_index(Spec *spec, const char *name, const char *field)
{
	if (strlen(name) == 0 || strlen(name) > NAMEDATALEN - 1)
		spec_error(field, "Column names have 1 to 63 characters.", NULL);
	for (int i = 0; i < spec->ncolumns; i++)
		if (strcmp(spec->columns[i].name, name) == 0)
			return i;
	if (spec->ncolumns >= MAX_COLUMNS)
		spec_error(field, "A spec may use at most 32 columns.", NULL);
	spec->columns[spec->ncolumns].name = pstrdup(name);
	spec->columns[spec->ncolumns].normalize = NORM_NONE;
	return spec->ncolumns++;
}

static Method
parse_method(const char *s, const char *field)
{
	if (strcmp(s, "exact") == 0)
		return M_EXACT;
	if (strcmp(s, "jaro_winkler") == 0)
		return M_JARO_WINKLER;
	if (strcmp(s, "levenshtein") == 0)
		return M_LEVENSHTEIN;
	if (strcmp(s, "damerau_levenshtein") == 0)
		return M_DAMERAU;
	if (strcmp(s, "date") == 0)
		return M_DATE;
	spec_error(field, "Unknown method \"%s\"; use exact, jaro_winkler, levenshtein, damerau_levenshtein or date.", s);
	return M_EXACT;
}

static Normalize
parse_normalize(const char *s, const char *field)
{
	if (strcmp(s, "none") == 0)
		return NORM_NONE;
	if (strcmp(s, "name") == 0)
		return NORM_NAME;
	if (strcmp(s, "id") == 0)
		return NORM_ID;
	if (strcmp(s, "digits") == 0)
		return NORM_DIGITS;
	spec_error(field, "Unknown normalisation \"%s\"; use none, name, id or digits.", s);
	return NORM_NONE;
}

static char *
trim_spaces(char *s)
{
	while (*s == ' ')
		s++;
	while (strlen(s) > 0 && s[strlen(s) - 1] == ' ')
		s[strlen(s) - 1] = '\0';
	return s;
}

/* "col", "name_key(col)", "year(col)", "first(col, 3)", "name_keys(col1, col2)" */
static void
parse_block_part(Spec *spec, const char *text, BlockPart *part, const char *field)
{
	const char *open = strchr(text, '(');
	char	   *col;

	part->n = 0;
	if (!open)
	{
		part->fn = KEY_VALUE;
		part->column = column_index(spec, text, field);
		return;
	}
	if (text[strlen(text) - 1] != ')')
		spec_error(field, "Blocking key \"%s\" must look like col, name_key(col), name_keys(col1, col2), year(col), first(col, n) or sorted(col).", text);
	if (strncmp(text, "name_keys(", 10) == 0)
		part->fn = KEY_NAME_KEYS;
	else if (strncmp(text, "sorted(", 7) == 0)
		part->fn = KEY_SORTED;
	else if (strncmp(text, "name_key(", 9) == 0)
		part->fn = KEY_NAME_KEY;
	else if (strncmp(text, "year(", 5) == 0)
		part->fn = KEY_YEAR;
	else if (strncmp(text, "first(", 6) == 0)
		part->fn = KEY_FIRST;
	else
		spec_error(field, "Unknown blocking function in \"%s\"; use name_key, name_keys, year, first or sorted.", text);
	col = pnstrdup(open + 1, strlen(open + 1) - 1);
	if (part->fn == KEY_NAME_KEYS)
	{
		char	   *comma = strchr(col, ',');

		if (!comma)
			spec_error(field, "name_keys() takes two columns: \"%s\".", text);
		*comma = '\0';
		part->column = column_index(spec, trim_spaces(col), field);
		part->column2 = column_index(spec, trim_spaces(comma + 1), field);
		return;
	}
	if (part->fn == KEY_FIRST)
	{
		char	   *comma = strchr(col, ',');

		if (!comma)
			spec_error(field, "first() takes a column and a length: \"%s\".", text);
		*comma = '\0';
		part->n = atoi(comma + 1);
		if (part->n < 1 || part->n > 100)
			spec_error(field, "first() length must be between 1 and 100: \"%s\".", text);
	}
	part->column = column_index(spec, trim_spaces(col), field);
}

static int
comparison_named(const Spec *spec, const char *name, const char *field)
{
	for (int c = 0; c < spec->ncomparisons; c++)
		if (strcmp(spec->comparisons[c].name, name) == 0)
			return c;
	spec_error(field, "No comparison is named \"%s\".", name);
	return -1;
}

static void
parse_evidence(Spec *spec, JsonbValue *e, int i)
{
	Evidence   *ev = &spec->evidence[i];
	char	   *field = psprintf("evidence[%d]", i);
	JsonbValue	v;
	char	   *kind;

	if (e->type != jbvBinary || !JsonContainerIsObject(e->val.binary.data))
		spec_error(field, "Each evidence rule is an object with \"name\", \"kind\" and \"weight\".", NULL);
	if (!getKeyJsonValueFromContainer(e->val.binary.data, "name", 4, &v) || v.type != jbvString ||
		v.val.string.len == 0 || v.val.string.len > 63)
		spec_error(psprintf("%s.name", field), "An evidence rule needs a \"name\" of 1 to 63 characters.", NULL);
	ev->name = json_string(&v);
	for (int c = 0; c < spec->ncomparisons; c++)
		if (strcmp(spec->comparisons[c].name, ev->name) == 0)
			spec_error(psprintf("%s.name", field), "\"%s\" is already the name of a comparison.", ev->name);
	for (int k = 0; k < i; k++)
		if (strcmp(spec->evidence[k].name, ev->name) == 0)
			spec_error(psprintf("%s.name", field), "Evidence name \"%s\" is used twice.", ev->name);
	if (!getKeyJsonValueFromContainer(e->val.binary.data, "weight", 6, &v) || v.type != jbvNumeric ||
		!isfinite(json_double(&v)) || json_double(&v) < -100 || json_double(&v) > 0)
		spec_error(psprintf("%s.weight", field), "\"weight\" is a number of bits between -100 and 0 (evidence against a match).", NULL);
	ev->weight = json_double(&v);
	if (!getKeyJsonValueFromContainer(e->val.binary.data, "kind", 4, &v) || v.type != jbvString)
		spec_error(psprintf("%s.kind", field), "\"kind\" is same_group, twins or swapped_names.", NULL);
	kind = json_string(&v);
	if (strcmp(kind, "same_group") == 0)
	{
		ev->kind = EV_SAME_GROUP;
		if (!getKeyJsonValueFromContainer(e->val.binary.data, "column", 6, &v) || v.type != jbvString)
			spec_error(psprintf("%s.column", field), "same_group needs the \"column\" that identifies the group.", NULL);
		ev->column = column_index(spec, json_string(&v), psprintf("%s.column", field));
	}
	else if (strcmp(kind, "twins") == 0)
	{
		const char *keys[3] = {"date", "family", "given"};
		int		   *dst[3] = {&ev->date, &ev->family, &ev->given};

		ev->kind = EV_TWINS;
		for (int k = 0; k < 3; k++)
		{
			if (!getKeyJsonValueFromContainer(e->val.binary.data, keys[k], strlen(keys[k]), &v) || v.type != jbvString)
				spec_error(psprintf("%s.%s", field, keys[k]), "twins needs \"date\", \"family\" and \"given\": comparison names.", NULL);
			*dst[k] = comparison_named(spec, json_string(&v), psprintf("%s.%s", field, keys[k]));
		}
		if (spec->comparisons[ev->date].method != M_DATE)
			spec_error(psprintf("%s.date", field), "\"%s\" is not a date comparison.", spec->comparisons[ev->date].name);
		for (int k = 1; k < 3; k++)
			if (spec->comparisons[*dst[k]].method == M_DATE || spec->comparisons[*dst[k]].method == M_EXACT)
				spec_error(psprintf("%s.%s", field, keys[k]), "\"%s\" must be a name comparison with similarity levels.",
						   spec->comparisons[*dst[k]].name);
	}
	else if (strcmp(kind, "swapped_names") == 0)
		ev->kind = EV_SWAPPED;
	else
		spec_error(psprintf("%s.kind", field), "Unknown kind \"%s\"; use same_group, twins or swapped_names.", kind);
}

/* {"keys": [...], "max_block": n, "refine": [...]}: returns the keys array */
static JsonbValue *
parse_rule_object(Spec *spec, JsonbValue *r, BlockRule *rule, int i)
{
	JsonbValue *keys = palloc(sizeof(JsonbValue));
	JsonbValue	v;

	if (!getKeyJsonValueFromContainer(r->val.binary.data, "keys", 4, keys))
		spec_error(psprintf("blocking[%d].keys", i), "A blocking rule object needs \"keys\".", NULL);
	if (getKeyJsonValueFromContainer(r->val.binary.data, "max_block", 9, &v))
	{
		double		x = json_double(&v);

		if (!(x >= 2 && x <= 1e9) || x != floor(x))
			spec_error(psprintf("blocking[%d].max_block", i), "\"max_block\" is a whole number of records from 2.", NULL);
		rule->max_block = (int64) x;
	}
	if (getKeyJsonValueFromContainer(r->val.binary.data, "refine", 6, &v))
	{
		int			n;

		if (rule->max_block == 0)
			spec_error(psprintf("blocking[%d].refine", i), "\"refine\" splits blocks larger than \"max_block\", which is missing.", NULL);
		if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data))
			spec_error(psprintf("blocking[%d].refine", i), "\"refine\" is an array of keys.", NULL);
		n = (int) JsonContainerSize(v.val.binary.data);
		if (n < 1 || n > MAX_REFINE)
			spec_error(psprintf("blocking[%d].refine", i), "\"refine\" has 1 to 3 keys.", NULL);
		for (int k = 0; k < n; k++)
		{
			JsonbValue *p = getIthJsonbValueFromContainer(v.val.binary.data, k);
			char	   *f = psprintf("blocking[%d].refine[%d]", i, k);

			if (p->type != jbvString)
				spec_error(f, "Blocking keys are strings.", NULL);
			parse_block_part(spec, json_string(p), &rule->refine[k], f);
		}
		rule->nrefine = n;
	}
	return keys;
}

static void
parse_spec(Jsonb *jb, Spec *spec)
{
	JsonbValue	v,
				arr;
	int			n;

	memset(spec, 0, sizeof(*spec));
	if (!JB_ROOT_IS_OBJECT(jb))
		spec_error("$", "The spec must be a JSON object with \"comparisons\" and \"blocking\".", NULL);

	if (!getKeyJsonValueFromContainer(&jb->root, "comparisons", 11, &arr) ||
		arr.type != jbvBinary || !JsonContainerIsArray(arr.val.binary.data))
		spec_error("comparisons", "\"comparisons\" must be an array.", NULL);
	n = (int) JsonContainerSize(arr.val.binary.data);
	if (n < 1 || n > SP_FS_MAX_COMPARISONS)
		spec_error("comparisons", "Between 1 and 32 comparisons are needed.", NULL);

	for (int i = 0; i < n; i++)
	{
		JsonbValue *c = getIthJsonbValueFromContainer(arr.val.binary.data, i);
		Comparison *cmp = &spec->comparisons[i];
		char	   *field = psprintf("comparisons[%d]", i);
		Normalize	norm;

		if (c->type != jbvBinary || !JsonContainerIsObject(c->val.binary.data))
			spec_error(field, "Each comparison is an object.", NULL);
		if (!getKeyJsonValueFromContainer(c->val.binary.data, "name", 4, &v) || v.type != jbvString)
			spec_error(psprintf("%s.name", field), "A comparison needs a \"name\".", NULL);
		cmp->name = json_string(&v);
		for (int k = 0; k < i; k++)
			if (strcmp(spec->comparisons[k].name, cmp->name) == 0)
				spec_error(psprintf("%s.name", field), "Comparison name \"%s\" is used twice.", cmp->name);
		if (!getKeyJsonValueFromContainer(c->val.binary.data, "column", 6, &v) || v.type != jbvString)
			spec_error(psprintf("%s.column", field), "A comparison needs a \"column\".", NULL);
		cmp->column = column_index(spec, json_string(&v), psprintf("%s.column", field));
		if (!getKeyJsonValueFromContainer(c->val.binary.data, "method", 6, &v) || v.type != jbvString)
			spec_error(psprintf("%s.method", field), "A comparison needs a \"method\".", NULL);
		cmp->method = parse_method(json_string(&v), psprintf("%s.method", field));

		norm = cmp->method == M_JARO_WINKLER ? NORM_NAME : NORM_NONE;
		if (getKeyJsonValueFromContainer(c->val.binary.data, "normalize", 9, &v))
		{
			if (v.type != jbvString)
				spec_error(psprintf("%s.normalize", field), "\"normalize\" is none, name, id or digits.", NULL);
			norm = parse_normalize(json_string(&v), psprintf("%s.normalize", field));
		}
		if (cmp->method == M_DATE)
			norm = NORM_NONE;
		{
			Column	   *col = &spec->columns[cmp->column];

			if (col->normalize != NORM_NONE && norm != NORM_NONE && col->normalize != norm)
				spec_error(psprintf("%s.normalize", field), "Column \"%s\" is normalised in two different ways.", col->name);
			if (norm != NORM_NONE)
				col->normalize = norm;
			if (cmp->method == M_DATE)
				col->is_date = true;
		}
		cmp->normalize = norm;

		cmp->nthresholds = 0;
		if (getKeyJsonValueFromContainer(c->val.binary.data, "thresholds", 10, &v))
		{
			int			nt;

			if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data))
				spec_error(psprintf("%s.thresholds", field), "\"thresholds\" must be an array of numbers.", NULL);
			nt = (int) JsonContainerSize(v.val.binary.data);
			if (nt > SP_FS_MAX_LEVELS - 2)
				spec_error(psprintf("%s.thresholds", field), "At most 6 thresholds.", NULL);
			for (int k = 0; k < nt; k++)
			{
				JsonbValue *t = getIthJsonbValueFromContainer(v.val.binary.data, k);
				double		x;

				if (t->type != jbvNumeric)
					spec_error(psprintf("%s.thresholds[%d]", field, k), "Thresholds are numbers.", NULL);
				x = json_double(t);
				if (!isfinite(x))
					spec_error(psprintf("%s.thresholds[%d]", field, k), "Thresholds are finite numbers.", NULL);
				if (cmp->method == M_JARO_WINKLER && (x <= 0 || x >= 1 || (k > 0 && x >= cmp->thresholds[k - 1])))
					spec_error(psprintf("%s.thresholds[%d]", field, k),
							   "Jaro-Winkler thresholds are decreasing similarities between 0 and 1.", NULL);
				if ((cmp->method == M_LEVENSHTEIN || cmp->method == M_DAMERAU) &&
					(x < 1 || x != floor(x) || (k > 0 && x <= cmp->thresholds[k - 1])))
					spec_error(psprintf("%s.thresholds[%d]", field, k),
							   "Edit-distance thresholds are increasing whole numbers from 1.", NULL);
				cmp->thresholds[cmp->nthresholds++] = x;
			}
		}
		cmp->phonetic = false;
		if (getKeyJsonValueFromContainer(c->val.binary.data, "phonetic", 8, &v))
		{
			if (v.type != jbvBool)
				spec_error(psprintf("%s.phonetic", field), "\"phonetic\" is true or false.", NULL);
			cmp->phonetic = v.val.boolean;
			if (cmp->phonetic && (cmp->method != M_JARO_WINKLER || norm != NORM_NAME))
				spec_error(psprintf("%s.phonetic", field), "The phonetic level is for jaro_winkler comparisons of names (normalize \"name\").", NULL);
		}
		if ((cmp->method == M_EXACT || cmp->method == M_DATE) && cmp->nthresholds > 0)
			spec_error(psprintf("%s.thresholds", field), "Methods exact and date take no thresholds.", NULL);
		if ((cmp->method == M_JARO_WINKLER || cmp->method == M_LEVENSHTEIN || cmp->method == M_DAMERAU) &&
			cmp->nthresholds == 0)
			spec_error(psprintf("%s.thresholds", field), "Methods jaro_winkler, levenshtein and damerau_levenshtein need thresholds.", NULL);
		cmp->nlevels = cmp->method == M_DATE ? SP_DATE_NLEVELS :
			cmp->method == M_EXACT ? 2 : cmp->nthresholds + 2 + (cmp->phonetic ? 1 : 0);
		cmp->swap_with = -1;
		cmp->tf_adjust = false;
		if (getKeyJsonValueFromContainer(c->val.binary.data, "tf_adjust", 9, &v))
		{
			if (v.type != jbvBool)
				spec_error(psprintf("%s.tf_adjust", field), "\"tf_adjust\" is true or false.", NULL);
			cmp->tf_adjust = v.val.boolean;
			if (cmp->tf_adjust && cmp->method == M_DATE)
				spec_error(psprintf("%s.tf_adjust", field), "Term frequency adjustment applies to text comparisons, not dates.", NULL);
		}

		/*
		 * Guard rails: levels that mean "different" cannot be common among
		 * matches, whatever unsupervised training makes of households.
		 */
		for (int l = 0; l < SP_FS_MAX_LEVELS; l++)
			cmp->m_max[l] = 1.0;
		if (cmp->method == M_DATE)
		{
			cmp->m_max[SP_DATE_LEVEL_ELSE] = 0.05;
			cmp->m_max[SP_DATE_LEVEL_FAR] = 0.002;
		}
		else if (cmp->method != M_EXACT)
			cmp->m_max[cmp->nlevels - 1] = 0.1;
		if (getKeyJsonValueFromContainer(c->val.binary.data, "m_max", 5, &v))
		{
			if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data) ||
				(int) JsonContainerSize(v.val.binary.data) != cmp->nlevels)
				spec_error(psprintf("%s.m_max", field), "\"m_max\" is an array of one number (or null) per level: %s.",
						   psprintf("%d levels", cmp->nlevels));
			for (int l = 0; l < cmp->nlevels; l++)
			{
				JsonbValue *t = getIthJsonbValueFromContainer(v.val.binary.data, l);
				double		x;

				if (t->type == jbvNull)
				{
					cmp->m_max[l] = 1.0;
					continue;
				}
				x = json_double(t);
				if (!(x > 0 && x <= 1))
					spec_error(psprintf("%s.m_max[%d]", field, l), "Caps are probabilities above 0 and at most 1.", NULL);
				cmp->m_max[l] = x;
			}
		}

		cmp->nu_within = 0;
		if (getKeyJsonValueFromContainer(c->val.binary.data, "u_within", 8, &v))
		{
			if (v.type == jbvString)
				cmp->u_within[cmp->nu_within++] = column_index(spec, json_string(&v), psprintf("%s.u_within", field));
			else if (v.type == jbvBinary && JsonContainerIsArray(v.val.binary.data) &&
					 JsonContainerSize(v.val.binary.data) >= 1 && JsonContainerSize(v.val.binary.data) <= 2)
			{
				for (int k = 0; k < (int) JsonContainerSize(v.val.binary.data); k++)
				{
					JsonbValue *t = getIthJsonbValueFromContainer(v.val.binary.data, k);

					if (t->type != jbvString)
						spec_error(psprintf("%s.u_within[%d]", field, k), "Columns are named by strings.", NULL);
					cmp->u_within[cmp->nu_within++] = column_index(spec, json_string(t), psprintf("%s.u_within[%d]", field, k));
				}
			}
			else
				spec_error(psprintf("%s.u_within", field), "\"u_within\" is a column name or an array of one or two.", NULL);
			for (int k = 0; k < cmp->nu_within; k++)
				if (cmp->u_within[k] == cmp->column)
					spec_error(psprintf("%s.u_within", field), "A comparison's u cannot be conditioned on its own column \"%s\".",
							   spec->columns[cmp->column].name);
		}
	}
	spec->ncomparisons = n;

	/* name swaps refer to comparisons by name */
	for (int i = 0; i < n; i++)
	{
		JsonbValue *c = getIthJsonbValueFromContainer(arr.val.binary.data, i);

		if (getKeyJsonValueFromContainer(c->val.binary.data, "swap_with", 9, &v))
		{
			char	   *other;
			int			k;

			if (v.type != jbvString)
				spec_error(psprintf("comparisons[%d].swap_with", i), "\"swap_with\" names another comparison.", NULL);
			other = json_string(&v);
			for (k = 0; k < n; k++)
				if (k != i && strcmp(spec->comparisons[k].name, other) == 0)
					break;
			if (k == n)
				spec_error(psprintf("comparisons[%d].swap_with", i), "No other comparison is named \"%s\".", other);
			if (spec->comparisons[k].method != spec->comparisons[i].method ||
				spec->comparisons[k].swap_with >= 0 || spec->comparisons[i].swap_with >= 0)
				spec_error(psprintf("comparisons[%d].swap_with", i),
						   "A swap pairs two comparisons of the same method, each at most once: \"%s\".", other);
			spec->comparisons[i].swap_with = k;
			spec->comparisons[k].swap_with = i;
		}
	}

	/* dependencies refer to comparisons by name */
	for (int i = 0; i < n; i++)
	{
		JsonbValue *c = getIthJsonbValueFromContainer(arr.val.binary.data, i);

		spec->comparisons[i].ndepends = 0;
		if (getKeyJsonValueFromContainer(c->val.binary.data, "depends_on", 10, &v))
		{
			int			nd;

			if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data))
				spec_error(psprintf("comparisons[%d].depends_on", i), "\"depends_on\" is an array of comparison names.", NULL);
			nd = (int) JsonContainerSize(v.val.binary.data);
			if (nd > 4)
				spec_error(psprintf("comparisons[%d].depends_on", i), "At most 4 dependencies.", NULL);
			for (int k = 0; k < nd; k++)
			{
				JsonbValue *d = getIthJsonbValueFromContainer(v.val.binary.data, k);
				int			t;

				if (d->type != jbvString)
					spec_error(psprintf("comparisons[%d].depends_on[%d]", i, k), "Dependencies are comparison names.", NULL);
				for (t = 0; t < n; t++)
					if (t != i && strcmp(spec->comparisons[t].name, json_string(d)) == 0)
						break;
				if (t == n)
					spec_error(psprintf("comparisons[%d].depends_on[%d]", i, k), "No other comparison is named \"%s\".", json_string(d));
				spec->comparisons[i].depends_on[spec->comparisons[i].ndepends++] = t;
			}
		}
	}

	/* evidence: facts about a pair outside the independent comparisons */
	spec->nevidence = 0;
	if (getKeyJsonValueFromContainer(&jb->root, "evidence", 8, &arr))
	{
		if (arr.type != jbvBinary || !JsonContainerIsArray(arr.val.binary.data))
			spec_error("evidence", "\"evidence\" is an array of objects.", NULL);
		n = (int) JsonContainerSize(arr.val.binary.data);
		if (n > MAX_EVIDENCE)
			spec_error("evidence", "At most 8 evidence rules.", NULL);
		for (int i = 0; i < n; i++)
			parse_evidence(spec, getIthJsonbValueFromContainer(arr.val.binary.data, i), i);
		spec->nevidence = n;
	}

	spec->anchor = -1;
	if (getKeyJsonValueFromContainer(&jb->root, "anchor", 6, &v))
	{
		if (v.type != jbvString)
			spec_error("anchor", "\"anchor\" names a comparison.", NULL);
		spec->anchor = comparison_named(spec, json_string(&v), "anchor");
		if (spec->comparisons[spec->anchor].method == M_DATE)
			spec_error("anchor", "A date cannot anchor training: many people share one (\"%s\").", spec->comparisons[spec->anchor].name);
	}

	spec->nanchor_m_from = 0;
	if (getKeyJsonValueFromContainer(&jb->root, "anchor_m_from", 13, &v))
	{
		int			na;

		if (spec->anchor < 0)
			spec_error("anchor_m_from", "\"anchor_m_from\" needs an \"anchor\".", NULL);
		if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data) ||
			(na = (int) JsonContainerSize(v.val.binary.data)) < 1 || na > 4)
			spec_error("anchor_m_from", "\"anchor_m_from\" is an array of 1 to 4 comparison names.", NULL);
		for (int k = 0; k < na; k++)
		{
			JsonbValue *t = getIthJsonbValueFromContainer(v.val.binary.data, k);
			int			c;

			if (t->type != jbvString)
				spec_error(psprintf("anchor_m_from[%d]", k), "Comparisons are named by strings.", NULL);
			c = comparison_named(spec, json_string(t), psprintf("anchor_m_from[%d]", k));
			if (c == spec->anchor)
				spec_error(psprintf("anchor_m_from[%d]", k), "The anchor cannot anchor itself.", NULL);
			spec->anchor_m_from[spec->nanchor_m_from++] = c;
		}
	}

	if (getKeyJsonValueFromContainer(&jb->root, "blocking", 8, &arr))
	{
		if (arr.type != jbvBinary || !JsonContainerIsArray(arr.val.binary.data))
			spec_error("blocking", "\"blocking\" is an array of rules, each an array of keys.", NULL);
		n = (int) JsonContainerSize(arr.val.binary.data);
		if (n > MAX_RULES)
			spec_error("blocking", "At most 16 blocking rules.", NULL);
		for (int i = 0; i < n; i++)
		{
			JsonbValue *r = getIthJsonbValueFromContainer(arr.val.binary.data, i);
			BlockRule  *rule = &spec->rules[i];
			StringInfoData buf;
			int			np;

			rule->max_block = 0;
			rule->nrefine = 0;
			if (r->type == jbvBinary && JsonContainerIsObject(r->val.binary.data))
				r = parse_rule_object(spec, r, rule, i);
			if (r->type != jbvBinary || !JsonContainerIsArray(r->val.binary.data))
				spec_error(psprintf("blocking[%d]", i), "A blocking rule is an array of keys, or an object with \"keys\".", NULL);
			np = (int) JsonContainerSize(r->val.binary.data);
			if (np < 1 || np > MAX_PARTS)
				spec_error(psprintf("blocking[%d]", i), "A blocking rule has 1 to 4 keys.", NULL);
			initStringInfo(&buf);
			for (int k = 0; k < np; k++)
			{
				JsonbValue *p = getIthJsonbValueFromContainer(r->val.binary.data, k);

				if (p->type != jbvString)
					spec_error(psprintf("blocking[%d][%d]", i, k), "Blocking keys are strings.", NULL);
				parse_block_part(spec, json_string(p), &rule->parts[k], psprintf("blocking[%d][%d]", i, k));
				appendStringInfo(&buf, "%s%s", k ? " + " : "", json_string(p));
			}
			rule->nparts = np;
			if (rule->max_block > 0)
				appendStringInfo(&buf, " (blocks over %lld split by %s)", (long long) rule->max_block,
								 rule->nrefine > 0 ? "refine keys" : "nothing: left out");
			rule->text = buf.data;
		}
		spec->nrules = n;
	}
	if (spec->nrules == 0)
		spec_error("blocking", "At least one blocking rule is needed: comparing every pair does not scale.", NULL);
}

/* ------------------------------------------------------------------------
 * Records
 * ------------------------------------------------------------------------ */

/*
 * Values are kept and compared on at most their first VALUE_MAX_CHARS
 * characters: the comparators decode no more, and exact agreement, term
 * frequencies and blocking keys must look at the same bytes they do.  The
 * cut is at a character boundary and the stored length is always the
 * length of the stored bytes (docs/linkage.md, "Limits").
 */
#define VALUE_MAX_CHARS SP_COMPARE_MAX_CHARS
#define VALUE_MAX_BYTES (VALUE_MAX_CHARS * 4)

/* A prepared value: a span of the arena, or a date. */
typedef struct Value
{
	uint32		offset;
	uint16		len;
	bool		isnull;
	sp_ymd		date;
	uint32		key_offset;		/* names: the phonetic key of the whole name, spaces left out */
	uint16		key_len;
} Value;

StaticAssertDecl(VALUE_MAX_BYTES <= PG_UINT16_MAX, "a stored value's length must fit Value.len");

typedef struct Records
{
	int64		n;
	int64	   *ids;
	Value	   *values;			/* n * ncolumns */
	char	   *arena;
	size_t		arena_used;
	size_t		arena_size;
	uint64	   *keys;			/* n * nrules, 0 = missing */
	uint8	   *refine_level;	/* n * nrules: refine keys in the key (NULL: none anywhere) */
	/* while loading: where values come from, for messages */
	const char *which;
	Oid			relid;
	int64		current_id;
	const char *current_column;
	int64		truncated;		/* values cut to VALUE_MAX_CHARS */
	int64		truncated_id;	/* the first of them */
	const char *truncated_column;
} Records;

static int	linkage_memory_mb = 2048;
static size_t call_bytes = 0;	/* allocated by the current call; reset in load_model */

static void
check_memory(size_t bytes, const char *what)
{
	call_bytes += bytes;
	if (call_bytes > (size_t) linkage_memory_mb * 1024 * 1024)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("record linkage needs more than sp_registry.linkage_memory_mb (%d MB) for %s",
						linkage_memory_mb, what),
				 errhint("Raise sp_registry.linkage_memory_mb, or link smaller sets (e.g. one region at a time).")));
}

/* Memory given back during a call no longer counts against its limit. */
static void
release_memory(size_t bytes)
{
	call_bytes = bytes > call_bytes ? 0 : call_bytes - bytes;
}

static void *
alloc_huge(size_t bytes, const char *what)
{
	check_memory(bytes, what);
	return MemoryContextAllocExtended(CurrentMemoryContext, Max(bytes, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

/*
 * Room for len more bytes in the arena.  Called before work that holds
 * malloc'd memory (name normalisation), so that the copy after it cannot
 * raise and leak it.
 */
static void
arena_reserve(Records *r, size_t len)
{
	if (r->arena_used > PG_UINT32_MAX - len)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("record linkage input has more than 4 GB of text")));
	if (r->arena_used + len > r->arena_size)
	{
		size_t		bigger = Max(r->arena_size * 2, r->arena_used + len + 1024 * 1024);

		check_memory(bigger - r->arena_size, "the values of the records");
		r->arena = repalloc_huge(r->arena, bigger);
		r->arena_size = bigger;
	}
}

static void
value_error(const Records *r, int sqlstate, const char *problem)
{
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("%s relation %s: column \"%s\" of the record with id %lld %s",
					r->which, get_rel_name(r->relid), r->current_column, (long long) r->current_id, problem),
			 errdetail("Record linkage reads text as UTF-8.")));
}

/*
 * Store the first VALUE_MAX_CHARS characters of s[0..len) as *out.  The
 * stored length is that of the bytes stored, cut at a character boundary:
 * hashing, comparing and decoding never read past them.
 */
static void
store_value(Records *r, const char *s, size_t len, Value *out)
{
	size_t		keep = sp_utf8_prefix(s, len, VALUE_MAX_CHARS);

	if (keep < len && r->truncated++ == 0)
	{
		r->truncated_id = r->current_id;
		r->truncated_column = r->current_column;
	}
	if (sp_utf8_length(s, keep) == (size_t) -1)
		value_error(r, ERRCODE_CHARACTER_NOT_IN_REPERTOIRE, "is not valid UTF-8");
	Assert(keep <= VALUE_MAX_BYTES);
	arena_reserve(r, keep);
	out->offset = (uint32) r->arena_used;
	out->len = (uint16) keep;
	memcpy(r->arena + r->arena_used, s, keep);
	r->arena_used += keep;
}

/* Prepare one text value as the column's normalisation says; false when it ends up empty. */
static bool
prepare_text(Records *r, const char *s, Normalize norm, Value *out)
{
	size_t		len = strlen(s);

	switch (norm)
	{
		case NORM_NAME:
			{
				char	   *n;
				size_t		nl;
				char		err[64];
				sp_name_status st;
				size_t		keep = sp_utf8_prefix(s, len, SP_NAME_MAX_CHARS);
				bool		cut = keep < len;

				if (cut && r->truncated++ == 0)
				{
					r->truncated_id = r->current_id;
					r->truncated_column = r->current_column;
				}
				if (sp_utf8_length(s, keep) == (size_t) -1)
					value_error(r, ERRCODE_CHARACTER_NOT_IN_REPERTOIRE, "is not valid UTF-8");
				/* nothing below may raise while n is held: make room first */
				arena_reserve(r, VALUE_MAX_BYTES);
				st = sp_normalize_name(s, keep, &n, &nl, err, sizeof(err));
				if (st == SP_NAME_OUT_OF_MEMORY)
					ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory normalising names")));
				if (st != SP_NAME_OK)
					ereport(ERROR,
							(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
							 errmsg("could not normalise a name: %s %s", sp_name_status_message(st), err)));
				if (nl > 0)
				{
					/* transliteration may lengthen it (Щ -> Shch): cut again */
					size_t		k = sp_utf8_prefix(n, nl, VALUE_MAX_CHARS);

					if (k < nl && !cut && r->truncated++ == 0)
					{
						r->truncated_id = r->current_id;
						r->truncated_column = r->current_column;
					}
					out->offset = (uint32) r->arena_used;
					out->len = (uint16) k;
					memcpy(r->arena + r->arena_used, n, k);
					r->arena_used += k;
				}
				free(n);
				out->key_len = 0;
				if (nl > 0)
				{
					/*
					 * The phonetic key of the whole name without its spaces
					 * ("hay le", an Ethiopic transliteration, meets "haile";
					 * "Abdi Rahman" meets "Abdirahman"), for blocking and the
					 * phonetic level of name comparisons.
					 */
					char	   *joined = palloc(out->len + 1);
					char	   *key = palloc(2 * (size_t) out->len + 2);
					size_t		jl = 0,
								kl;

					for (size_t i = 0; i < out->len; i++)
						if (r->arena[out->offset + i] != ' ')
							joined[jl++] = r->arena[out->offset + i];
					kl = sp_name_key(joined, jl, key);
					arena_reserve(r, kl);
					out->key_offset = (uint32) r->arena_used;
					out->key_len = (uint16) kl;
					memcpy(r->arena + r->arena_used, key, kl);
					r->arena_used += kl;
					pfree(joined);
					pfree(key);
				}
				return nl > 0;
			}
		case NORM_ID:
		case NORM_DIGITS:
			{
				char	   *buf = palloc(len + 1);
				size_t		n = 0;

				for (size_t i = 0; i < len; i++)
				{
					char		c = s[i];

					if (c >= 'a' && c <= 'z')
						c = (char) (c - 'a' + 'A');
					if ((c >= '0' && c <= '9') || (norm == NORM_ID && c >= 'A' && c <= 'Z'))
						buf[n++] = c;
				}
				if (n == 0)
				{
					pfree(buf);
					return false;
				}
				if (norm == NORM_DIGITS && n > 9)
				{
					/* the subscriber number: country and trunk prefixes vary */
					memmove(buf, buf + n - 9, 9);
					n = 9;
				}
				store_value(r, buf, n, out);
				pfree(buf);
				return true;
			}
		default:
			{
				/* trimmed; empty is missing */
				while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
					len--;
				while (len > 0 && (*s == ' ' || *s == '\t'))
				{
					s++;
					len--;
				}
				if (len == 0)
					return false;
				store_value(r, s, len, out);
				return true;
			}
	}
}

/*
 * Phonetic key of a prepared name value (of its whole name, spaces left out;
 * the column is normalised first when it is not a name column); NULL when
 * empty.
 */
static char *
value_name_key(const Spec *spec, const Records *r, int column, const Value *v)
{
	char	   *src;
	char	   *joined;
	char	   *key;
	size_t		jl = 0,
				kl;

	if (spec->columns[column].normalize == NORM_NAME)
		return v->key_len > 0 ? pnstrdup(r->arena + v->key_offset, v->key_len) : NULL;
	src = pnstrdup(r->arena + v->offset, v->len);
	{
		char	   *n;
		size_t		nl;
		char		err[8];

		if (sp_normalize_name(src, v->len, &n, &nl, err, sizeof(err)) != SP_NAME_OK)
			return NULL;
		pfree(src);
		src = pnstrdup(n, nl);
		free(n);
	}
	joined = palloc(strlen(src) + 1);
	for (const char *p = src; *p; p++)
		if (*p != ' ')
			joined[jl++] = *p;
	key = palloc(2 * jl + 2);
	kl = sp_name_key(joined, jl, key);
	pfree(src);
	pfree(joined);
	if (kl == 0)
	{
		pfree(key);
		return NULL;
	}
	return key;
}

static uint64
hash_bytes64(uint64 h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
	{
		h ^= (unsigned char) s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* Mix the key of one part of record i into *h; false when its value is missing. */
static bool
mix_part(const Spec *spec, const Records *r, int64 i, const BlockPart *part, int k, uint64 *h)
{
	const Value *v = &r->values[i * spec->ncolumns + part->column];

	if (v->isnull)
		return false;
	*h = hash_bytes64(*h, (const char *) &k, sizeof(k));
	switch (part->fn)
	{
		case KEY_VALUE:
			if (spec->columns[part->column].is_date)
				*h = hash_bytes64(*h, (const char *) &v->date.days, sizeof(v->date.days));
			else
				*h = hash_bytes64(*h, r->arena + v->offset, v->len);
			break;
		case KEY_SORTED:
			{
				unsigned char counts[256];
				int			n[256];

				if (spec->columns[part->column].is_date)
					return false;
				memset(n, 0, sizeof(n));
				for (size_t b = 0; b < v->len; b++)
					n[(unsigned char) r->arena[v->offset + b]]++;
				/* the byte histogram: equal for any reordering of the value */
				for (int b = 0; b < 256; b++)
					counts[b] = (unsigned char) Min(n[b], 255);
				*h = hash_bytes64(*h, (const char *) counts, sizeof(counts));
				break;
			}
		case KEY_YEAR:
			if (!spec->columns[part->column].is_date)
				return false;
			*h = hash_bytes64(*h, (const char *) &v->date.year, sizeof(v->date.year));
			break;
		case KEY_FIRST:
			{
				size_t		bytes = sp_utf8_prefix(r->arena + v->offset, v->len, (size_t) part->n);

				*h = hash_bytes64(*h, r->arena + v->offset, bytes);
				break;
			}
		case KEY_NAME_KEY:
			{
				char	   *key = value_name_key(spec, r, part->column, v);

				if (!key)
					return false;
				*h = hash_bytes64(*h, key, strlen(key));
				pfree(key);
				break;
			}
		case KEY_NAME_KEYS:
			{
				const Value *v2 = &r->values[i * spec->ncolumns + part->column2];
				char	   *k1,
						   *k2;

				if (v2->isnull)
					return false;
				k1 = value_name_key(spec, r, part->column, v);
				k2 = value_name_key(spec, r, part->column2, v2);
				if (!k1 || !k2)
					return false;
				if (strcmp(k1, k2) > 0)
				{
					char	   *t = k1;

					k1 = k2;
					k2 = t;
				}
				*h = hash_bytes64(*h, k1, strlen(k1));
				*h = hash_bytes64(*h, "|", 1);
				*h = hash_bytes64(*h, k2, strlen(k2));
				pfree(k1);
				pfree(k2);
				break;
			}
	}
	return true;
}

/* Blocking key hash of record i for a rule; 0 when a part is missing. */
static uint64
rule_key(const Spec *spec, const Records *r, int64 i, const BlockRule *rule)
{
	uint64		h = 1469598103934665603ULL;

	for (int k = 0; k < rule->nparts; k++)
		if (!mix_part(spec, r, i, &rule->parts[k], k, &h))
			return 0;
	return h == 0 ? 1 : h;
}

/*
 * Load id plus the spec's columns of a relation (only the rows whose id is in
 * only_ids, when given).  Columns the relation does
 * not have are marked absent (the comparisons and rules using them are
 * skipped); id is required.
 */
static void
load_records(Spec *spec, Oid relid, Records *r, const char *which, ArrayType *only_ids)
{
	StringInfoData sql;
	int			ret;
	int			attno = 2;
	MemoryContext outer = CurrentMemoryContext;
	bool		has_id = false;

	memset(r, 0, sizeof(*r));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* which of the spec's columns does the relation have? */
	for (int c = 0; c < spec->ncolumns; c++)
		spec->columns[c].present = false;
	{
		Oid			argtypes[1] = {OIDOID};
		Datum		args[1] = {ObjectIdGetDatum(relid)};

		ret = SPI_execute_with_args("SELECT attname::text, atttypid FROM pg_catalog.pg_attribute "
									"WHERE attrelid OPERATOR(pg_catalog.=) $1 AND attnum OPERATOR(pg_catalog.>) 0 "
									"AND NOT attisdropped",
									1, argtypes, args, NULL, true, 0);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "reading the columns of %s failed", which);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

			if (strcmp(name, "id") == 0)
				has_id = true;
			for (int c = 0; c < spec->ncolumns; c++)
				if (strcmp(spec->columns[c].name, name) == 0)
					spec->columns[c].present = true;
		}
	}
	if (!has_id)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("%s relation %s has no column \"id\"", which, get_rel_name(relid)),
				 errdetail("Linkage inputs need an id bigint column plus the columns the model compares.")));

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT id::bigint");
	for (int c = 0; c < spec->ncolumns; c++)
	{
		Column	   *col = &spec->columns[c];

		col->attno = 0;
		if (!col->present)
			continue;
		appendStringInfo(&sql, ", %s", quote_identifier(col->name));
		col->attno = attno++;
	}
	appendStringInfo(&sql, " FROM %s", DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(relid))));
	if (only_ids)
	{
		Oid			argtypes[1] = {INT8ARRAYOID};
		Datum		args[1] = {PointerGetDatum(only_ids)};

		appendStringInfoString(&sql, " WHERE id::bigint OPERATOR(pg_catalog.=) ANY ($1)"
							   " ORDER BY 1 USING OPERATOR(pg_catalog.<)");
		ret = SPI_execute_with_args(sql.data, 1, argtypes, args, NULL, true, 0);
	}
	else
	{
		/*
		 * Records are positioned by id, not by physical order: training samples
		 * pairs by position, so the same rows must give the same model after a
		 * VACUUM FULL, a restore or on a replica.
		 */
		appendStringInfoString(&sql, " ORDER BY 1 USING OPERATOR(pg_catalog.<)");
		ret = SPI_execute(sql.data, true, 0);
	}
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "reading %s failed: %s", which, SPI_result_code_string(ret));

	{
		MemoryContext spi = MemoryContextSwitchTo(outer);
		uint64		n = SPI_processed;
		TupleDesc	desc = SPI_tuptable->tupdesc;

		r->n = (int64) n;
		r->ids = alloc_huge(sizeof(int64) * n, "record ids");
		r->values = alloc_huge(sizeof(Value) * n * Max(spec->ncolumns, 1), "record values");
		r->arena_size = 1024 * 1024;
		r->arena = palloc(r->arena_size);
		r->arena_used = 0;
		r->which = which;
		r->relid = relid;
		r->truncated = 0;
		r->refine_level = NULL;

		for (uint64 i = 0; i < n; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			bool		isnull;
			Datum		d = SPI_getbinval(tup, desc, 1, &isnull);

			if ((i & 1023) == 0)
				CHECK_FOR_INTERRUPTS();
			if (isnull)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("%s relation %s has a NULL id", which, get_rel_name(relid))));
			r->ids[i] = DatumGetInt64(d);
			r->current_id = r->ids[i];
			for (int c = 0; c < spec->ncolumns; c++)
			{
				Column	   *col = &spec->columns[c];
				Value	   *v = &r->values[i * spec->ncolumns + c];
				char	   *text;

				v->isnull = true;
				if (!col->present)
					continue;
				d = SPI_getbinval(tup, desc, col->attno, &isnull);
				if (isnull)
					continue;
				r->current_column = col->name;
				if (col->is_date)
				{
					Oid			typ = SPI_gettypeid(desc, col->attno);

					if (typ == DATEOID)
					{
						DateADT		date = DatumGetDateADT(d);
						int			y,
									m,
									dd;

						if (DATE_NOT_FINITE(date))
							continue;
						j2date(date + POSTGRES_EPOCH_JDATE, &y, &m, &dd);
						/* as for dates given as text: no birth date lies outside 1..9999 */
						if (y < 1 || y > 9999)
							continue;
						v->date.year = (int16) y;
						v->date.month = (int8) m;
						v->date.day = (int8) dd;
						v->date.days = sp_days_from_civil(y, m, dd);
						v->date.precision = SP_YMD_DAY;
						v->isnull = false;
					}
					else
					{
						text = SPI_getvalue(tup, desc, col->attno);
						v->isnull = sp_parse_linkage_date(text, strlen(text), &v->date) != 0;
						pfree(text);
					}
				}
				else
				{
					text = SPI_getvalue(tup, desc, col->attno);
					v->isnull = !prepare_text(r, text, col->normalize, v);
					pfree(text);
				}
			}
		}
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	if (r->truncated > 0)
		ereport(NOTICE,
				(errmsg("%s relation %s: %lld values longer than %d characters are compared on their first %d characters",
						which, get_rel_name(relid), (long long) r->truncated, VALUE_MAX_CHARS, VALUE_MAX_CHARS),
				 errdetail("The first is column \"%s\" of the record with id %lld.",
						   r->truncated_column, (long long) r->truncated_id)));

	for (int c = 0; c < spec->ncomparisons; c++)
		spec->comparisons[c].present = spec->columns[spec->comparisons[c].column].present;
	for (int e = 0; e < spec->nevidence; e++)
	{
		Evidence   *ev = &spec->evidence[e];

		ev->present = ev->kind == EV_SAME_GROUP ? spec->columns[ev->column].present :
			ev->kind == EV_SWAPPED ? true :
			(spec->comparisons[ev->date].present && spec->comparisons[ev->family].present &&
			 spec->comparisons[ev->given].present);
	}
	for (int k = 0; k < spec->nrules; k++)
	{
		spec->rules[k].present = true;
		for (int p = 0; p < spec->rules[k].nparts; p++)
		{
			const BlockPart *part = &spec->rules[k].parts[p];

			if (!spec->columns[part->column].present ||
				(part->fn == KEY_NAME_KEYS && !spec->columns[part->column2].present))
				spec->rules[k].present = false;
		}
	}

	r->keys = alloc_huge(sizeof(uint64) * r->n * Max(spec->nrules, 1), "blocking keys");
	for (int64 i = 0; i < r->n; i++)
	{
		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int k = 0; k < spec->nrules; k++)
			r->keys[i * spec->nrules + k] = spec->rules[k].present ? rule_key(spec, r, i, &spec->rules[k]) : 0;
	}
}

/* ------------------------------------------------------------------------
 * Term frequencies: how common each value of a column is
 * ------------------------------------------------------------------------ */

typedef struct TermFreq
{
	uint64		hash;
	uint32		count;
} TermFreq;

typedef struct TfTable
{
	int64		n;				/* values counted */
	int64		distinct;
	TermFreq   *terms;			/* sorted by hash */
} TfTable;

static int
cmp_termfreq(const void *a, const void *b)
{
	const TermFreq *x = a,
			   *y = b;

	return x->hash < y->hash ? -1 : x->hash > y->hash ? 1 : 0;
}

static uint64 hash_bytes64(uint64 h, const char *s, size_t len);

static uint64
value_hash(const Records *r, const Value *v)
{
	return hash_bytes64(1469598103934665603ULL, r->arena + v->offset, v->len);
}

static void
build_tf(const Spec *spec, int column, const Records *ra, const Records *rb, bool dedup, TfTable *tf)
{
	int64		total = ra->n + (dedup ? 0 : rb->n);
	TermFreq   *all = alloc_huge(sizeof(TermFreq) * Max(total, 1), "term frequencies");
	int64		n = 0,
				d = 0;

	for (int side = 0; side < (dedup ? 1 : 2); side++)
	{
		const Records *r = side == 0 ? ra : rb;

		for (int64 i = 0; i < r->n; i++)
		{
			const Value *v = &r->values[i * spec->ncolumns + column];

			if (!v->isnull)
				all[n++] = (TermFreq) {value_hash(r, v), 1};
		}
	}
	qsort(all, n, sizeof(TermFreq), cmp_termfreq);
	for (int64 i = 0; i < n; i++)
	{
		if (d > 0 && all[d - 1].hash == all[i].hash)
			all[d - 1].count++;
		else
			all[d++] = all[i];
	}
	tf->n = n;
	tf->distinct = d;
	tf->terms = all;
}

/* Share of values equal to v, at least 1/n. */
static double
tf_share(const TfTable *tf, const Records *r, const Value *v)
{
	TermFreq	key = {value_hash(r, v), 0};
	TermFreq   *hit = bsearch(&key, tf->terms, tf->distinct, sizeof(TermFreq), cmp_termfreq);

	if (tf->n == 0)
		return 1.0;
	return (double) (hit ? hit->count : 1) / (double) tf->n;
}

/* ------------------------------------------------------------------------
 * Comparing two records
 * ------------------------------------------------------------------------ */

typedef struct CmpWork
{
	uint32_t	a[SP_COMPARE_MAX_CHARS];
	uint32_t	b[SP_COMPARE_MAX_CHARS];
	unsigned char flags[2 * SP_COMPARE_MAX_CHARS];
	int			row[SP_COMPARE_MAX_CHARS + 1];
	int		   *dl;
	size_t		dl_size;
} CmpWork;

static int
decode_value(const Records *r, const Value *v, uint32_t *out)
{
	int			n = sp_utf8_decode_all(r->arena + v->offset, v->len, out, SP_COMPARE_MAX_CHARS);

	return n < 0 ? (n == -2 ? SP_COMPARE_MAX_CHARS : 0) : n;
}

/* Level of a comparison between two present values. */
static int
level_of(const Comparison *cmp, const Records *ra, const Value *va, const Records *rb, const Value *vb,
		 CmpWork *w)
{
	if (cmp->method == M_DATE)
		return (int) sp_compare_dates(va->date, vb->date);

	if (va->len == vb->len && memcmp(ra->arena + va->offset, rb->arena + vb->offset, va->len) == 0)
		return 0;
	if (cmp->method == M_EXACT)
		return 1;
	{
		int			na = decode_value(ra, va, w->a);
		int			nb = decode_value(rb, vb, w->b);

		if (cmp->method == M_JARO_WINKLER)
		{
			double		s = sp_jaro_winkler(w->a, na, w->b, nb, 0.1, 0.7, w->flags);

			for (int k = 0; k < cmp->nthresholds; k++)
				if (s >= cmp->thresholds[k])
					return k + 1;
			if (cmp->phonetic)
				return va->key_len > 0 && va->key_len == vb->key_len &&
					memcmp(ra->arena + va->key_offset, rb->arena + vb->key_offset, va->key_len) == 0
					? cmp->nthresholds + 1 : cmp->nthresholds + 2;
			return cmp->nthresholds + 1;
		}
		else
		{
			int			d;
			int			most = (int) cmp->thresholds[cmp->nthresholds - 1];

			/* the distance is at least the difference in length */
			if (abs(na - nb) > most)
				return cmp->nthresholds + 1;
			if (cmp->method == M_LEVENSHTEIN)
				d = sp_levenshtein(w->a, na, w->b, nb, w->row);
			else
			{
				size_t		need = sp_damerau_work_size(na, nb);

				if (need > w->dl_size)
				{
					w->dl = w->dl ? repalloc_huge(w->dl, need * sizeof(int)) :
						MemoryContextAllocExtended(CurrentMemoryContext, need * sizeof(int), MCXT_ALLOC_HUGE);
					w->dl_size = need;
				}
				d = sp_damerau_levenshtein(w->a, na, w->b, nb, w->dl);
			}
			for (int k = 0; k < cmp->nthresholds; k++)
				if (d <= cmp->thresholds[k])
					return k + 1;
			return cmp->nthresholds + 1;
		}
	}
}

/* The values a comparison vector was computed from, for term frequencies. */
typedef struct PairValues
{
	const Records *ra;
	const Records *rb;
	const Value *left[SP_FS_MAX_COMPARISONS];	/* in ra */
	const Value *right[SP_FS_MAX_COMPARISONS];	/* in rb */
	bool		swapped;		/* names compared crosswise (given against family) */
} PairValues;

/*
 * Comparison vector of records i (of ra) and j (of rb).  pv (may be NULL)
 * receives the values each comparison compared.
 */
static void
compare_records(const Spec *spec, const Records *ra, int64 i, const Records *rb, int64 j,
				sp_gamma *gamma, PairValues *pv, CmpWork *w)
{
	int			nc = spec->ncolumns;
	bool		done[SP_FS_MAX_COMPARISONS] = {false};

	if (pv)
	{
		pv->ra = ra;
		pv->rb = rb;
		pv->swapped = false;
	}
	for (int c = 0; c < spec->ncomparisons; c++)
	{
		const Comparison *cmp = &spec->comparisons[c];
		const Value *va,
				   *vb;

		if (done[c])
			continue;
		gamma[c] = -1;
		if (!cmp->present)
			continue;
		va = &ra->values[i * nc + cmp->column];
		vb = &rb->values[j * nc + cmp->column];
		if (!va->isnull && !vb->isnull)
			gamma[c] = (sp_gamma) level_of(cmp, ra, va, rb, vb, w);
		if (pv)
		{
			pv->left[c] = va;
			pv->right[c] = vb;
		}

		if (cmp->swap_with > c && spec->comparisons[cmp->swap_with].present)
		{
			/* given and family names entered the other way round */
			const Comparison *other = &spec->comparisons[cmp->swap_with];
			const Value *oa = &ra->values[i * nc + other->column];
			const Value *ob = &rb->values[j * nc + other->column];
			int			straight_other = (!oa->isnull && !ob->isnull) ? level_of(other, ra, oa, rb, ob, w) : -1;

			gamma[cmp->swap_with] = (sp_gamma) straight_other;
			done[cmp->swap_with] = true;
			if (pv)
			{
				pv->left[cmp->swap_with] = oa;
				pv->right[cmp->swap_with] = ob;
			}
			if (gamma[c] != 0 && !va->isnull && !vb->isnull && !oa->isnull && !ob->isnull)
			{
				int			s1 = level_of(cmp, ra, va, rb, ob, w);
				int			s2 = level_of(other, ra, oa, rb, vb, w);

				if (s1 + s2 < gamma[c] + straight_other)
				{
					/* a's given name agrees with b's family name: the value is a's given name */
					gamma[c] = (sp_gamma) s1;
					gamma[cmp->swap_with] = (sp_gamma) s2;
					if (pv)
					{
						pv->right[c] = ob;
						pv->right[cmp->swap_with] = vb;
						pv->swapped = true;
					}
				}
			}
		}
	}
}

/* ------------------------------------------------------------------------
 * Blocking: candidate pairs, each produced once
 * ------------------------------------------------------------------------ */

typedef struct KeyedRecord
{
	uint64		key;
	int32		idx;
	int8		side;			/* 0 left, 1 right */
	uint8		level;			/* refine keys mixed into key (refine_keys) */
} KeyedRecord;

static int
cmp_keyed(const void *a, const void *b)
{
	const KeyedRecord *x = a,
			   *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->side != y->side)
		return x->side - y->side;
	return x->idx - y->idx;
}

/* rule: the blocking rule that produced the pair; first: no earlier rule produced it */
typedef void (*PairCallback) (int64 i, int64 j, int rule, bool first, void *arg);

/* Was this pair already produced by an earlier rule? */
static bool
earlier_rule_pairs(const Spec *spec, const Records *ra, int64 i, const Records *rb, int64 j, int rule)
{
	for (int k = 0; k < rule; k++)
	{
		uint64		a = ra->keys[i * spec->nrules + k];

		if (a != 0 && a == rb->keys[j * spec->nrules + k])
			return true;
	}
	return false;
}

typedef struct Progress
{
	instr_time	start;
	instr_time	last;
	double		estimate;
	double		done;
	const char *what;
} Progress;

static void
progress_tick(Progress *p)
{
	instr_time	now;

	if (((int64) p->done & 65535) != 0)
		return;
	CHECK_FOR_INTERRUPTS();
	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, p->last);
	if (INSTR_TIME_GET_DOUBLE(now) >= 5.0)
	{
		INSTR_TIME_SET_CURRENT(p->last);
		ereport(NOTICE,
				(errmsg("%s: %.0f of about %.0f candidate pairs scored", p->what, p->done, p->estimate)));
	}
}

/*
 * The records of both sides that have a key for rule k, sorted by key (and
 * side, then index): each run of equal keys is one block.
 */
static KeyedRecord *
sorted_rule_keys(const Spec *spec, const Records *ra, const Records *rb, bool dedup, int k, int64 *count)
{
	int64		nl = ra->n,
				nr = dedup ? 0 : rb->n;
	KeyedRecord *kr = alloc_huge(sizeof(KeyedRecord) * (nl + nr), "blocking");
	int64		m = 0;

	for (int64 i = 0; i < nl; i++)
		if (ra->keys[i * spec->nrules + k])
			kr[m++] = (KeyedRecord) {ra->keys[i * spec->nrules + k], (int32) i, 0, 0};
	for (int64 j = 0; j < nr; j++)
		if (rb->keys[j * spec->nrules + k])
			kr[m++] = (KeyedRecord) {rb->keys[j * spec->nrules + k], (int32) j, 1, 0};
	qsort(kr, m, sizeof(KeyedRecord), cmp_keyed);
	*count = m;
	return kr;
}

static void
free_rule_keys(KeyedRecord *kr, const Records *ra, const Records *rb, bool dedup)
{
	release_memory(sizeof(KeyedRecord) * (ra->n + (dedup ? 0 : rb->n)));
	pfree(kr);
}

/* What splitting large blocks did to one rule. */
typedef struct BlockStats
{
	int64		refined_blocks; /* blocks over max_block that were split */
	int64		dropped_blocks; /* still over max_block after every refinement: left out */
	int64		dropped_records;	/* records in those (or without a refine value) */
	double		dropped_pairs;	/* candidate pairs not produced because of that */
} BlockStats;

static double
block_pairs(const KeyedRecord *kr, int64 n, bool dedup)
{
	double		left = 0;

	for (int64 x = 0; x < n; x++)
		left += kr[x].side == 0;
	return dedup ? left * (left - 1) / 2 : left * (n - left);
}

/*
 * A block of n records (sorted by key) larger than the rule's max_block is
 * split by the rule's next refine key (say the district of a common name);
 * a block still too large after the last is left out, and counted.  Records
 * get their final key in key; two records are a candidate pair of the rule
 * exactly when their final keys are equal and not 0.
 */
static void
refine_block(const Spec *spec, const Records *ra, const Records *rb, bool dedup, const BlockRule *rule,
			 KeyedRecord *kr, int64 n, int level, BlockStats *st)
{
	int64		kept = 0;

	if (n <= rule->max_block)
		return;
	if (level == rule->nrefine)
	{
		st->dropped_blocks++;
		st->dropped_records += n;
		st->dropped_pairs += block_pairs(kr, n, dedup);
		for (int64 x = 0; x < n; x++)
			kr[x].key = 0;
		return;
	}
	st->refined_blocks++;
	for (int64 x = 0; x < n; x++)
	{
		const Records *r = kr[x].side == 0 ? ra : rb;
		uint64		h = kr[x].key;

		if (!mix_part(spec, r, kr[x].idx, &rule->refine[level], 100 + level, &h))
		{
			/* no value to split by: this record's pairs in the block are lost */
			st->dropped_records++;
			kr[x].key = 0;
			continue;
		}
		kr[x].key = h == 0 ? 1 : h;
		kr[x].level = (uint8) (level + 1);
		kept++;
	}
	qsort(kr, n, sizeof(KeyedRecord), cmp_keyed);
	{
		/* records without a refine value (key 0) sort first */
		int64		s = n - kept;
		double		before = block_pairs(kr + s, kept, dedup);
		double		full = block_pairs(kr, n, dedup);

		for (int64 e; s < n; s = e)
		{
			e = s;
			while (e < n && kr[e].key == kr[s].key)
				e++;
			refine_block(spec, ra, rb, dedup, rule, kr + s, e - s, level + 1, st);
		}
		st->dropped_pairs += full - before;
	}
}

/* Final blocking keys of every rule with a max_block; stats[k] for rule k. */
static void
refine_keys(const Spec *spec, Records *ra, Records *rb, bool dedup, BlockStats *stats)
{
	memset(stats, 0, sizeof(BlockStats) * MAX_RULES);
	for (int k = 0; k < spec->nrules; k++)
	{
		const BlockRule *rule = &spec->rules[k];
		KeyedRecord *kr;
		int64		m;

		if (!rule->present || rule->max_block == 0)
			continue;
		kr = sorted_rule_keys(spec, ra, rb, dedup, k, &m);
		for (int64 s = 0, e; s < m; s = e)
		{
			e = s;
			while (e < m && kr[e].key == kr[s].key)
				e++;
			if (e - s > rule->max_block)
			{
				CHECK_FOR_INTERRUPTS();
				refine_block(spec, ra, rb, dedup, rule, kr + s, e - s, 0, &stats[k]);
			}
		}
		for (int64 x = 0; x < m; x++)
		{
			Records    *r = kr[x].side == 0 ? ra : rb;

			r->keys[(int64) kr[x].idx * spec->nrules + k] = kr[x].key;
			if (kr[x].level > 0)
			{
				if (!r->refine_level)
					r->refine_level = alloc_huge((size_t) r->n * spec->nrules, "refined blocking keys");
				r->refine_level[(int64) kr[x].idx * spec->nrules + k] = kr[x].level;
			}
		}
		free_rule_keys(kr, ra, rb, dedup);
	}
}

/* One NOTICE per rule that left candidate pairs out: never silently. */
static void
report_dropped(const Spec *spec, const BlockStats *stats, const char *what)
{
	for (int k = 0; k < spec->nrules; k++)
		if (stats[k].dropped_records > 0)
			ereport(NOTICE,
					(errmsg("%s: blocking rule %d (%s) left out %.0f candidate pairs among %lld records",
							what, k + 1, spec->rules[k].text, stats[k].dropped_pairs,
							(long long) stats[k].dropped_records),
					 errdetail("%lld blocks stayed larger than %lld records after every refine key, or records had no value to refine by. "
							   "Other rules may still pair these records.",
							   (long long) stats[k].dropped_blocks, (long long) spec->rules[k].max_block)));
}

/* Upper bound of candidate pairs (pairs repeated by several rules counted each time). */
static double
estimate_pairs(const Spec *spec, const Records *ra, const Records *rb, bool dedup)
{
	double		total = 0;

	for (int k = 0; k < spec->nrules; k++)
	{
		KeyedRecord *kr;
		int64		m;

		if (!spec->rules[k].present)
			continue;
		kr = sorted_rule_keys(spec, ra, rb, dedup, k, &m);
		for (int64 s = 0; s < m;)
		{
			int64		e = s;
			double		left = 0,
						right = 0;

			while (e < m && kr[e].key == kr[s].key)
			{
				if (kr[e].side == 0)
					left++;
				else
					right++;
				e++;
			}
			total += dedup ? left * (left - 1) / 2 : left * right;
			s = e;
		}
		free_rule_keys(kr, ra, rb, dedup);
	}
	return total;
}

static int	linkage_max_pairs_millions = 2000;

/*
 * Call cb for every candidate pair.  With once, a pair is produced by the
 * first rule that blocks it only; without, by every such rule (training
 * estimates m rule by rule).
 */
static void
for_each_candidate(const Spec *spec, const Records *ra, const Records *rb, bool dedup, bool once,
				   PairCallback cb, void *arg, Progress *progress)
{
	for (int k = 0; k < spec->nrules; k++)
	{
		KeyedRecord *kr;
		int64		m;

		if (!spec->rules[k].present)
			continue;
		kr = sorted_rule_keys(spec, ra, rb, dedup, k, &m);
		for (int64 s = 0; s < m;)
		{
			int64		e = s;
			int64		first_right;

			while (e < m && kr[e].key == kr[s].key)
				e++;
			first_right = s;
			while (first_right < e && kr[first_right].side == 0)
				first_right++;
			if (dedup)
			{
				for (int64 x = s; x < e; x++)
					for (int64 y = x + 1; y < e; y++)
					{
						int64		i = kr[x].idx,
									j = kr[y].idx;

						bool		first = !earlier_rule_pairs(spec, ra, i, ra, j, k);

						if (once && !first)
							continue;
						cb(i, j, k, first, arg);
						progress->done++;
						progress_tick(progress);
					}
			}
			else
			{
				for (int64 x = s; x < first_right; x++)
					for (int64 y = first_right; y < e; y++)
					{
						int64		i = kr[x].idx,
									j = kr[y].idx;

						bool		first = !earlier_rule_pairs(spec, ra, i, rb, j, k);

						if (once && !first)
							continue;
						cb(i, j, k, first, arg);
						progress->done++;
						progress_tick(progress);
					}
			}
			s = e;
		}
		free_rule_keys(kr, ra, rb, dedup);
	}
}

/* ------------------------------------------------------------------------
 * Models in sp.linkage_model
 * ------------------------------------------------------------------------ */

typedef struct Model
{
	char	   *name;
	Spec		spec;
	sp_fs_model fs;
	bool		trained;
	TfTable		tf[SP_FS_MAX_COMPARISONS];	/* built for comparisons with tf_adjust */
	int64		tf_records[SP_FS_MAX_COMPARISONS];	/* records of the stored term frequencies */
	char	   *tf_source;		/* the relation they were counted in */
} Model;

static void
build_model_tf(Model *model, const Records *ra, const Records *rb, bool dedup)
{
	for (int c = 0; c < model->spec.ncomparisons; c++)
		if (model->spec.comparisons[c].tf_adjust && model->spec.comparisons[c].present)
			build_tf(&model->spec, model->spec.comparisons[c].column, ra, rb, dedup, &model->tf[c]);
}

/*
 * Weight of comparison c at its level.  An exact agreement on a
 * term-frequency-adjusted comparison weighs log2(m / share of the value):
 * agreeing on a rare name says more than agreeing on a common one.  A
 * similar spelling of a common name (Mohamed / Mohammed) is discounted the
 * same way: its u is scaled by how much more common the commoner of the two
 * values is than the average agreement; a rare name's variants keep the
 * level's plain weight.
 */
static double
comparison_weight(const Model *model, int c, int level, const PairValues *pv, double *share)
{
	const sp_fs_comparison *fc = &model->fs.comparisons[c];

	if (share)
		*share = -1;
	if (level >= 0 && level < fc->nlevels - 1 && pv && model->spec.comparisons[c].tf_adjust && model->tf[c].terms)
	{
		double		tf = tf_share(&model->tf[c], pv->ra, pv->left[c]);
		double		m = Max(Min(fc->m[level], 1 - 1e-6), 1e-6);

		if (level == 0)
		{
			if (share)
				*share = tf;
			return log2(m / tf);
		}
		else
		{
			double		tf_right = tf_share(&model->tf[c], pv->rb, pv->right[c]);
			double		ratio = Max(tf, tf_right) / Max(fc->u[0], 1e-12);
			double		u = Max(Min(fc->u[level] * Max(ratio, 1.0), 1 - 1e-6), 1e-12);

			if (share && ratio > 1.0)
				*share = Max(tf, tf_right);
			return log2(m / u);
		}
	}
	return sp_fs_level_weight(fc, level);
}

static double
pair_weight(const Model *model, const sp_gamma *g, const PairValues *pv)
{
	double		prior = Max(Min(model->fs.prior, 1 - 1e-6), 1e-300);
	double		w = log2(prior / (1 - prior));

	for (int c = 0; c < model->spec.ncomparisons; c++)
		w += comparison_weight(model, c, g[c], pv, NULL);
	return w;
}

/*
 * Weight of the evidence rules that apply to records i (of ra) and j (of
 * rb) with comparison vector g; applies (may be NULL) receives which.  A
 * group (household) is only meaningful within one relation.
 */
static double
evidence_weight(const Spec *spec, const Records *ra, int64 i, const Records *rb, int64 j,
				bool one_relation, const sp_gamma *g, bool swapped, bool *applies)
{
	double		w = 0;

	for (int e = 0; e < spec->nevidence; e++)
	{
		const Evidence *ev = &spec->evidence[e];
		bool		yes = false;

		if (ev->present)
		{
			if (ev->kind == EV_SAME_GROUP)
			{
				const Value *va = &ra->values[i * spec->ncolumns + ev->column];
				const Value *vb = &rb->values[j * spec->ncolumns + ev->column];

				yes = one_relation && !va->isnull && !vb->isnull && va->len == vb->len &&
					memcmp(ra->arena + va->offset, rb->arena + vb->offset, va->len) == 0;
			}
			else if (ev->kind == EV_SWAPPED)
				yes = swapped;
			else
			{
				int			family = g[ev->family];

				/*
				 * Twins have identifiers of their own: an anchor (national
				 * ID) that agrees, even with a typo, says otherwise.
				 */
				yes = g[ev->date] == SP_DATE_LEVEL_EXACT && family >= 0 &&
					family < spec->comparisons[ev->family].nlevels - 1 &&
					g[ev->given] == spec->comparisons[ev->given].nlevels - 1 &&
					(spec->anchor < 0 || g[spec->anchor] < 0 ||
					 g[spec->anchor] == spec->comparisons[spec->anchor].nlevels - 1);
			}
		}
		if (applies)
			applies[e] = yes;
		if (yes)
			w += ev->weight;
	}
	return w;
}

/* Total match weight of a pair: prior, comparisons and evidence. */
static double
pair_total(const Model *model, const Records *ra, int64 i, const Records *rb, int64 j,
		   const sp_gamma *g, const PairValues *pv)
{
	return pair_weight(model, g, pv) +
		evidence_weight(&model->spec, ra, i, rb, j, ra->values == rb->values, g, pv->swapped, NULL);
}

/* A number for a message: as written, or in scientific notation when long. */
static char *
number_shown(Numeric n)
{
	char	   *s = numeric_normalize(n);

	return strlen(s) <= 32 ? s : numeric_out_sci(n, 6);
}

/* What a JSON value is, for messages: "null", "a string", "the number 1.5"... */
static char *
json_shown(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvNumeric:
			return psprintf("the number %s", number_shown(v->val.numeric));
		case jbvString:
			return "a string";
		case jbvBool:
			return "a boolean";
		case jbvBinary:
			return JsonContainerIsArray(v->val.binary.data) ? "an array" : "an object";
		default:
			return pstrdup(JsonbTypeName(v));
	}
}

static void
params_error(const char *model, const char *path, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid params of linkage model \"%s\" at \"%s\"", model, path),
			 errdetail("%s", detail),
			 errhint("Train the model with sp.train_linkage_model() rather than writing params by hand.")));
}

/* params.comparisons.<name>, the name quoted when it is not a plain word */
static char *
params_path(const char *comparison)
{
	StringInfoData buf;
	bool		plain = comparison[0] != '\0' && !(comparison[0] >= '0' && comparison[0] <= '9');

	for (const char *c = comparison; *c && plain; c++)
		plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_';
	initStringInfo(&buf);
	appendStringInfoString(&buf, "params.comparisons.");
	if (plain)
		appendStringInfoString(&buf, comparison);
	else
		escape_json(&buf, comparison);
	return buf.data;
}

/* A probability in (0, 1], or in (0, 1) when one is excluded. */
static double
params_probability(JsonbValue *v, const char *model, const char *path, bool one_allowed)
{
	double		x = json_double(v);

	if (v->type != jbvNumeric)
		params_error(model, path, psprintf("Expected a probability (a number), got %s.", json_shown(v)));
	if (isnan(x) || x <= 0 || x > 1 || (!one_allowed && x >= 1))
		params_error(model, path,
					 psprintf(one_allowed ? "A probability greater than 0 and at most 1 is needed, got %s."
							  : "A probability strictly between 0 and 1 is needed, got %s.",
							  number_shown(v->val.numeric)));
	return x;
}

/*
 * Read and check params against the spec: NULL means untrained; otherwise
 * an object with "prior" in (0, 1) and, for every comparison of the spec,
 * "m" and "u" arrays of one probability in (0, 1] per level.  Anything
 * else raises 22023 naming the JSON path: params are data an admin can
 * write, and a model that cannot be read must never reach the scoring code.
 * The same check guards writes to sp.linkage_model (its trigger).
 */
static void
parse_params(Model *model, Jsonb *params)
{
	JsonbValue	v,
				cmps;

	model->trained = false;
	if (params == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(params) || JB_ROOT_IS_SCALAR(params))
		params_error(model->name, "params",
					 "Params are NULL (untrained) or an object with \"prior\" and \"comparisons\".");
	if (!getKeyJsonValueFromContainer(&params->root, "prior", 5, &v))
		params_error(model->name, "params.prior", "The prior (probability that two random records match) is missing.");
	model->fs.prior = params_probability(&v, model->name, "params.prior", false);
	if (!getKeyJsonValueFromContainer(&params->root, "comparisons", 11, &cmps))
		params_error(model->name, "params.comparisons", "\"comparisons\" is missing.");
	if (cmps.type != jbvBinary || !JsonContainerIsObject(cmps.val.binary.data))
		params_error(model->name, "params.comparisons",
					 psprintf("\"comparisons\" maps each comparison name to its m and u; got %s.", json_shown(&cmps)));
	for (int c = 0; c < model->spec.ncomparisons; c++)
	{
		Comparison *cmp = &model->spec.comparisons[c];
		sp_fs_comparison *fc = &model->fs.comparisons[c];
		char	   *path = params_path(cmp->name);
		JsonbValue	one;

		fc->nlevels = cmp->nlevels;
		if (!getKeyJsonValueFromContainer(cmps.val.binary.data, cmp->name, strlen(cmp->name), &one))
			params_error(model->name, path, psprintf("The spec compares \"%s\" but params have no m and u for it.", cmp->name));
		if (one.type != jbvBinary || !JsonContainerIsObject(one.val.binary.data))
			params_error(model->name, path, psprintf("Expected an object with \"m\" and \"u\", got %s.", json_shown(&one)));
		for (int which = 0; which < 2; which++)
		{
			const char *key = which == 0 ? "m" : "u";
			double	   *dst = which == 0 ? fc->m : fc->u;
			char	   *arr_path = psprintf("%s.%s", path, key);
			JsonbValue	arr;
			int			n;

			if (!getKeyJsonValueFromContainer(one.val.binary.data, key, 1, &arr))
				params_error(model->name, arr_path, psprintf("\"%s\" is missing.", key));
			if (arr.type != jbvBinary || !JsonContainerIsArray(arr.val.binary.data))
				params_error(model->name, arr_path, psprintf("Expected an array of %d probabilities, got %s.",
															 cmp->nlevels, json_shown(&arr)));
			n = (int) JsonContainerSize(arr.val.binary.data);
			if (n != cmp->nlevels)
				params_error(model->name, arr_path,
							 psprintf("Comparison \"%s\" has %d levels, so %d probabilities are needed; got %d.",
									  cmp->name, cmp->nlevels, cmp->nlevels, n));
			for (int l = 0; l < n; l++)
				dst[l] = params_probability(getIthJsonbValueFromContainer(arr.val.binary.data, l), model->name,
											psprintf("%s[%d]", arr_path, l), true);
		}
	}
	model->fs.ncomparisons = model->spec.ncomparisons;
	model->trained = true;

	if (getKeyJsonValueFromContainer(&params->root, "tf_source", 9, &v) && v.type == jbvString)
		model->tf_source = json_string(&v);
	/* how many records the stored term frequencies were counted over (optional) */
	if (getKeyJsonValueFromContainer(&params->root, "tf_records", 10, &v) &&
		v.type == jbvBinary && JsonContainerIsObject(v.val.binary.data))
		for (int c = 0; c < model->spec.ncomparisons; c++)
		{
			JsonbValue	n;
			const char *cn = model->spec.comparisons[c].name;

			if (getKeyJsonValueFromContainer(v.val.binary.data, cn, strlen(cn), &n) && n.type == jbvNumeric)
			{
				double		x = json_double(&n);

				if (x >= 1 && x < 1e12)
					model->tf_records[c] = (int64) x;
			}
		}
}

/*
 * Term frequencies of the values of r from sp_internal.linkage_term_frequency
 * (stored by training), for comparisons with tf_adjust; a comparison without
 * stored counts keeps no table (plain m/u).
 */
static void
load_stored_tf(Model *model, const Records *r, Oid relid)
{
	MemoryContext outer = CurrentMemoryContext;
	char	   *rel = DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(relid)));

	/*
	 * Only for the relation the model was trained on (the registry's view,
	 * or its twin used while a blind-index rotation runs): counts from other
	 * data would make every value they never saw look rare.
	 */
	if (!model->tf_source ||
		!(strcmp(rel, model->tf_source) == 0 ||
		  (strcmp(rel, "sp_internal.person_linkage_input_rotating") == 0 &&
		   strcmp(model->tf_source, "sp_internal.person_linkage_input") == 0)))
		return;

	for (int c = 0; c < model->spec.ncomparisons; c++)
	{
		const Comparison *cmp = &model->spec.comparisons[c];
		Datum	   *hashes;
		int			nh = 0;
		Oid			argtypes[3] = {TEXTOID, TEXTOID, INT8ARRAYOID};
		Datum		args[3];
		TfTable    *tf = &model->tf[c];

		if (!cmp->tf_adjust || !cmp->present || model->tf_records[c] <= 0)
			continue;
		hashes = palloc(sizeof(Datum) * Max(r->n, 1));
		for (int64 i = 0; i < r->n; i++)
		{
			const Value *v = &r->values[i * model->spec.ncolumns + cmp->column];

			if (!v->isnull)
				hashes[nh++] = Int64GetDatum((int64) value_hash(r, v));
		}
		args[0] = CStringGetTextDatum(model->name);
		args[1] = CStringGetTextDatum(cmp->name);
		args[2] = PointerGetDatum(construct_array(hashes, nh, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute_with_args("SELECT value_hash, records FROM sp_internal.linkage_term_frequency "
								  "WHERE model OPERATOR(pg_catalog.=) $1 AND comparison OPERATOR(pg_catalog.=) $2 "
								  "AND value_hash OPERATOR(pg_catalog.=) ANY ($3)",
								  3, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "reading sp_internal.linkage_term_frequency failed");
		{
			MemoryContext spi = MemoryContextSwitchTo(outer);
			uint64		n = SPI_processed;

			tf->n = model->tf_records[c];
			tf->distinct = (int64) n;
			tf->terms = palloc(sizeof(TermFreq) * Max(n, 1));
			for (uint64 k = 0; k < n; k++)
			{
				bool		isnull;

				tf->terms[k].hash = (uint64) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 1, &isnull));
				tf->terms[k].count = (uint32) DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 2, &isnull));
			}
			qsort(tf->terms, n, sizeof(TermFreq), cmp_termfreq);
			MemoryContextSwitchTo(spi);
		}
		SPI_finish();
	}
}

static void
load_model(const char *name, Model *model)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(name)};
	MemoryContext outer = CurrentMemoryContext;
	int			ret;

	memset(model, 0, sizeof(*model));
	model->name = pstrdup(name);
	call_bytes = 0;
	/* no model has a longer name (CHECK on sp.linkage_model): never echo a megabyte back */
	if (strlen(name) > 63)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("linkage model \"%.*s...\" does not exist",
						pg_mbcliplen(name, strlen(name), 63), name),
				 errdetail("Model names have at most 63 characters; this one has %zu bytes.", strlen(name))));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute_with_args("SELECT spec, params FROM sp.linkage_model WHERE name OPERATOR(pg_catalog.=) $1",
								1, argtypes, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "reading sp.linkage_model failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("linkage model \"%s\" does not exist", name),
				 errhint("Create it with sp.create_linkage_model(name, spec); the built-in one is \"person\".")));
	{
		bool		isnull;
		Datum		spec = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		Datum		params = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
		MemoryContext spi = MemoryContextSwitchTo(outer);
		Jsonb	   *jspec = DatumGetJsonbPCopy(spec);
		Jsonb	   *jparams = isnull ? NULL : DatumGetJsonbPCopy(params);

		MemoryContextSwitchTo(spi);
		SPI_finish();
		parse_spec(jspec, &model->spec);
		parse_params(model, jparams);
	}
}

/* ------------------------------------------------------------------------
 * sp_internal.validate_linkage_spec(spec jsonb)
 * ------------------------------------------------------------------------ */

Datum
sp_validate_linkage_spec(PG_FUNCTION_ARGS)
{
	Spec		spec;

	parse_spec(PG_GETARG_JSONB_P(0), &spec);
	PG_RETURN_VOID();
}

/* ------------------------------------------------------------------------
 * sp_internal.validate_linkage_params(name text, spec jsonb, params jsonb)
 *
 * The check load_model makes, for the trigger on sp.linkage_model: params
 * that could not be read are refused when written, so that no model that
 * fails at scoring time (every registration scores) can be stored.
 * ------------------------------------------------------------------------ */

PG_FUNCTION_INFO_V1(sp_validate_linkage_params);

Datum
sp_validate_linkage_params(PG_FUNCTION_ARGS)
{
	Model	   *model = palloc0(sizeof(Model));

	model->name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	parse_spec(PG_GETARG_JSONB_P(1), &model->spec);
	parse_params(model, PG_GETARG_JSONB_P(2));
	PG_RETURN_VOID();
}

/* ------------------------------------------------------------------------
 * Training
 * ------------------------------------------------------------------------ */

#define TRAIN_MAX_PAIRS 5000000.0

typedef struct TrainState
{
	const Spec *spec;
	const Records *ra;
	const Records *rb;
	sp_pattern_table *by_rule;	/* one table per rule, its own columns left out */
	sp_pattern_table *first_by_rule;	/* the same, pairs no earlier rule produced */
	sp_pattern_table *all;		/* every candidate pair once */
	bool		excluded[MAX_RULES][SP_FS_MAX_COMPARISONS];
	bool		refine_excluded[MAX_RULES][MAX_REFINE][SP_FS_MAX_COMPARISONS];
	double		keep;			/* sampling probability of a candidate pair */
	CmpWork    *work;
	bool		dedup;
	double		evidence_pairs; /* left out: evidence says different people */
	/* levels among anchored pairs (exact agreement on spec->anchor) */
	double		anchor_pairs;
	double		anchor_counts[SP_FS_MAX_COMPARISONS][SP_FS_MAX_LEVELS];
	bool		anchor_excluded[SP_FS_MAX_COMPARISONS];
	/* levels of the anchor among pairs agreeing exactly on spec->anchor_m_from */
	double		anchor2_pairs;
	double		anchor2_counts[SP_FS_MAX_LEVELS];
} TrainState;

/* Deterministic keep/skip decision for sampling pairs. */
static bool
keep_pair(int64 i, int64 j, double keep)
{
	uint64_t	x;

	if (keep >= 1.0)
		return true;
	x = (uint64_t) i * 0x9E3779B97F4A7C15ULL ^ (uint64_t) j;
	return (double) (sp_random_next(&x) >> 11) / 9007199254740992.0 < keep;
}

static void
train_pair(int64 i, int64 j, int rule, bool first, void *arg)
{
	TrainState *st = arg;
	sp_gamma	g[SP_FS_MAX_COMPARISONS];

	if (!keep_pair(i, j, st->keep))
		return;
	compare_records(st->spec, st->ra, i, st->rb, j, g, NULL, st->work);
	/* pairs the evidence rules call different people teach nothing about matches */
	if (evidence_weight(st->spec, st->ra, i, st->rb, j, st->dedup, g, false, NULL) < 0)
	{
		if (first)
			st->evidence_pairs++;
		return;
	}
	if (first && st->spec->nanchor_m_from > 0 && g[st->spec->anchor] >= 0)
	{
		bool		all_exact = true;

		for (int k = 0; k < st->spec->nanchor_m_from; k++)
			all_exact &= g[st->spec->anchor_m_from[k]] == 0;
		if (all_exact)
		{
			st->anchor2_pairs++;
			st->anchor2_counts[g[st->spec->anchor]]++;
		}
	}
	if (first && st->spec->anchor >= 0 && g[st->spec->anchor] == 0)
	{
		st->anchor_pairs++;
		for (int c = 0; c < st->spec->ncomparisons; c++)
			if (!st->anchor_excluded[c] && g[c] >= 0)
				st->anchor_counts[c][g[c]]++;
	}
	if (first && sp_pattern_table_add(st->all, g, 1) < 0)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory counting comparison patterns")));
	/* a rule's own keys say nothing about matches among the pairs it produces */
	for (int c = 0; c < st->spec->ncomparisons; c++)
		if (st->excluded[rule][c])
			g[c] = -1;
	/* nor do the refine keys of a block that was split (common names: district, year) */
	if (st->ra->refine_level)
	{
		int			level = st->ra->refine_level[i * st->spec->nrules + rule];

		for (int p = 0; p < level; p++)
			for (int c = 0; c < st->spec->ncomparisons; c++)
				if (st->refine_excluded[rule][p][c])
					g[c] = -1;
	}
	if (sp_pattern_table_add(&st->by_rule[rule], g, 1) < 0)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory counting comparison patterns")));
	if (first && sp_pattern_table_add(&st->first_by_rule[rule], g, 1) < 0)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory counting comparison patterns")));
}

/* Comparisons whose columns one blocking key uses (with their swap partners and dependants). */
static void
part_exclusions(const Spec *spec, const BlockPart *part, bool *excluded)
{
	for (int c = 0; c < spec->ncomparisons; c++)
		excluded[c] = false;
	for (int c = 0; c < spec->ncomparisons; c++)
	{
		const Comparison *cmp = &spec->comparisons[c];

		if (cmp->column == part->column || (part->fn == KEY_NAME_KEYS && cmp->column == part->column2))
		{
			excluded[c] = true;
			if (cmp->swap_with >= 0)
				excluded[cmp->swap_with] = true;
		}
	}
	for (int c = 0; c < spec->ncomparisons; c++)
		for (int d = 0; d < spec->comparisons[c].ndepends; d++)
			if (excluded[spec->comparisons[c].depends_on[d]])
				excluded[c] = true;
}

/* Comparisons whose columns a rule blocks on (with their swap partners). */
static void
rule_exclusions(const Spec *spec, int rule, bool *excluded)
{
	const BlockRule *r = &spec->rules[rule];

	for (int c = 0; c < spec->ncomparisons; c++)
		excluded[c] = false;
	for (int p = 0; p < r->nparts; p++)
		for (int c = 0; c < spec->ncomparisons; c++)
		{
			const Comparison *cmp = &spec->comparisons[c];

			if (cmp->column == r->parts[p].column ||
				(r->parts[p].fn == KEY_NAME_KEYS && cmp->column == r->parts[p].column2))
			{
				excluded[c] = true;
				if (cmp->swap_with >= 0)
					excluded[cmp->swap_with] = true;
			}
		}
	/* a comparison that depends on an excluded one agrees by construction too */
	for (int c = 0; c < spec->ncomparisons; c++)
		for (int d = 0; d < spec->comparisons[c].ndepends; d++)
			if (excluded[spec->comparisons[c].depends_on[d]])
				excluded[c] = true;
}

/* Comparisons that agree by construction among pairs with exact agreement on the anchor. */
static void
anchor_exclusions(const Spec *spec, bool *excluded)
{
	for (int c = 0; c < spec->ncomparisons; c++)
		excluded[c] = false;
	if (spec->anchor < 0)
		return;
	excluded[spec->anchor] = true;
	if (spec->comparisons[spec->anchor].swap_with >= 0)
		excluded[spec->comparisons[spec->anchor].swap_with] = true;
	for (int c = 0; c < spec->ncomparisons; c++)
		for (int d = 0; d < spec->comparisons[c].ndepends; d++)
			if (excluded[spec->comparisons[c].depends_on[d]])
				excluded[c] = true;
}

#define U_WITHIN_SAMPLES 1000000

/* Hash of the values of cols of record i; 0 when one is missing. */
static uint64
columns_key(const Spec *spec, const Records *r, int64 i, const int *cols, int ncols)
{
	uint64		h = 1469598103934665603ULL;

	for (int k = 0; k < ncols; k++)
	{
		const Value *v = &r->values[i * spec->ncolumns + cols[k]];

		if (v->isnull)
			return 0;
		if (spec->columns[cols[k]].is_date)
			h = hash_bytes64(h, (const char *) &v->date.days, sizeof(v->date.days));
		else
			h = hash_bytes64(h, r->arena + v->offset, v->len);
		h = hash_bytes64(h, "|", 1);
	}
	return h == 0 ? 1 : h;
}

/*
 * Levels of every comparison among up to U_WITHIN_SAMPLES pairs drawn
 * uniformly from the pairs of records that agree on cols (say, persons of
 * one family name), leaving out pairs the evidence rules call different
 * people.  This is u for comparisons like locality, whose agreement is
 * common among same-name people who are not the same person (families live
 * together) and rare among random pairs.  The draw is deterministic.
 * Returns the number of such pairs.
 */
static double
conditional_level_counts(const Spec *spec, const Records *ra, const Records *rb, bool dedup,
						 const int *cols, int ncols, double counts[][SP_FS_MAX_LEVELS], CmpWork *work)
{
	int64		nl = ra->n,
				nr = dedup ? 0 : rb->n;
	KeyedRecord *kr = alloc_huge(sizeof(KeyedRecord) * (nl + nr), "conditional u");
	int64		m = 0,
				ngroups = 0;
	int64	   *start;
	int64	   *nleft;
	double	   *cum;
	double		total = 0;
	uint64_t	rng = 20261130;
	int64		samples;

	for (int64 i = 0; i < nl; i++)
	{
		uint64		k = columns_key(spec, ra, i, cols, ncols);

		if (k)
			kr[m++] = (KeyedRecord) {k, (int32) i, 0, 0};
	}
	for (int64 j = 0; j < nr; j++)
	{
		uint64		k = columns_key(spec, rb, j, cols, ncols);

		if (k)
			kr[m++] = (KeyedRecord) {k, (int32) j, 1, 0};
	}
	qsort(kr, m, sizeof(KeyedRecord), cmp_keyed);
	start = alloc_huge(sizeof(int64) * (m + 1), "conditional u");
	nleft = alloc_huge(sizeof(int64) * (m + 1), "conditional u");
	cum = alloc_huge(sizeof(double) * (m + 1), "conditional u");
	for (int64 s = 0; s < m;)
	{
		int64		e = s,
					l = 0;
		double		pairs;

		while (e < m && kr[e].key == kr[s].key)
		{
			if (kr[e].side == 0)
				l++;
			e++;
		}
		pairs = dedup ? (double) l * (l - 1) / 2 : (double) l * (e - s - l);
		if (pairs > 0)
		{
			start[ngroups] = s;
			nleft[ngroups] = l;
			total += pairs;
			cum[ngroups] = total;
			ngroups++;
		}
		s = e;
	}
	start[ngroups] = m;
	samples = (int64) Min(total, (double) U_WITHIN_SAMPLES);
	for (int64 t = 0; t < samples; t++)
	{
		double		x = (double) (sp_random_next(&rng) >> 11) / 9007199254740992.0 * total;
		int64		lo = 0,
					hi = ngroups - 1,
					g,
					size,
					a,
					b;
		sp_gamma	gamma[SP_FS_MAX_COMPARISONS];

		if ((t & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		while (lo < hi)
		{
			int64		mid = (lo + hi) / 2;

			if (cum[mid] > x)
				hi = mid;
			else
				lo = mid + 1;
		}
		g = lo;
		size = (g + 1 < ngroups ? start[g + 1] : m) - start[g];
		if (dedup)
		{
			/* the group's records are all on the left: any two of them */
			size = nleft[g];
			a = (int64) (sp_random_next(&rng) % (uint64) size);
			b = (int64) (sp_random_next(&rng) % (uint64) (size - 1));
			if (b >= a)
				b++;
		}
		else
		{
			a = (int64) (sp_random_next(&rng) % (uint64) nleft[g]);
			b = nleft[g] + (int64) (sp_random_next(&rng) % (uint64) (size - nleft[g]));
		}
		a = kr[start[g] + a].idx;
		b = kr[start[g] + b].idx;
		compare_records(spec, ra, a, rb, b, gamma, NULL, work);
		if (evidence_weight(spec, ra, a, rb, b, dedup, gamma, false, NULL) < 0)
			continue;
		for (int c = 0; c < spec->ncomparisons; c++)
			if (gamma[c] >= 0)
				counts[c][gamma[c]]++;
	}
	release_memory(sizeof(KeyedRecord) * (nl + nr) + (sizeof(int64) * 2 + sizeof(double)) * (m + 1));
	pfree(kr);
	pfree(start);
	pfree(nleft);
	pfree(cum);
	return total;
}

static bool
same_u_within(const Comparison *a, const Comparison *b)
{
	if (a->nu_within != b->nu_within)
		return false;
	for (int k = 0; k < a->nu_within; k++)
		if (a->u_within[k] != b->u_within[k])
			return false;
	return true;
}

static char *
quote_json_cstr(const char *str)
{
	StringInfoData b;

	initStringInfo(&b);
	escape_json(&b, str);
	return b.data;
}

/* Labelled pairs (reviewers' decisions): comparison vectors and verdicts. */
typedef struct Labels
{
	int64		n;
	int64		matches;
	int64		non_matches;
	int64		skipped;		/* a record of the pair is not in the relation */
	sp_gamma   *gammas;			/* n * SP_FS_MAX_COMPARISONS */
	double	   *evidence;		/* weight of the evidence rules per pair */
	bool	   *is_match;
} Labels;

/* Index of id in r (ids ascending, as load_records orders them), or -1. */
static int64
record_index(const Records *r, int64 id)
{
	int64		lo = 0,
				hi = r->n - 1;

	while (lo <= hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (r->ids[mid] == id)
			return mid;
		if (r->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/*
 * Read labelled pairs (left_id, right_id, is_match) and compare their
 * records, read by id from left_src (and right_src when linking two
 * relations).  Called before the training data is loaded: loading sets
 * which spec columns are present, and the training data must have the last
 * word.
 */
static void
load_labels(Spec *spec, Oid labels, Oid left_src, Oid right_src, bool dedup, Labels *out, CmpWork *w)
{
	MemoryContext outer = CurrentMemoryContext;
	int64	   *lid,
			   *rid;
	bool	   *verdict;
	uint64		n;
	Records		rl,
				rr;
	Datum	   *dl,
			   *dr;
	int64		ndl = 0,
				ndr = 0;

	memset(out, 0, sizeof(*out));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		Oid			argtypes[1] = {OIDOID};
		Datum		args[1] = {ObjectIdGetDatum(labels)};
		bool		isnull;

		if (SPI_execute_with_args("SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid OPERATOR(pg_catalog.=) $1 "
								  "AND attname OPERATOR(pg_catalog.=) ANY ('{left_id,right_id,is_match}') AND NOT attisdropped",
								  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "reading the columns of the labels failed");
		if (DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) != 3)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("labels relation %s needs the columns left_id, right_id and is_match", get_rel_name(labels)),
					 errdetail("Each row is a pair someone decided: the ids of its two records and whether they are the same person.")));
	}
	{
		char	   *sql = psprintf("SELECT left_id::bigint, right_id::bigint, is_match::boolean FROM %s",
								   DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(labels))));

		if (SPI_execute(sql, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "reading the labels failed");
	}
	n = SPI_processed;
	{
		MemoryContext spi = MemoryContextSwitchTo(outer);

		lid = alloc_huge(sizeof(int64) * Max(n, 1), "labels");
		rid = alloc_huge(sizeof(int64) * Max(n, 1), "labels");
		verdict = alloc_huge(sizeof(bool) * Max(n, 1), "labels");
		for (uint64 k = 0; k < n; k++)
		{
			bool		n1,
						n2,
						n3;

			lid[k] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 1, &n1));
			rid[k] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 2, &n2));
			verdict[k] = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 3, &n3));
			if (n1 || n2 || n3)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("labels relation %s has a NULL left_id, right_id or is_match", get_rel_name(labels)),
						 errdetail("Every labelled pair names two records and says whether they are the same person.")));
		}
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();

	dl = palloc(sizeof(Datum) * 2 * Max(n, 1));
	dr = palloc(sizeof(Datum) * Max(n, 1));
	for (uint64 k = 0; k < n; k++)
	{
		dl[ndl++] = Int64GetDatum(lid[k]);
		if (dedup)
			dl[ndl++] = Int64GetDatum(rid[k]);
		else
			dr[ndr++] = Int64GetDatum(rid[k]);
	}
	load_records(spec, left_src, &rl, "labelled", construct_array(dl, (int) ndl, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	if (dedup)
		rr = rl;
	else
		load_records(spec, right_src, &rr, "labelled right",
					 construct_array(dr, (int) ndr, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));

	out->gammas = alloc_huge(sizeof(sp_gamma) * SP_FS_MAX_COMPARISONS * Max(n, 1), "labels");
	out->evidence = alloc_huge(sizeof(double) * Max(n, 1), "labels");
	out->is_match = alloc_huge(sizeof(bool) * Max(n, 1), "labels");
	for (uint64 k = 0; k < n; k++)
	{
		int64		i = record_index(&rl, lid[k]),
					j = record_index(&rr, rid[k]);
		sp_gamma   *g = out->gammas + out->n * SP_FS_MAX_COMPARISONS;
		PairValues	pv;

		if (i < 0 || j < 0 || (dedup && i == j))
		{
			out->skipped++;
			continue;
		}
		compare_records(spec, &rl, i, &rr, j, g, &pv, w);
		out->evidence[out->n] = evidence_weight(spec, &rl, i, &rr, j, dedup, g, pv.swapped, NULL);
		out->is_match[out->n] = verdict[k];
		if (verdict[k])
			out->matches++;
		else
			out->non_matches++;
		out->n++;
	}
}

static Oid
arg_regclass(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? InvalidOid : PG_GETARG_OID(n);
}

/*
 * sp.train_linkage_model(name text, source regclass, right_source regclass DEFAULT NULL)
 *   RETURNS jsonb
 */
Datum
sp_train_linkage_model(PG_FUNCTION_ARGS)
{
	char	   *name;
	Oid			left,
				right;
	bool		dedup;
	Model		model;
	Records		ra,
				rb;
	CmpWork    *work = palloc0(sizeof(CmpWork));
	double		total_pairs;
	int64		samples;
	uint64_t	rng = 20261128;
	double		u_counts[SP_FS_MAX_COMPARISONS][SP_FS_MAX_LEVELS];
	double		u_total[SP_FS_MAX_COMPARISONS];
	TrainState	st;
	Progress	progress;
	StringInfoData js;
	StringInfoData u_within_js;
	StringInfoData capped_js;
	StringInfoData blocks_js;
	Oid			labels_rel,
				label_source;
	Labels		labels;
	double		label_m[SP_FS_MAX_COMPARISONS][SP_FS_MAX_LEVELS];
	double		label_n[SP_FS_MAX_COMPARISONS];
	int64		label_fn = 0,
				label_fp = 0;
	/* results of the PG_TRY block live behind a pointer, safe from longjmp */
	struct
	{
		sp_em_result em;
		double		candidates;
		size_t		npatterns;
		double		keep;
		int			rules_trained;
		int			rules_converged;
		int			iterations;
		sp_pattern_table *by_rule;
		sp_pattern_table *first_by_rule;
		sp_pattern_table *all;
		double		evidence_pairs;
		double		anchor_pairs;
		int			anchored;
		bool		anchored_c[SP_FS_MAX_COMPARISONS];
		BlockStats	stats[MAX_RULES];
		double		matches;
		int			share_unconverged;
		double		anchor2_pairs;
	}		   *res = palloc0(sizeof(*res));

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name and source relation are required")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	left = PG_GETARG_OID(1);
	right = arg_regclass(fcinfo, 2);
	labels_rel = PG_NARGS() > 3 ? arg_regclass(fcinfo, 3) : InvalidOid;
	label_source = PG_NARGS() > 4 ? arg_regclass(fcinfo, 4) : InvalidOid;
	dedup = !OidIsValid(right);
	memset(&labels, 0, sizeof(labels));

	load_model(name, &model);
	if (OidIsValid(labels_rel))
		load_labels(&model.spec, labels_rel, OidIsValid(label_source) ? label_source : left,
					right, dedup, &labels, work);
	load_records(&model.spec, left, &ra, "source", NULL);
	if (dedup)
		rb = ra;
	else
		load_records(&model.spec, right, &rb, "right source", NULL);

	refine_keys(&model.spec, &ra, &rb, dedup, res->stats);
	report_dropped(&model.spec, res->stats, "training");
	total_pairs = dedup ? (double) ra.n * (ra.n - 1) / 2 : (double) ra.n * rb.n;
	if (total_pairs < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("training needs at least two records, got %lld", (long long) (ra.n + (dedup ? 0 : rb.n)))));

	/* u: level frequencies among random pairs (almost all non-matches) */
	memset(u_counts, 0, sizeof(u_counts));
	memset(u_total, 0, sizeof(u_total));
	samples = (int64) Min(total_pairs, 1000000.0);
	for (int64 s = 0; s < samples; s++)
	{
		sp_gamma	g[SP_FS_MAX_COMPARISONS];
		int64		i = (int64) (sp_random_next(&rng) % (uint64) ra.n);
		int64		j = (int64) (sp_random_next(&rng) % (uint64) rb.n);

		if ((s & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		if (dedup && i == j)
		{
			s--;
			continue;
		}
		compare_records(&model.spec, &ra, i, &rb, j, g, NULL, work);
		if (evidence_weight(&model.spec, &ra, i, &rb, j, dedup, g, false, NULL) < 0)
			continue;
		for (int c = 0; c < model.spec.ncomparisons; c++)
			if (g[c] >= 0)
			{
				u_counts[c][g[c]]++;
				u_total[c]++;
			}
	}

	/* u conditioned on agreement on other columns (locality among same-name people) */
	initStringInfo(&u_within_js);
	for (int c = 0; c < model.spec.ncomparisons; c++)
	{
		Comparison *cmp = &model.spec.comparisons[c];
		double		counts[SP_FS_MAX_COMPARISONS][SP_FS_MAX_LEVELS];
		double		pairs;
		bool		cols_present = cmp->present;
		int			earlier = -1;

		if (cmp->nu_within == 0)
			continue;
		for (int k = 0; k < cmp->nu_within; k++)
			cols_present &= model.spec.columns[cmp->u_within[k]].present;
		if (!cols_present)
			continue;
		for (int k = 0; k < c && earlier < 0; k++)
			if (model.spec.comparisons[k].nu_within > 0 && same_u_within(&model.spec.comparisons[k], cmp))
				earlier = k;
		if (earlier >= 0)
			continue;			/* done with the earlier comparison's sample */
		memset(counts, 0, sizeof(counts));
		pairs = conditional_level_counts(&model.spec, &ra, &rb, dedup, cmp->u_within, cmp->nu_within, counts, work);
		for (int k = c; k < model.spec.ncomparisons; k++)
		{
			double		n = 0;

			if (k != c && !(model.spec.comparisons[k].nu_within > 0 && same_u_within(&model.spec.comparisons[k], cmp)))
				continue;
			for (int l = 0; l < model.spec.comparisons[k].nlevels; l++)
				n += counts[k][l];
			if (n < 100)
				continue;		/* too few pairs: random pairs it is */
			for (int l = 0; l < model.spec.comparisons[k].nlevels; l++)
				u_counts[k][l] = counts[k][l];
			u_total[k] = n;
			appendStringInfo(&u_within_js, "%s", u_within_js.len ? ", " : "");
			escape_json(&u_within_js, model.spec.comparisons[k].name);
			appendStringInfo(&u_within_js, ": {\"pairs\": %.0f, \"sampled\": %.0f}", pairs, n);
		}
	}

	memset(&model.fs, 0, sizeof(model.fs));
	model.fs.ncomparisons = model.spec.ncomparisons;
	for (int c = 0; c < model.spec.ncomparisons; c++)
	{
		Comparison *cmp = &model.spec.comparisons[c];
		sp_fs_comparison *fc = &model.fs.comparisons[c];

		fc->nlevels = cmp->nlevels;
		for (int l = 0; l < cmp->nlevels; l++)
		{
			/* add-one smoothing: a level never seen among random pairs is rare, not impossible */
			fc->u[l] = (u_counts[c][l] + 1.0) / (u_total[c] + cmp->nlevels);
			/* starting m: most matches agree exactly, the rest spread over the other levels */
			fc->m[l] = l == 0 ? 0.9 : 0.1 / (cmp->nlevels - 1);
		}
	}
	model.fs.prior = 0.3;

	/*
	 * m by EM rule by rule, as Splink does: among the pairs a rule produces,
	 * the comparisons of its own keys agree by construction, so they are left
	 * out and estimated from the other rules.  Estimates of one comparison
	 * from several rules are averaged, weighted by the matches each rule
	 * found.  Then the share of matches among all candidate pairs, m and u
	 * fixed, gives the prior.
	 */
	initStringInfo(&capped_js);
	res->by_rule = palloc0(sizeof(sp_pattern_table) * MAX_RULES);
	res->first_by_rule = palloc0(sizeof(sp_pattern_table) * MAX_RULES);
	res->all = palloc0(sizeof(sp_pattern_table));
	for (int k = 0; k < model.spec.nrules; k++)
		if (sp_pattern_table_init(&res->by_rule[k], model.spec.ncomparisons) < 0 ||
			sp_pattern_table_init(&res->first_by_rule[k], model.spec.ncomparisons) < 0)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (sp_pattern_table_init(res->all, model.spec.ncomparisons) < 0)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	PG_TRY();
	{
		double		m_sum[SP_FS_MAX_COMPARISONS][SP_FS_MAX_LEVELS];
		double		w_sum[SP_FS_MAX_COMPARISONS];
		sp_fs_model start = model.fs;

		INSTR_TIME_SET_CURRENT(progress.start);
		progress.last = progress.start;
		progress.estimate = estimate_pairs(&model.spec, &ra, &rb, dedup);
		progress.done = 0;
		progress.what = "training";
		if (progress.estimate > (double) linkage_max_pairs_millions * 1e6)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("blocking rules produce about %.0f candidate pairs, more than sp_registry.linkage_max_pairs_millions (%d million)",
							progress.estimate, linkage_max_pairs_millions),
					 errhint("Make the blocking rules more selective (add a key), or raise the limit.")));
		st.spec = &model.spec;
		st.ra = &ra;
		st.rb = &rb;
		st.by_rule = res->by_rule;
		st.first_by_rule = res->first_by_rule;
		st.all = res->all;
		st.work = work;
		st.keep = Min(1.0, TRAIN_MAX_PAIRS / Max(progress.estimate, 1.0));
		st.dedup = dedup;
		st.evidence_pairs = 0;
		st.anchor_pairs = 0;
		memset(st.anchor_counts, 0, sizeof(st.anchor_counts));
		st.anchor2_pairs = 0;
		memset(st.anchor2_counts, 0, sizeof(st.anchor2_counts));
		anchor_exclusions(&model.spec, st.anchor_excluded);
		for (int k = 0; k < model.spec.nrules; k++)
		{
			rule_exclusions(&model.spec, k, st.excluded[k]);
			for (int p = 0; p < model.spec.rules[k].nrefine; p++)
				part_exclusions(&model.spec, &model.spec.rules[k].refine[p], st.refine_excluded[k][p]);
		}
		for_each_candidate(&model.spec, &ra, &rb, dedup, false, train_pair, &st, &progress);
		res->candidates = (double) res->all->total / st.keep;
		res->npatterns = res->all->npatterns;
		res->keep = st.keep;
		res->evidence_pairs = st.evidence_pairs / st.keep;
		res->anchor_pairs = st.anchor_pairs / st.keep;

		/*
		 * m from anchored pairs: pairs that agree exactly on an independent
		 * identifier (the national ID) are matches whatever their family
		 * and village, so the levels of the other comparisons among them
		 * are m without EM's confusion of "same family, same village" with
		 * "same person".  Their bias: only people with the identifier are
		 * in them (adults, where IDs are for adults); a comparison with
		 * fewer than 30 anchored pairs is left to EM.  EM then estimates
		 * the rest with these held fixed.
		 */
		/* reviewers' accepted pairs are matches too, whatever their identifiers */
		memset(label_m, 0, sizeof(label_m));
		memset(label_n, 0, sizeof(label_n));
		for (int64 k = 0; k < labels.n; k++)
			if (labels.is_match[k])
				for (int c = 0; c < model.spec.ncomparisons; c++)
				{
					sp_gamma	g = labels.gammas[k * SP_FS_MAX_COMPARISONS + c];

					if (g >= 0)
					{
						label_m[c][g]++;
						label_n[c]++;
					}
				}
		if (model.spec.anchor >= 0 || labels.matches > 0)
			for (int c = 0; c < model.spec.ncomparisons; c++)
			{
				double		n = label_n[c];
				sp_fs_comparison *fc = &start.comparisons[c];
				bool		anchored = model.spec.anchor >= 0 && !st.anchor_excluded[c];

				if (!model.spec.comparisons[c].present || c == model.spec.anchor)
					continue;
				for (int l = 0; l < fc->nlevels && anchored; l++)
					n += st.anchor_counts[c][l];
				if (n < 30)
					continue;
				for (int l = 0; l < fc->nlevels; l++)
					fc->m[l] = ((anchored ? st.anchor_counts[c][l] : 0) + label_m[c][l] + 1.0) / (n + fc->nlevels);
				fc->m_fixed = 1;
				res->anchored_c[c] = true;
				res->anchored++;
			}

		/*
		 * The anchor's own m, from pairs that agree exactly on every
		 * comparison of anchor_m_from (names and full birth date): how often
		 * such pairs, matches but for rare namesakes, disagree on the ID.
		 */
		if (model.spec.anchor >= 0 && st.anchor2_pairs + label_n[model.spec.anchor] >= 30)
		{
			sp_fs_comparison *fc = &start.comparisons[model.spec.anchor];
			double		n = st.anchor2_pairs + label_n[model.spec.anchor];

			for (int l = 0; l < fc->nlevels; l++)
				fc->m[l] = (st.anchor2_counts[l] + label_m[model.spec.anchor][l] + 1.0) / (n + fc->nlevels);
			fc->m_fixed = 1;
			res->anchored_c[model.spec.anchor] = true;
			res->anchored++;
		}
		res->anchor2_pairs = st.anchor2_pairs / st.keep;

		memset(m_sum, 0, sizeof(m_sum));
		memset(w_sum, 0, sizeof(w_sum));
		for (int k = 0; k < model.spec.nrules; k++)
		{
			sp_fs_model mk = start;
			sp_em_result ek;
			double		weight;

			if (res->by_rule[k].total == 0)
				continue;
			ek = sp_fs_em(&mk, &res->by_rule[k], 2000, 1e-6);
			res->rules_trained++;
			if (ek.converged)
				res->rules_converged++;
			res->iterations = Max(res->iterations, ek.iterations);
			weight = ek.prior * (double) res->by_rule[k].total;
			if (weight <= 0)
				continue;
			for (int c = 0; c < model.spec.ncomparisons; c++)
			{
				if (st.excluded[k][c])
					continue;
				for (int l = 0; l < mk.comparisons[c].nlevels; l++)
					m_sum[c][l] += weight * mk.comparisons[c].m[l];
				w_sum[c] += weight;
			}
		}
		for (int c = 0; c < model.spec.ncomparisons; c++)
		{
			if (res->anchored_c[c])
				model.fs.comparisons[c] = start.comparisons[c];
			else if (w_sum[c] > 0)
				for (int l = 0; l < model.fs.comparisons[c].nlevels; l++)
					model.fs.comparisons[c].m[l] = m_sum[c][l] / w_sum[c];
			model.fs.comparisons[c].m_fixed = 0;
			/*
			 * Guard rails on the levels that mean "different", unless 30 or
			 * more labelled matches show such a level is that common.
			 */
			{
				double		caps[SP_FS_MAX_LEVELS];

				memcpy(caps, model.spec.comparisons[c].m_max, sizeof(caps));
				/* m counted among anchored or labelled matches is data about matches: not capped */
				if (res->anchored_c[c])
					for (int l = 0; l < model.fs.comparisons[c].nlevels; l++)
						caps[l] = 1.0;
				if (label_n[c] >= 30)
					for (int l = 0; l < model.fs.comparisons[c].nlevels; l++)
						caps[l] = Max(caps[l], (label_m[c][l] + 1.0) / (label_n[c] + model.fs.comparisons[c].nlevels));
				model.spec.comparisons[c].m_max_used_labels = label_n[c] >= 30;
				memcpy(model.spec.comparisons[c].m_max_effective, caps, sizeof(caps));
			}
			if (sp_fs_cap_m(&model.fs.comparisons[c], model.spec.comparisons[c].m_max_effective) > 0)
			{
				appendStringInfo(&capped_js, "%s", capped_js.len ? ", " : "");
				escape_json(&capped_js, model.spec.comparisons[c].name);
			}
		}
		/*
		 * The prior, rule by rule: the share of matches among the pairs a
		 * rule produces first, its own keys left out (they agree by
		 * construction, and their u, measured among random pairs, would
		 * make every pair of a name block look like a match).  The matches
		 * of all rules, divided by all pairs, are the prior.
		 */
		res->matches = 0;
		for (int k = 0; k < model.spec.nrules; k++)
		{
			sp_em_result ek;

			if (res->first_by_rule[k].total == 0)
				continue;
			ek = sp_fs_em_share(&model.fs, &res->first_by_rule[k], 2000, 1e-7);
			res->matches += ek.prior * (double) res->first_by_rule[k].total;
			res->em.iterations = Max(res->em.iterations, ek.iterations);
			if (!ek.converged)
				res->share_unconverged++;
		}
		res->em.converged = res->share_unconverged == 0;
		res->em.prior = res->all->total > 0 ? res->matches / (double) res->all->total : 0;
	}
	PG_FINALLY();
	{
		for (int k = 0; k < model.spec.nrules; k++)
		{
			sp_pattern_table_free(&res->by_rule[k]);
			sp_pattern_table_free(&res->first_by_rule[k]);
		}
		sp_pattern_table_free(res->all);
	}
	PG_END_TRY();

	/* the prior is for any pair, not just blocked ones */
	model.fs.prior = Min(Max(res->em.prior * res->candidates / total_pairs, 1e-12), 1 - 1e-6);

	/* how the new model scores the reviewers' decisions (plain m/u, no term frequencies) */
	for (int64 k = 0; k < labels.n; k++)
	{
		double		w = pair_weight(&model, labels.gammas + k * SP_FS_MAX_COMPARISONS, NULL) + labels.evidence[k];

		if (labels.is_match[k] && w < 0)
			label_fn++;
		else if (!labels.is_match[k] && w >= 0)
			label_fp++;
	}

	initStringInfo(&blocks_js);
	for (int k = 0; k < model.spec.nrules; k++)
	{
		if (model.spec.rules[k].max_block == 0 || !model.spec.rules[k].present)
			continue;
		appendStringInfo(&blocks_js, "%s{\"rule\": %d, \"refined_blocks\": %lld, \"blocks_left_out\": %lld, "
						 "\"records_left_out\": %lld, \"pairs_left_out\": %.0f}",
						 blocks_js.len ? ", " : "", k + 1, (long long) res->stats[k].refined_blocks,
						 (long long) res->stats[k].dropped_blocks, (long long) res->stats[k].dropped_records,
						 res->stats[k].dropped_pairs);
	}
	initStringInfo(&js);
	appendStringInfo(&js, "{\"prior\": %.17g, \"comparisons\": {", model.fs.prior);
	for (int c = 0; c < model.spec.ncomparisons; c++)
	{
		Comparison *cmp = &model.spec.comparisons[c];
		sp_fs_comparison *fc = &model.fs.comparisons[c];

		if (c)
			appendStringInfoString(&js, ", ");
		escape_json(&js, cmp->name);
		appendStringInfoString(&js, ": {\"m\": [");
		for (int l = 0; l < cmp->nlevels; l++)
			appendStringInfo(&js, "%s%.17g", l ? ", " : "", fc->m[l]);
		appendStringInfoString(&js, "], \"u\": [");
		for (int l = 0; l < cmp->nlevels; l++)
			appendStringInfo(&js, "%s%.17g", l ? ", " : "", fc->u[l]);
		appendStringInfo(&js, "], \"present\": %s}", cmp->present ? "true" : "false");
	}
	appendStringInfo(&js, "}, \"training\": {\"records\": %lld, \"right_records\": %lld, \"u_sample_pairs\": %lld, "
					 "\"candidate_pairs\": %.0f, \"pairs_sampled_share\": %.6g, \"patterns\": %zu, "
					 "\"rules_trained\": %d, \"rules_converged\": %d, \"em_iterations\": %d, "
					 "\"em_converged\": %s, \"match_share_in_blocks\": %.6g, "
					 "\"pairs_left_out_by_evidence\": %.0f, \"anchor\": %s, \"anchored_pairs\": %.0f, "
					 "\"comparisons_anchored\": %d, \"anchor_m_pairs\": %.0f, \"u_within\": {%s}, \"m_capped\": [%s], \"blocks\": [%s], "
					 "\"labels\": {\"matches\": %lld, \"non_matches\": %lld, \"skipped\": %lld, "
					 "\"matches_scored_below_half\": %lld, \"non_matches_scored_at_or_above_half\": %lld}}}",
					 (long long) ra.n, (long long) (dedup ? 0 : rb.n), (long long) samples, res->candidates,
					 res->keep, res->npatterns, res->rules_trained, res->rules_converged,
					 Max(res->iterations, res->em.iterations),
					 (res->rules_converged == res->rules_trained && res->em.converged) ? "true" : "false",
					 res->em.prior, res->evidence_pairs,
					 model.spec.anchor >= 0 ? quote_json_cstr(model.spec.comparisons[model.spec.anchor].name) : "null",
					 res->anchor_pairs, res->anchored, res->anchor2_pairs, u_within_js.data, capped_js.data, blocks_js.data,
					 (long long) labels.matches, (long long) labels.non_matches, (long long) labels.skipped,
					 (long long) label_fn, (long long) label_fp);

	/*
	 * Term frequencies of the training data, for scoring that reads only a
	 * few records (the duplicate check at registration): how many records
	 * had each value seen at least twice, and how many had a value at all.
	 * sp.train_linkage_model moves them into sp_internal.linkage_term_frequency.
	 */
	{
		bool		any = false;

		js.len--;				/* reopen the root object */
		js.data[js.len] = '\0';
		/* the counts describe this relation: scoring another one does not use them */
		appendStringInfoString(&js, ", \"tf_source\": ");
		escape_json(&js, dedup ? DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(left))) : "");
		appendStringInfoString(&js, ", \"tf_records\": {");
		for (int c = 0; c < model.spec.ncomparisons; c++)
			if (model.spec.comparisons[c].tf_adjust && model.spec.comparisons[c].present)
			{
				build_tf(&model.spec, model.spec.comparisons[c].column, &ra, &rb, dedup, &model.tf[c]);
				appendStringInfoString(&js, any ? ", " : "");
				escape_json(&js, model.spec.comparisons[c].name);
				appendStringInfo(&js, ": %lld", (long long) model.tf[c].n);
				any = true;
			}
		appendStringInfoString(&js, "}, \"term_frequencies\": {");
		any = false;
		for (int c = 0; c < model.spec.ncomparisons; c++)
		{
			const TfTable *tf = &model.tf[c];
			bool		first = true;

			if (!(model.spec.comparisons[c].tf_adjust && model.spec.comparisons[c].present))
				continue;
			appendStringInfoString(&js, any ? ", " : "");
			escape_json(&js, model.spec.comparisons[c].name);
			appendStringInfoString(&js, ": [");
			for (int64 t = 0; t < tf->distinct; t++)
			{
				if (tf->terms[t].count < 2)
					continue;
				appendStringInfo(&js, "%s[%lld, %u]", first ? "" : ", ",
								 (long long) (int64) tf->terms[t].hash, tf->terms[t].count);
				first = false;
			}
			appendStringInfoChar(&js, ']');
			any = true;
		}
		appendStringInfoString(&js, "}}");
	}

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(js.data)));
}

/* ------------------------------------------------------------------------
 * Scoring
 * ------------------------------------------------------------------------ */

typedef struct MatchState
{
	const Model *model;
	const Records *ra;
	const Records *rb;
	bool		dedup;
	double		min_probability;
	CmpWork    *work;
	Tuplestorestate *store;
	TupleDesc	desc;
	int64		emitted;
} MatchState;

static void
match_pair(int64 i, int64 j, int rule, bool first, void *arg)
{
	MatchState *st = arg;
	sp_gamma	g[SP_FS_MAX_COMPARISONS];
	PairValues	pv;
	double		w,
				p;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	int64		li = st->ra->ids[i],
				rj = st->rb->ids[j];

	compare_records(&st->model->spec, st->ra, i, st->rb, j, g, &pv, st->work);
	w = pair_total(st->model, st->ra, i, st->rb, j, g, &pv);
	p = sp_fs_probability(w);
	if (p < st->min_probability)
		return;
	if (st->dedup && li > rj)
	{
		int64		t = li;

		li = rj;
		rj = t;
	}
	values[0] = Int64GetDatum(li);
	values[1] = Int64GetDatum(rj);
	values[2] = Float8GetDatum(w);
	values[3] = Float8GetDatum(p);
	tuplestore_putvalues(st->store, st->desc, values, nulls);
	st->emitted++;
}

/*
 * sp.match_pairs(model text, left_rel regclass, right_rel regclass DEFAULT NULL,
 *                min_probability float8 DEFAULT 0)
 *   RETURNS TABLE (left_id bigint, right_id bigint, match_weight float8, match_probability float8)
 */
Datum
sp_match_pairs(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Model		model;
	Records		ra,
				rb;
	Oid			right;
	bool		dedup;
	MatchState	st;
	Progress	progress;
	BlockStats	stats[MAX_RULES];

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name and left relation are required")));
	right = arg_regclass(fcinfo, 2);
	dedup = !OidIsValid(right);

	InitMaterializedSRF(fcinfo, 0);
	load_model(text_to_cstring(PG_GETARG_TEXT_PP(0)), &model);
	if (!model.trained)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("linkage model \"%s\" has not been trained", model.name),
				 errhint("Run sp.train_linkage_model('%s', <relation>) first.", model.name)));
	load_records(&model.spec, PG_GETARG_OID(1), &ra, "left", NULL);
	if (dedup)
		rb = ra;
	else
		load_records(&model.spec, right, &rb, "right", NULL);

	refine_keys(&model.spec, &ra, &rb, dedup, stats);
	report_dropped(&model.spec, stats, "match_pairs");
	build_model_tf(&model, &ra, &rb, dedup);
	st.model = &model;
	st.ra = &ra;
	st.rb = &rb;
	st.dedup = dedup;
	st.min_probability = PG_ARGISNULL(3) ? 0.0 : PG_GETARG_FLOAT8(3);
	st.work = palloc0(sizeof(CmpWork));
	st.store = rsinfo->setResult;
	st.desc = rsinfo->setDesc;
	st.emitted = 0;

	INSTR_TIME_SET_CURRENT(progress.start);
	progress.last = progress.start;
	progress.estimate = estimate_pairs(&model.spec, &ra, &rb, dedup);
	progress.done = 0;
	progress.what = "match_pairs";
	if (progress.estimate > (double) linkage_max_pairs_millions * 1e6)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("blocking rules produce about %.0f candidate pairs, more than sp_registry.linkage_max_pairs_millions (%d million)",
						progress.estimate, linkage_max_pairs_millions),
				 errhint("Make the blocking rules more selective (add a key), or raise the limit.")));
	for_each_candidate(&model.spec, &ra, &rb, dedup, true, match_pair, &st, &progress);
	return (Datum) 0;
}

/* ------------------------------------------------------------------------
 * Explaining one pair
 * ------------------------------------------------------------------------ */

static const char *
level_label(const Comparison *cmp, int level)
{
	if (level < 0)
		return cmp->present ? "null (a value is missing)" : "not compared (column absent)";
	if (cmp->method == M_DATE)
		return sp_date_level_name((sp_date_level) level);
	if (level == 0)
		return "exact";
	if (level == cmp->nlevels - 1)
		return "else";
	if (cmp->phonetic && level == cmp->nlevels - 2)
		return "same phonetic key (sp.name_key), spaces left out";
	if (cmp->method == M_JARO_WINKLER)
		return psprintf("jaro_winkler >= %g", cmp->thresholds[level - 1]);
	return psprintf("%s <= %g", cmp->method == M_LEVENSHTEIN ? "levenshtein" : "damerau_levenshtein",
					cmp->thresholds[level - 1]);
}

/* The single record with this id, as a Records of one. */
static void
load_one(Spec *spec, Oid relid, int64 id, Records *r, const char *which)
{
	Datum		one = Int64GetDatum(id);

	load_records(spec, relid, r, which, construct_array(&one, 1, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	if (r->n != 1)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("%s relation %s has %lld rows with id %lld, expected one",
						which, get_rel_name(relid), (long long) r->n, (long long) id)));
}

/* Index of the record with this id; errors when absent or repeated. */
static int64
find_id(const Records *r, int64 id, Oid relid, const char *which)
{
	int64		found = -1;

	for (int64 i = 0; i < r->n; i++)
		if (r->ids[i] == id)
		{
			if (found >= 0)
				ereport(ERROR,
						(errcode(ERRCODE_CARDINALITY_VIOLATION),
						 errmsg("%s relation %s has more than one row with id %lld",
								which, get_rel_name(relid), (long long) id)));
			found = i;
		}
	if (found < 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("%s relation %s has no row with id %lld", which, get_rel_name(relid), (long long) id)));
	return found;
}

/*
 * sp.explain_match(model text, left_rel regclass, left_id bigint, right_rel regclass, right_id bigint)
 *   RETURNS TABLE (comparison text, level text, weight float8)
 *
 * With term frequency adjustment the whole relations are read, so that the
 * weights are exactly those sp.match_pairs gives.
 */
Datum
sp_explain_match(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Model		model;
	Records		ra,
				rb;
	int64		i = 0,
				j = 0;
	sp_gamma	g[SP_FS_MAX_COMPARISONS];
	PairValues	pv;
	bool		applies[MAX_EVIDENCE];
	CmpWork    *work = palloc0(sizeof(CmpWork));
	double		total;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	bool		need_tf = false;
	Oid			lrel,
				rrel;

	for (int k = 0; k < 5; k++)
		if (PG_ARGISNULL(k))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("every argument of sp.explain_match is required")));
	lrel = PG_GETARG_OID(1);
	rrel = PG_GETARG_OID(3);
	InitMaterializedSRF(fcinfo, 0);
	load_model(text_to_cstring(PG_GETARG_TEXT_PP(0)), &model);
	if (!model.trained)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("linkage model \"%s\" has not been trained", model.name)));
	for (int c = 0; c < model.spec.ncomparisons; c++)
		need_tf |= model.spec.comparisons[c].tf_adjust;

	if (need_tf)
	{
		bool		same = lrel == rrel;

		load_records(&model.spec, lrel, &ra, "left", NULL);
		if (same)
			rb = ra;
		else
			load_records(&model.spec, rrel, &rb, "right", NULL);
		build_model_tf(&model, &ra, &rb, same);
		i = find_id(&ra, PG_GETARG_INT64(2), lrel, "left");
		j = find_id(&rb, PG_GETARG_INT64(4), rrel, "right");
	}
	else
	{
		load_one(&model.spec, lrel, PG_GETARG_INT64(2), &ra, "left");
		load_one(&model.spec, rrel, PG_GETARG_INT64(4), &rb, "right");
	}

	compare_records(&model.spec, &ra, i, &rb, j, g, &pv, work);
	total = pair_weight(&model, g, &pv);
	/* within one relation, its groups (households) mean something */
	total += evidence_weight(&model.spec, &ra, i, &rb, j, lrel == rrel, g, pv.swapped, applies);

	values[0] = CStringGetTextDatum("prior");
	values[1] = CStringGetTextDatum(psprintf("probability %.3g that two records match", model.fs.prior));
	values[2] = Float8GetDatum(log2(model.fs.prior / (1 - model.fs.prior)));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	for (int c = 0; c < model.spec.ncomparisons; c++)
	{
		const Comparison *cmp = &model.spec.comparisons[c];
		double		share;
		double		w = comparison_weight(&model, c, g[c], &pv, &share);

		values[0] = CStringGetTextDatum(cmp->name);
		values[1] = CStringGetTextDatum(share < 0 ? level_label(cmp, g[c]) :
										g[c] == 0 ? psprintf("exact (value shared by %.3g%% of records)", 100 * share) :
										psprintf("%s (the commoner value shared by %.3g%% of records)",
												 level_label(cmp, g[c]), 100 * share));
		values[2] = Float8GetDatum(w);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	for (int e = 0; e < model.spec.nevidence; e++)
	{
		const Evidence *ev = &model.spec.evidence[e];

		if (!ev->present)
			continue;
		values[0] = CStringGetTextDatum(ev->name);
		values[1] = CStringGetTextDatum(!applies[e] ? "does not apply" :
										ev->kind == EV_SAME_GROUP ? "applies: registered together in one group (household)" :
										ev->kind == EV_SWAPPED ? "applies: the names agree only crosswise (given against family)" :
										"applies: same birth date and family name, different given names (twins?)");
		values[2] = Float8GetDatum(applies[e] ? ev->weight : 0.0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	values[0] = CStringGetTextDatum("total");
	values[1] = CStringGetTextDatum(psprintf("match probability %.6f", sp_fs_probability(total)));
	values[2] = Float8GetDatum(total);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

/* ------------------------------------------------------------------------
 * sp.linkage_candidates(model text, left_rel regclass, right_rel regclass DEFAULT NULL)
 *   RETURNS jsonb
 *
 * What the blocking rules would produce, without scoring: candidate pairs
 * (each once) per rule and per record, the largest block, what splitting
 * did.  For sizing rules before running them on a whole registry.
 * ------------------------------------------------------------------------ */

PG_FUNCTION_INFO_V1(sp_linkage_candidates);

typedef struct CountState
{
	double		per_rule[MAX_RULES];
} CountState;

static void
count_pair(int64 i, int64 j, int rule, bool first, void *arg)
{
	((CountState *) arg)->per_rule[rule]++;
}

Datum
sp_linkage_candidates(PG_FUNCTION_ARGS)
{
	Model		model;
	Records		ra,
				rb;
	Oid			right;
	bool		dedup;
	CountState	cs;
	Progress	progress;
	BlockStats	stats[MAX_RULES];
	StringInfoData js;
	double		total = 0;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name and left relation are required")));
	right = arg_regclass(fcinfo, 2);
	dedup = !OidIsValid(right);
	load_model(text_to_cstring(PG_GETARG_TEXT_PP(0)), &model);
	load_records(&model.spec, PG_GETARG_OID(1), &ra, "left", NULL);
	if (dedup)
		rb = ra;
	else
		load_records(&model.spec, right, &rb, "right", NULL);
	refine_keys(&model.spec, &ra, &rb, dedup, stats);

	memset(&cs, 0, sizeof(cs));
	INSTR_TIME_SET_CURRENT(progress.start);
	progress.last = progress.start;
	progress.estimate = estimate_pairs(&model.spec, &ra, &rb, dedup);
	progress.done = 0;
	progress.what = "linkage_candidates";
	if (progress.estimate > (double) linkage_max_pairs_millions * 1e6)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("blocking rules produce about %.0f candidate pairs, more than sp_registry.linkage_max_pairs_millions (%d million)",
						progress.estimate, linkage_max_pairs_millions),
				 errhint("Make the blocking rules more selective (add a key), or raise the limit.")));
	for_each_candidate(&model.spec, &ra, &rb, dedup, true, count_pair, &cs, &progress);

	initStringInfo(&js);
	appendStringInfoString(&js, "{\"rules\": [");
	for (int k = 0; k < model.spec.nrules; k++)
	{
		KeyedRecord *kr;
		int64		m,
					largest = 0;

		total += cs.per_rule[k];
		if (model.spec.rules[k].present)
		{
			kr = sorted_rule_keys(&model.spec, &ra, &rb, dedup, k, &m);
			for (int64 s = 0, e; s < m; s = e)
			{
				e = s;
				while (e < m && kr[e].key == kr[s].key)
					e++;
				largest = Max(largest, e - s);
			}
			free_rule_keys(kr, &ra, &rb, dedup);
		}
		appendStringInfo(&js, "%s{\"rule\": %d, \"keys\": ", k ? ", " : "", k + 1);
		escape_json(&js, model.spec.rules[k].text);
		appendStringInfo(&js, ", \"present\": %s, \"new_pairs\": %.0f, \"largest_block\": %lld, "
						 "\"refined_blocks\": %lld, \"blocks_left_out\": %lld, \"records_left_out\": %lld, "
						 "\"pairs_left_out\": %.0f}",
						 model.spec.rules[k].present ? "true" : "false", cs.per_rule[k], (long long) largest,
						 (long long) stats[k].refined_blocks, (long long) stats[k].dropped_blocks,
						 (long long) stats[k].dropped_records, stats[k].dropped_pairs);
	}
	appendStringInfo(&js, "], \"records\": %lld, \"right_records\": %lld, \"candidate_pairs\": %.0f, "
					 "\"pairs_per_record\": %.4g}",
					 (long long) ra.n, (long long) (dedup ? 0 : rb.n), total,
					 total / Max((double) (ra.n + (dedup ? 0 : rb.n)), 1.0));
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(js.data)));
}

/* Settings, registered from _PG_init. */
void
sp_linkage_init(void)
{
	DefineCustomIntVariable("sp_registry.linkage_memory_mb",
							"Most memory record linkage may use for one call, in MB.",
							"Records, their prepared values and blocking keys must fit; beyond it the call stops with an error instead of exhausting the server.",
							&linkage_memory_mb,
							2048, 16, 1024 * 1024,
							PGC_USERSET, GUC_UNIT_MB,
							NULL, NULL, NULL);
	DefineCustomIntVariable("sp_registry.linkage_max_pairs_millions",
							"Most candidate pairs, in millions, that blocking may produce for one call.",
							"Loose blocking rules can produce billions of pairs; the call refuses to start beyond this estimate.",
							&linkage_max_pairs_millions,
							2000, 1, 1000000,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
}

/* ------------------------------------------------------------------------
 * sp_internal.clusters(left_ids bigint[], right_ids bigint[])
 *   RETURNS TABLE (cluster_id bigint, person_id bigint)
 * ------------------------------------------------------------------------ */

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a,
				y = *(const int64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

static int64 *
int8_array(ArrayType *a, int *n, const char *which)
{
	Datum	   *elems;
	bool	   *nulls;
	int64	   *out;

	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", which)));
	deconstruct_array(a, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, n);
	out = palloc(sizeof(int64) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", which)));
		out[i] = DatumGetInt64(elems[i]);
	}
	return out;
}

PG_FUNCTION_INFO_V1(sp_clusters);

/*
 * Everything is palloc'd in a context of its own, deleted at the end and,
 * on an error (a cancel, a full tuplestore), with the caller's context: no
 * memory outlives the call however it ends.  Any bigint is a valid id, so
 * no id value marks anything: components are numbered by index.
 */
Datum
sp_clusters(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext work = AllocSetContextCreate(CurrentMemoryContext, "sp_clusters", ALLOCSET_DEFAULT_SIZES);
	MemoryContext outer = MemoryContextSwitchTo(work);
	int			nl,
				nr;
	int64		nids = 0;
	int64	   *left = int8_array(PG_GETARG_ARRAYTYPE_P(0), &nl, "left_ids");
	int64	   *right = int8_array(PG_GETARG_ARRAYTYPE_P(1), &nr, "right_ids");
	int64	   *ids;
	int64	   *component_min;	/* smallest id of each component, by root index */
	bool	   *component_seen;
	sp_union_find uf;

	if (nl != nr)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("left_ids and right_ids must have the same length, got %d and %d", nl, nr)));
	MemoryContextSwitchTo(outer);
	InitMaterializedSRF(fcinfo, 0);
	MemoryContextSwitchTo(work);

	/* dense numbering of the ids that occur */
	ids = MemoryContextAllocHuge(work, sizeof(int64) * Max(2 * (size_t) nl, 1));
	memcpy(ids, left, sizeof(int64) * nl);
	memcpy(ids + nl, right, sizeof(int64) * nr);
	qsort(ids, 2 * (size_t) nl, sizeof(int64), cmp_int64);
	for (int64 i = 0; i < 2 * (int64) nl; i++)
		if (nids == 0 || ids[nids - 1] != ids[i])
			ids[nids++] = ids[i];

	sp_uf_init_in(&uf, (size_t) nids, MemoryContextAllocHuge(work, sp_uf_bytes((size_t) nids)));
	for (int i = 0; i < nl; i++)
	{
		int64	   *a = bsearch(&left[i], ids, nids, sizeof(int64), cmp_int64);
		int64	   *b = bsearch(&right[i], ids, nids, sizeof(int64), cmp_int64);

		if ((i & 65535) == 0)
			CHECK_FOR_INTERRUPTS();
		Assert(a && b);
		sp_uf_union(&uf, (uint32_t) (a - ids), (uint32_t) (b - ids));
	}
	/* ids are sorted, so the first member seen of each component is its smallest id */
	component_min = MemoryContextAllocHuge(work, sizeof(int64) * Max(nids, 1));
	component_seen = MemoryContextAllocExtended(work, sizeof(bool) * Max(nids, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (int64 i = 0; i < nids; i++)
	{
		uint32_t	r = sp_uf_find(&uf, (uint32_t) i);
		Datum		values[2];
		bool		nulls[2] = {false, false};

		if ((i & 65535) == 0)
			CHECK_FOR_INTERRUPTS();
		if (!component_seen[r])
		{
			component_seen[r] = true;
			component_min[r] = ids[i];
		}
		values[0] = Int64GetDatum(component_min[r]);
		values[1] = Int64GetDatum(ids[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextSwitchTo(outer);
	MemoryContextDelete(work);
	return (Datum) 0;
}

/* ------------------------------------------------------------------------
 * sp_internal.score_pairs(model text, rel regclass, left_ids bigint[], right_ids bigint[])
 *   RETURNS TABLE (left_id bigint, right_id bigint, match_weight float8, match_probability float8)
 *
 * Scores given pairs of one relation, for checks of a few new records
 * against candidates found by index lookups.  Only those records are read,
 * so term frequencies are unknown and exact agreement weighs its plain m/u.
 * ------------------------------------------------------------------------ */

PG_FUNCTION_INFO_V1(sp_score_pairs);

static int64
index_of_id(const Records *r, const int64 *sorted_ids, const int64 *order, int64 id)
{
	int64		lo = 0,
				hi = r->n - 1;

	while (lo <= hi)
	{
		int64		mid = (lo + hi) / 2;

		if (sorted_ids[mid] == id)
			return order[mid];
		if (sorted_ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

Datum
sp_score_pairs(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Model		model;
	Records		r;
	int			nl,
				nr;
	int64	   *left,
			   *right,
			   *all,
			   *sorted,
			   *order;
	Datum	   *d;
	CmpWork    *work = palloc0(sizeof(CmpWork));

	for (int k = 0; k < 4; k++)
		if (PG_ARGISNULL(k))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("every argument of sp_internal.score_pairs is required")));
	left = int8_array(PG_GETARG_ARRAYTYPE_P(2), &nl, "left_ids");
	right = int8_array(PG_GETARG_ARRAYTYPE_P(3), &nr, "right_ids");
	if (nl != nr)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("left_ids and right_ids must have the same length, got %d and %d", nl, nr)));
	InitMaterializedSRF(fcinfo, 0);
	if (nl == 0)
		return (Datum) 0;
	load_model(text_to_cstring(PG_GETARG_TEXT_PP(0)), &model);
	if (!model.trained)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("linkage model \"%s\" has not been trained", model.name)));

	all = palloc(sizeof(int64) * 2 * nl);
	memcpy(all, left, sizeof(int64) * nl);
	memcpy(all + nl, right, sizeof(int64) * nl);
	d = palloc(sizeof(Datum) * 2 * nl);
	for (int i = 0; i < 2 * nl; i++)
		d[i] = Int64GetDatum(all[i]);
	load_records(&model.spec, PG_GETARG_OID(1), &r, "input",
				 construct_array(d, 2 * nl, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));

	load_stored_tf(&model, &r, PG_GETARG_OID(1));

	/* id -> record index */
	sorted = palloc(sizeof(int64) * Max(r.n, 1));
	order = palloc(sizeof(int64) * Max(r.n, 1));
	{
		KeyedRecord *kr = palloc(sizeof(KeyedRecord) * Max(r.n, 1));

		for (int64 i = 0; i < r.n; i++)
			kr[i] = (KeyedRecord) {(uint64) r.ids[i] ^ ((uint64) 1 << 63), (int32) i, 0, 0};
		qsort(kr, r.n, sizeof(KeyedRecord), cmp_keyed);
		for (int64 i = 0; i < r.n; i++)
		{
			sorted[i] = r.ids[kr[i].idx];
			order[i] = kr[i].idx;
		}
	}

	for (int k = 0; k < nl; k++)
	{
		int64		i = index_of_id(&r, sorted, order, left[k]);
		int64		j = index_of_id(&r, sorted, order, right[k]);
		sp_gamma	g[SP_FS_MAX_COMPARISONS];
		PairValues	pv;
		double		w;
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		if (i < 0 || j < 0 || i == j)
			continue;
		compare_records(&model.spec, &r, i, &r, j, g, &pv, work);
		w = pair_total(&model, &r, i, &r, j, g, &pv);
		values[0] = Int64GetDatum(left[k]);
		values[1] = Int64GetDatum(right[k]);
		values[2] = Float8GetDatum(w);
		values[3] = Float8GetDatum(sp_fs_probability(w));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
