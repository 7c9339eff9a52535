/*
 * pmt.c - proxy-means test models (sp.pmt_model) evaluated in C.
 *
 * A spec is parsed and validated against the variable catalogue once and
 * cached per backend, keyed by the row versions the parse read (see
 * active_model).  Households and their active members are
 * read as two household_id-ordered streams and merged in C, which derives
 * the member variables (size, children, elderly, dependency ratio,
 * disability, head's sex, age and education); attributes are read from
 * jsonb in C, without per-row SQL.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "sp_pmt.h"
#include "sp_registry.h"

PG_FUNCTION_INFO_V1(sp_pmt_validate_spec);
PG_FUNCTION_INFO_V1(sp_pmt_score);
PG_FUNCTION_INFO_V1(sp_pmt_explain);
PG_FUNCTION_INFO_V1(sp_pmt_evaluate_all);
PG_FUNCTION_INFO_V1(sp_pmt_evaluate_household);

/* Where a term's value comes from. */
typedef enum
{
	SRC_ATTRIBUTE,				/* household attributes ->> variable */
	SRC_HOUSEHOLD_SIZE,
	SRC_CHILDREN_UNDER_5,
	SRC_CHILDREN_UNDER_15,
	SRC_MEMBERS_OVER_65,
	SRC_DEPENDENCY_RATIO,
	SRC_SHARE_DISABLED,
	SRC_HEAD_FEMALE,
	SRC_HEAD_AGE,
	SRC_HEAD_EDUCATION
} Source;

static const struct
{
	const char *name;
	Source		source;
	bool		categorical;
	/* the values it can take, for bands: whole numbers? bounds (max < 0: none) */
	bool		integer;
	double		min;
	double		max;
}			derived[] =
{
	{"household_size", SRC_HOUSEHOLD_SIZE, false, true, 1, -1},
	{"children_under_5", SRC_CHILDREN_UNDER_5, false, true, 0, -1},
	{"children_under_15", SRC_CHILDREN_UNDER_15, false, true, 0, -1},
	{"members_over_65", SRC_MEMBERS_OVER_65, false, true, 0, -1},
	{"dependency_ratio", SRC_DEPENDENCY_RATIO, false, false, 0, -1},
	{"share_disabled", SRC_SHARE_DISABLED, false, false, 0, 1},
	{"head_female", SRC_HEAD_FEMALE, false, true, 0, 1},
	{"head_age", SRC_HEAD_AGE, false, true, 0, -1},
	{"head_education", SRC_HEAD_EDUCATION, true, false, 0, -1},
};

/*
 * A parsed model.  Its key is what the parse read: the sp.pmt_model row
 * version (xmin and ctid) and the sp.variable row versions of the
 * variables it looked up.  Version numbers are not such a key: a
 * rolled-back sp.create_pmt_model, or DROP and CREATE EXTENSION, hands the
 * same number to a different spec; and a catalogue edit changes what a spec
 * means without touching the model.  A row version is never re-used (an
 * update or a re-insert gets a new xmin or ctid), and the rows are read in
 * the caller's snapshot, so a hit is exactly what a fresh parse would give.
 */
typedef struct Pmt
{
	char		name[NAMEDATALEN];
	int			version;
	char	   *model_row;		/* "xmin/ctid" of the sp.pmt_model row */
	char	   *variable_rows;	/* "code/xmin/ctid,..." of the variables read; NULL if none */
	int			nvariables;
	Datum	   *variables;		/* their codes (text), for the lookup */
	MemoryContext cxt;			/* everything of this entry, the struct included */
	sp_pmt_model *model;
	Source		source[SP_PMT_MAX_TERMS];
	struct Pmt *next;
} Pmt;

/* One entry per model name: a stale entry is replaced, not kept beside. */
static Pmt *cache = NULL;

/*
 * Replaced entries: the function that looked one up may still hold it (a
 * nested call, however unlikely), so it is freed at the end of the
 * transaction rather than when it is replaced.
 */
static Pmt *retired = NULL;
static bool xact_callback_registered = false;

static void
spec_error(const char *field, const char *detail_fmt, const char *arg)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid PMT spec at \"%s\"", field),
			 errdetail(detail_fmt, arg ? arg : "")));
}

static double
num(JsonbValue *v, const char *field)
{
	if (v->type != jbvNumeric)
		spec_error(field, "Expected a number.", NULL);
	return sp_numeric_to_double(v->val.numeric);
}

static void
copy_name(char *dst, const char *src, const char *field)
{
	if (strlen(src) == 0 || strlen(src) >= SP_PMT_MAX_NAME)
		spec_error(field, "Names have 1 to 63 characters: \"%s\".", src);
	strcpy(dst, src);
}

static int
urban_flag(JsonbContainer *obj, const char *field)
{
	JsonbValue	v;

	if (!getKeyJsonValueFromContainer(obj, "urban", 5, &v) || v.type == jbvNull)
		return -1;
	if (v.type != jbvBool)
		spec_error(field, "\"urban\" is true, false or null.", NULL);
	return v.val.boolean ? 1 : 0;
}

/* Catalogue facts about one variable, read with SPI. */
typedef struct VarInfo
{
	bool		found;
	bool		categorical;
	bool		numeric;
	int			ncats;
	char	  **cats;
	/* for bands: whether values are whole numbers, and their bounds */
	bool		integer;
	bool		has_min;
	double		min;
	bool		has_max;
	double		max;
} VarInfo;

static VarInfo
lookup_variable(const char *code)
{
	VarInfo		vi = {false, false, false, 0, NULL, false, false, 0, false, 0};
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(code)};

	for (int i = 0; i < (int) lengthof(derived); i++)
		if (strcmp(derived[i].name, code) == 0)
		{
			vi.found = true;
			vi.categorical = derived[i].categorical;
			vi.numeric = !derived[i].categorical;
			vi.integer = derived[i].integer;
			vi.has_min = true;
			vi.min = derived[i].min;
			vi.has_max = derived[i].max >= 0;
			vi.max = derived[i].max;
			if (derived[i].source == SRC_HEAD_EDUCATION)
				code = "education_level";
			else
				return vi;
			args[0] = CStringGetTextDatum(code);
			break;
		}
	if (SPI_execute_with_args("SELECT value_type, categories, min_value::float8, max_value::float8 FROM sp.variable WHERE code OPERATOR(pg_catalog.=) $1 "
							  "AND entity OPERATOR(pg_catalog.=) CASE WHEN $1 OPERATOR(pg_catalog.=) 'education_level' THEN 'person' ELSE 'household' END",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading sp.variable failed");
	if (SPI_processed == 1)
	{
		char	   *type = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		bool		isnull;
		Datum		cats = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);

		Datum		lo,
					hi;
		bool		lonull,
					hinull;

		vi.found = true;
		vi.categorical = strcmp(type, "category") == 0;
		vi.numeric = strcmp(type, "integer") == 0 || strcmp(type, "numeric") == 0 || strcmp(type, "boolean") == 0;
		vi.integer = strcmp(type, "integer") == 0 || strcmp(type, "boolean") == 0;
		lo = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &lonull);
		hi = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &hinull);
		vi.has_min = !lonull || strcmp(type, "boolean") == 0;
		vi.min = lonull ? 0 : DatumGetFloat8(lo);
		vi.has_max = !hinull || strcmp(type, "boolean") == 0;
		vi.max = hinull ? 1 : DatumGetFloat8(hi);
		if (!isnull)
		{
			Datum	   *elems;
			bool	   *nulls;

			deconstruct_array(DatumGetArrayTypeP(cats), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &vi.ncats);
			vi.cats = palloc(sizeof(char *) * Max(vi.ncats, 1));
			for (int k = 0; k < vi.ncats; k++)
				vi.cats[k] = TextDatumGetCString(elems[k]);
		}
	}
	return vi;
}

static int
term_index(const sp_pmt_model *m, const char *variable)
{
	for (int t = 0; t < m->nterms; t++)
		if (strcmp(m->terms[t].variable, variable) == 0)
			return t;
	return -1;
}

/*
 * A scorecard term's bands: [{"min": 1, "max": 4, "points": 24}, ...] in
 * ascending order, checked against what the variable can take.
 */
static void
parse_bands(sp_pmt_term *term, JsonbValue *v, const VarInfo *vi, JsonbContainer *t, const char *field)
{
	char	   *bfield = psprintf("%s.bands", field);
	JsonbValue	x;
	int			n,
				bad;
	const char *msg;

	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		spec_error(bfield, "\"bands\" is an array of {\"min\", \"max\", \"points\"} in ascending order.", NULL);
	if (getKeyJsonValueFromContainer(t, "coefficient", 11, &x))
		spec_error(bfield, "A banded term gives points per band, not a coefficient.", NULL);
	if (getKeyJsonValueFromContainer(t, "transform", 9, &x))
		spec_error(bfield, "A banded term takes the value as it is: no transform.", NULL);
	n = (int) JsonContainerSize(v->val.binary.data);
	if (n < 1 || n > SP_PMT_MAX_BANDS)
		spec_error(bfield, "1 to 32 bands.", NULL);
	term->nbands = n;
	term->integer_bands = vi->integer;
	for (int b = 0; b < n; b++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(v->val.binary.data, b);
		char	   *ef = psprintf("%s[%d]", bfield, b);
		JsonbIterator *it;
		JsonbValue	k,
					c;
		JsonbIteratorToken tok;

		if (e->type != jbvBinary || !JsonContainerIsObject(e->val.binary.data))
			spec_error(ef, "A band is an object: {\"min\", \"max\", \"points\"}.", NULL);
		it = JsonbIteratorInit(e->val.binary.data);
		while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
		{
			char	   *key;

			if (tok != WJB_KEY)
				continue;
			key = pnstrdup(k.val.string.val, k.val.string.len);
			JsonbIteratorNext(&it, &c, true);
			if (strcmp(key, "min") == 0)
			{
				term->band_has_min[b] = 1;
				term->band_min[b] = num(&c, psprintf("%s.min", ef));
			}
			else if (strcmp(key, "max") == 0)
			{
				term->band_has_max[b] = 1;
				term->band_max[b] = num(&c, psprintf("%s.max", ef));
			}
			else if (strcmp(key, "points") == 0)
				term->band_points[b] = num(&c, psprintf("%s.points", ef));
			else
				spec_error(ef, "Unknown key \"%s\": a band has min, max and points.", key);
		}
		if (!getKeyJsonValueFromContainer(e->val.binary.data, "points", 6, &x))
			spec_error(psprintf("%s.points", ef), "A band gives its points.", NULL);
	}
	msg = sp_pmt_check_bands(term, vi->has_min, vi->min, vi->has_max, vi->max, &bad);
	if (msg != NULL)
		spec_error(bad >= 0 ? psprintf("%s[%d]", bfield, bad) : bfield, "%s", msg);
}

/*
 * Parse and validate a spec (see docs/targeting.md) into a model allocated
 * in cxt; fills source[] for each term.
 */
static sp_pmt_model *
parse_pmt_spec(Jsonb *jb, Source *source, MemoryContext cxt)
{
	sp_pmt_model *m = MemoryContextAllocZero(cxt, sizeof(sp_pmt_model));
	JsonbValue	v,
				arr;
	int			n;

	if (!JB_ROOT_IS_OBJECT(jb))
		spec_error("$", "A PMT spec is a JSON object with intercept, terms and cutoffs.", NULL);
	if (!getKeyJsonValueFromContainer(&jb->root, "intercept", 9, &v))
		spec_error("intercept", "The intercept is required.", NULL);
	m->intercept = num(&v, "intercept");

	if (getKeyJsonValueFromContainer(&jb->root, "scale", 5, &v))
	{
		JsonbValue	t,
					lo,
					hi;

		if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data) ||
			!getKeyJsonValueFromContainer(v.val.binary.data, "type", 4, &t) || t.type != jbvString)
			spec_error("scale", "\"scale\" is {\"type\": \"linear\"} or {\"type\": \"index_0_100\", \"min\": x, \"max\": y}.", NULL);
		if (t.val.string.len == 6 && strncmp(t.val.string.val, "linear", 6) == 0)
			m->index_scale = 0;
		else if (t.val.string.len == 11 && strncmp(t.val.string.val, "index_0_100", 11) == 0)
		{
			if (!getKeyJsonValueFromContainer(v.val.binary.data, "min", 3, &lo) ||
				!getKeyJsonValueFromContainer(v.val.binary.data, "max", 3, &hi))
				spec_error("scale", "The 0-100 index needs min and max of the linear score.", NULL);
			m->index_scale = 1;
			m->index_min = num(&lo, "scale.min");
			m->index_max = num(&hi, "scale.max");
			if (!(m->index_max > m->index_min))
				spec_error("scale", "max must be greater than min.", NULL);
		}
		else
			spec_error("scale.type", "Use linear or index_0_100.", NULL);
	}

	if (!getKeyJsonValueFromContainer(&jb->root, "terms", 5, &arr) || arr.type != jbvBinary ||
		!JsonContainerIsArray(arr.val.binary.data))
		spec_error("terms", "\"terms\" is an array of terms.", NULL);
	n = (int) JsonContainerSize(arr.val.binary.data);
	if (n > SP_PMT_MAX_TERMS)
		spec_error("terms", "At most 64 terms.", NULL);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	for (int i = 0; i < n; i++)
	{
		JsonbValue *t = getIthJsonbValueFromContainer(arr.val.binary.data, i);
		sp_pmt_term *term = &m->terms[i];
		char	   *field = psprintf("terms[%d]", i);
		char	   *var;
		VarInfo		vi;

		if (t->type != jbvBinary || !JsonContainerIsObject(t->val.binary.data))
			spec_error(field, "Each term is an object.", NULL);
		if (!getKeyJsonValueFromContainer(t->val.binary.data, "variable", 8, &v) || v.type != jbvString)
			spec_error(field, "A term names its \"variable\".", NULL);
		var = pnstrdup(v.val.string.val, v.val.string.len);
		copy_name(term->variable, var, psprintf("%s.variable", field));
		if (term_index(m, var) >= 0 && term_index(m, var) < i)
			spec_error(psprintf("%s.variable", field), "Variable \"%s\" has two terms.", var);
		m->nterms = i + 1;

		vi = lookup_variable(var);
		if (!vi.found)
			spec_error(psprintf("%s.variable", field),
					   "Unknown variable \"%s\": not a household variable in sp.variable nor a derived member variable.", var);
		source[i] = SRC_ATTRIBUTE;
		for (int k = 0; k < (int) lengthof(derived); k++)
			if (strcmp(derived[k].name, var) == 0)
				source[i] = derived[k].source;

		if (getKeyJsonValueFromContainer(t->val.binary.data, "categories", 10, &v))
		{
			JsonbIterator *it;
			JsonbValue	k,
						c;
			JsonbIteratorToken tok;

			if (!vi.categorical)
				spec_error(psprintf("%s.categories", field), "Variable \"%s\" is not a category variable.", var);
			if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
				spec_error(psprintf("%s.categories", field), "\"categories\" maps category to coefficient.", NULL);
			term->categorical = 1;
			it = JsonbIteratorInit(v.val.binary.data);
			while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
			{
				char	   *cat;
				bool		known = vi.ncats == 0;

				if (tok != WJB_KEY)
					continue;
				cat = pnstrdup(k.val.string.val, k.val.string.len);
				JsonbIteratorNext(&it, &c, true);
				for (int q = 0; q < vi.ncats; q++)
					if (strcmp(vi.cats[q], cat) == 0)
						known = true;
				if (!known)
					spec_error(psprintf("%s.categories", field),
							   psprintf("Category \"%%s\" is not among the categories of \"%s\".", var), cat);
				if (term->ncategories >= SP_PMT_MAX_CATEGORIES)
					spec_error(psprintf("%s.categories", field), "At most 32 categories per term.", NULL);
				copy_name(term->categories[term->ncategories], cat, psprintf("%s.categories", field));
				term->category_coefficients[term->ncategories++] = num(&c, psprintf("%s.categories.%s", field, cat));
			}
		}
		else
		{
			if (vi.categorical)
				spec_error(psprintf("%s.categories", field),
						   "Variable \"%s\" is a category variable: give \"categories\" with coefficients.", var);
			if (!vi.numeric)
				spec_error(psprintf("%s.variable", field),
						   "Variable \"%s\" is neither a number, a boolean nor a category: a PMT term cannot use it.", var);
			if (getKeyJsonValueFromContainer(t->val.binary.data, "bands", 5, &v))
				parse_bands(term, &v, &vi, t->val.binary.data, field);
			else if (!getKeyJsonValueFromContainer(t->val.binary.data, "coefficient", 11, &v))
				spec_error(psprintf("%s.coefficient", field), "A numeric term needs a coefficient (or bands of points).", NULL);
			else
				term->coefficient = num(&v, psprintf("%s.coefficient", field));
			if (getKeyJsonValueFromContainer(t->val.binary.data, "transform", 9, &v))
			{
				char	   *tr = v.type == jbvString ? pnstrdup(v.val.string.val, v.val.string.len) : "";

				if (strcmp(tr, "none") == 0)
					term->transform = SP_PMT_NONE;
				else if (strcmp(tr, "log") == 0)
					term->transform = SP_PMT_LOG;
				else if (strcmp(tr, "log1p") == 0)
					term->transform = SP_PMT_LOG1P;
				else if (strcmp(tr, "square") == 0)
					term->transform = SP_PMT_SQUARE;
				else if (strcmp(tr, "per_capita") == 0)
					term->transform = SP_PMT_PER_CAPITA;
				else
					spec_error(psprintf("%s.transform", field), "Use none, log, log1p, square or per_capita.", NULL);
			}
		}
		if (getKeyJsonValueFromContainer(t->val.binary.data, "missing", 7, &v))
		{
			JsonbValue	imp;

			if (v.type == jbvString && v.val.string.len == 4 && strncmp(v.val.string.val, "zero", 4) == 0)
				term->missing = SP_PMT_MISSING_ZERO;
			else if (v.type == jbvString && v.val.string.len == 4 && strncmp(v.val.string.val, "fail", 4) == 0)
				term->missing = SP_PMT_MISSING_FAIL;
			else if (v.type == jbvBinary && JsonContainerIsObject(v.val.binary.data) &&
					 getKeyJsonValueFromContainer(v.val.binary.data, "impute", 6, &imp) && !term->categorical)
			{
				term->missing = SP_PMT_MISSING_IMPUTE;
				term->impute = num(&imp, psprintf("%s.missing.impute", field));
			}
			else
				spec_error(psprintf("%s.missing", field), "Use \"zero\", \"fail\" or {\"impute\": number} (numeric terms).", NULL);
			if (term->missing == SP_PMT_MISSING_IMPUTE && term->nbands > 0 && sp_pmt_band_of(term, term->impute) < 0)
				spec_error(psprintf("%s.missing.impute", field), "The imputed value falls in no band.", NULL);
		}
	}
	SPI_finish();

	if (getKeyJsonValueFromContainer(&jb->root, "overrides", 9, &arr))
	{
		if (arr.type != jbvBinary || !JsonContainerIsArray(arr.val.binary.data))
			spec_error("overrides", "\"overrides\" is an array.", NULL);
		n = (int) JsonContainerSize(arr.val.binary.data);
		if (n > SP_PMT_MAX_OVERRIDES)
			spec_error("overrides", "At most 64 overrides.", NULL);
		for (int i = 0; i < n; i++)
		{
			JsonbValue *o = getIthJsonbValueFromContainer(arr.val.binary.data, i);
			sp_pmt_override *ov = &m->overrides[i];
			char	   *field = psprintf("overrides[%d]", i);
			JsonbIterator *it;
			JsonbValue	k,
						c;
			JsonbIteratorToken tok;

			if (o->type != jbvBinary || !JsonContainerIsObject(o->val.binary.data))
				spec_error(field, "Each override is an object.", NULL);
			if (getKeyJsonValueFromContainer(o->val.binary.data, "area_prefix", 11, &v))
			{
				if (v.type != jbvString || v.val.string.len >= SP_PMT_MAX_NAME)
					spec_error(psprintf("%s.area_prefix", field), "A P-code prefix string.", NULL);
				memcpy(ov->area_prefix, v.val.string.val, v.val.string.len);
			}
			ov->urban = urban_flag(o->val.binary.data, field);
			if (getKeyJsonValueFromContainer(o->val.binary.data, "intercept", 9, &v))
			{
				ov->has_intercept = 1;
				ov->intercept = num(&v, psprintf("%s.intercept", field));
			}
			if (getKeyJsonValueFromContainer(o->val.binary.data, "coefficients", 12, &v))
			{
				if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
					spec_error(psprintf("%s.coefficients", field), "Map of variable (or variable.category) to coefficient.", NULL);
				it = JsonbIteratorInit(v.val.binary.data);
				while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
				{
					char	   *key,
							   *dot;
					int			t,
								cat = -1;

					if (tok != WJB_KEY)
						continue;
					key = pnstrdup(k.val.string.val, k.val.string.len);
					JsonbIteratorNext(&it, &c, true);
					dot = strchr(key, '.');
					if (dot)
						*dot = '\0';
					t = term_index(m, key);
					if (t < 0)
						spec_error(psprintf("%s.coefficients", field), "No term for variable \"%s\".", key);
					if (dot)
					{
						if (!m->terms[t].categorical)
							spec_error(psprintf("%s.coefficients", field), "Variable \"%s\" has no categories.", key);
						for (int q = 0; q < m->terms[t].ncategories; q++)
							if (strcmp(m->terms[t].categories[q], dot + 1) == 0)
								cat = q;
						if (cat < 0)
							spec_error(psprintf("%s.coefficients", field),
									   "Category \"%s\" has no coefficient in the term; add it there first.", dot + 1);
					}
					else if (m->terms[t].categorical)
						spec_error(psprintf("%s.coefficients", field), "Name the category: \"%s.<category>\".", key);
					else if (m->terms[t].nbands > 0)
						spec_error(psprintf("%s.coefficients", field), "Variable \"%s\" is banded: it has points, not a coefficient.", key);
					if (ov->nterms >= SP_PMT_MAX_TERMS)
						spec_error(field, "Too many coefficients in one override.", NULL);
					ov->term[ov->nterms] = t;
					ov->category[ov->nterms] = cat;
					ov->coefficient[ov->nterms++] = num(&c, psprintf("%s.coefficients.%s", field, key));
				}
			}
		}
		m->noverrides = n;
	}

	if (getKeyJsonValueFromContainer(&jb->root, "likelihood", 10, &arr))
	{
		if (arr.type != jbvBinary || !JsonContainerIsArray(arr.val.binary.data) || JsonContainerSize(arr.val.binary.data) == 0)
			spec_error("likelihood", "\"likelihood\" is an array of {\"min\": score, \"likelihood\": 0 to 1}, scores ascending.", NULL);
		n = (int) JsonContainerSize(arr.val.binary.data);
		if (n > SP_PMT_MAX_BANDS)
			spec_error("likelihood", "At most 32 rows.", NULL);
		for (int i = 0; i < n; i++)
		{
			JsonbValue *o = getIthJsonbValueFromContainer(arr.val.binary.data, i);
			char	   *field = psprintf("likelihood[%d]", i);

			if (o->type != jbvBinary || !JsonContainerIsObject(o->val.binary.data) ||
				!getKeyJsonValueFromContainer(o->val.binary.data, "min", 3, &v))
				spec_error(field, "Each row is {\"min\": score, \"likelihood\": 0 to 1}.", NULL);
			m->likelihood_min[i] = num(&v, psprintf("%s.min", field));
			if (!isfinite(m->likelihood_min[i]))
				spec_error(psprintf("%s.min", field), "A finite score.", NULL);
			if (i > 0 && !(m->likelihood_min[i] > m->likelihood_min[i - 1]))
				spec_error(psprintf("%s.min", field), "Rows are in ascending order of score, each beginning after the one before.", NULL);
			if (!getKeyJsonValueFromContainer(o->val.binary.data, "likelihood", 10, &v))
				spec_error(psprintf("%s.likelihood", field), "Each row gives its likelihood.", NULL);
			m->likelihood[i] = num(&v, psprintf("%s.likelihood", field));
			if (!(m->likelihood[i] >= 0 && m->likelihood[i] <= 1))
				spec_error(psprintf("%s.likelihood", field), "A likelihood is from 0 to 1.", NULL);
		}
		m->nlikelihood = n;
	}

	if (!getKeyJsonValueFromContainer(&jb->root, "cutoffs", 7, &arr) || arr.type != jbvBinary ||
		!JsonContainerIsArray(arr.val.binary.data) || JsonContainerSize(arr.val.binary.data) == 0)
		spec_error("cutoffs", "At least one cut-off: [{\"area_prefix\": \"\", \"value\": x}].", NULL);
	n = (int) JsonContainerSize(arr.val.binary.data);
	if (n > SP_PMT_MAX_OVERRIDES)
		spec_error("cutoffs", "At most 64 cut-offs.", NULL);
	for (int i = 0; i < n; i++)
	{
		JsonbValue *o = getIthJsonbValueFromContainer(arr.val.binary.data, i);
		sp_pmt_cutoff *co = &m->cutoffs[i];
		char	   *field = psprintf("cutoffs[%d]", i);

		if (o->type != jbvBinary || !JsonContainerIsObject(o->val.binary.data))
			spec_error(field, "Each cut-off is an object.", NULL);
		if (getKeyJsonValueFromContainer(o->val.binary.data, "area_prefix", 11, &v))
		{
			if (v.type != jbvString || v.val.string.len >= SP_PMT_MAX_NAME)
				spec_error(psprintf("%s.area_prefix", field), "A P-code prefix string.", NULL);
			memcpy(co->area_prefix, v.val.string.val, v.val.string.len);
		}
		co->urban = urban_flag(o->val.binary.data, field);
		if (!getKeyJsonValueFromContainer(o->val.binary.data, "value", 5, &v))
			spec_error(psprintf("%s.value", field), "A cut-off has a value.", NULL);
		co->value = num(&v, psprintf("%s.value", field));
	}
	m->ncutoffs = n;
	return m;
}

/* sp_internal.pmt_validate_spec(spec jsonb) */
Datum
sp_pmt_validate_spec(PG_FUNCTION_ARGS)
{
	Source		source[SP_PMT_MAX_TERMS];

	(void) parse_pmt_spec(PG_GETARG_JSONB_P(0), source, CurrentMemoryContext);
	PG_RETURN_VOID();
}

static void
free_retired(XactEvent event, void *arg)
{
	while (retired)
	{
		Pmt		   *p = retired;

		retired = p->next;
		MemoryContextDelete(p->cxt);
	}
}

/* The catalogue codes a parsed model looked up (see lookup_variable). */
static void
note_variables(Pmt *p)
{
	p->variables = MemoryContextAlloc(p->cxt, sizeof(Datum) * Max(p->model->nterms, 1));
	p->nvariables = 0;
	for (int t = 0; t < p->model->nterms; t++)
	{
		const char *code = NULL;

		if (p->source[t] == SRC_ATTRIBUTE)
			code = p->model->terms[t].variable;
		else if (p->source[t] == SRC_HEAD_EDUCATION)
			code = "education_level";
		if (code)
		{
			MemoryContext old = MemoryContextSwitchTo(p->cxt);

			p->variables[p->nvariables++] = CStringGetTextDatum(code);
			MemoryContextSwitchTo(old);
		}
	}
}

/*
 * The active version of a model, parsed.  One query reads the model row and
 * the catalogue rows the cached entry for this name depends on; the entry is
 * used when both are the row versions it was parsed from, otherwise the
 * spec is parsed again and replaces it.
 */
static Pmt *
active_model(const char *name)
{
	static const char *const sql =
		"SELECT m.version, m.spec, m.xmin::pg_catalog.text OPERATOR(pg_catalog.||) '/' OPERATOR(pg_catalog.||) m.ctid::pg_catalog.text, "
		"       (SELECT pg_catalog.string_agg(v.code OPERATOR(pg_catalog.||) '/' OPERATOR(pg_catalog.||) v.xmin::pg_catalog.text "
		"                                     OPERATOR(pg_catalog.||) '/' OPERATOR(pg_catalog.||) v.ctid::pg_catalog.text, ',' "
		"                                     ORDER BY v.code COLLATE pg_catalog.\"C\") "
		"        FROM sp.variable v WHERE v.code OPERATOR(pg_catalog.=) ANY ($2)) "
		"FROM sp.pmt_model m WHERE m.name OPERATOR(pg_catalog.=) $1 AND m.status OPERATOR(pg_catalog.=) 'active'";
	Oid			argtypes[2] = {TEXTOID, TEXTARRAYOID};
	Datum		args[2];
	Pmt		   *p,
			  **link;
	Jsonb	   *spec;
	char	   *model_row;
	char	   *variable_rows;
	bool		isnull;
	int			version;
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext cxt;

	for (link = &cache; *link; link = &(*link)->next)
		if (strcmp((*link)->name, name) == 0)
			break;
	/* no model has a longer name (CHECK on sp.pmt_model): never echo a megabyte back */
	if (strlen(name) > 63)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("PMT model \"%.*s...\" has no active version",
						pg_mbcliplen(name, strlen(name), 63), name),
				 errdetail("Model names have at most 63 characters; this one has %zu bytes.", strlen(name))));
	args[0] = CStringGetTextDatum(name);
	args[1] = PointerGetDatum(*link && (*link)->nvariables > 0
							  ? construct_array((*link)->variables, (*link)->nvariables, TEXTOID, -1, false, TYPALIGN_INT)
							  : construct_empty_array(TEXTOID));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(sql, 2, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading sp.pmt_model failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("PMT model \"%s\" has no active version", name),
				 errhint("Create it with sp.create_pmt_model and activate it with sp.activate_pmt_model.")));
	version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	model_row = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	variable_rows = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);
	p = *link;
	if (p && strcmp(p->model_row, model_row) == 0 &&
		(p->variable_rows == NULL ? variable_rows == NULL
		 : variable_rows != NULL && strcmp(p->variable_rows, variable_rows) == 0))
	{
		SPI_finish();
		return p;
	}
	{
		/* copy the spec out of SPI memory before SPI_finish frees it */
		MemoryContext spi = MemoryContextSwitchTo(outer);

		spec = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		model_row = pstrdup(model_row);
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();

	/*
	 * Parsed in a context of this call: an invalid spec raises and leaves
	 * nothing behind.  Only a complete entry moves to CacheMemoryContext.
	 */
	cxt = AllocSetContextCreate(outer, "PMT model", ALLOCSET_DEFAULT_SIZES);
	p = MemoryContextAllocZero(cxt, sizeof(Pmt));
	p->cxt = cxt;
	strlcpy(p->name, name, NAMEDATALEN);
	p->version = version;
	p->model_row = MemoryContextStrdup(cxt, model_row);
	p->model = parse_pmt_spec(spec, p->source, cxt);
	note_variables(p);

	/* the catalogue rows the parse read, in this same snapshot */
	if (p->nvariables > 0)
	{
		args[1] = PointerGetDatum(construct_array(p->variables, p->nvariables, TEXTOID, -1, false, TYPALIGN_INT));
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute_with_args(sql, 2, argtypes, args, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "reading sp.pmt_model failed");
		variable_rows = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);
		p->variable_rows = variable_rows ? MemoryContextStrdup(cxt, variable_rows) : NULL;
		SPI_finish();
	}

	if (!xact_callback_registered)
	{
		RegisterXactCallback(free_retired, NULL);
		xact_callback_registered = true;
	}
	MemoryContextSetParent(cxt, CacheMemoryContext);
	if (*link)
	{
		Pmt		   *old = *link;

		*link = old->next;
		old->next = retired;
		retired = old;
	}
	p->next = cache;
	cache = p;
	return p;
}

/*
 * Households and their active members are read as two streams in
 * household_id order and merged here: member variables cost one pass over
 * sp.person, and batch scoring, sp.pmt_score and sp.pmt_explain share one
 * definition of every member-derived variable (sp.household_profile is the
 * same definitions in SQL; a regression test checks the two agree).
 */
typedef struct HouseholdRow
{
	int64		household_id;
	char	   *area;
	Jsonb	   *attributes;
	double		size,
				under5,
				under15,
				over65,
				working,
				disabled,
				head_age;
	bool		head_age_null;
	char	   *head_sex;
	char	   *head_education;
} HouseholdRow;

typedef struct Stream
{
	Portal		portal;
	SPITupleTable *tuptable;
	uint64		n;
	uint64		pos;
	bool		done;
} Stream;

typedef enum
{
	READ_ALL,					/* every active household */
	READ_AREA,					/* active households under a P-code prefix */
	READ_ONE					/* one household, whatever its status */
} ReadMode;

typedef struct Reader
{
	Stream		hs;
	Stream		ps;
	int			ty,
				tm,
				td;				/* today */
	DateADT		born_by_65,
				born_by_15,
				born_by_5;		/* age >= N iff born on or before born_by_N */
} Reader;

static HeapTuple
stream_peek(Stream *s)
{
	if (s->done)
		return NULL;
	if (s->tuptable == NULL || s->pos >= s->n)
	{
		if (s->tuptable)
			SPI_freetuptable(s->tuptable);
		SPI_cursor_fetch(s->portal, true, 10000);
		s->tuptable = SPI_tuptable;
		s->n = SPI_processed;
		s->pos = 0;
		if (s->n == 0)
		{
			s->done = true;
			return NULL;
		}
	}
	return s->tuptable->vals[s->pos];
}

/* The last birth date of someone aged at least `years` today. */
static DateADT
born_by(const Reader *rd, int years)
{
	int			y = rd->ty - years;
	int			d = rd->td;

	/* 29 February of a year that has none: the 28th */
	if (rd->tm == 2 && d == 29 && !isleap(y))
		d = 28;
	return date2j(y, rd->tm, d) - POSTGRES_EPOCH_JDATE;
}

#define AREA_FILTER \
	"h.admin_area_code OPERATOR(pg_catalog.~~) " \
	"(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace($1, '\\', '\\\\'), '%', '\\%'), '_', '\\_') OPERATOR(pg_catalog.||) '%')"
#define PERSON_COLUMNS \
	"SELECT p.household_id, p.sex, p.relationship_to_head OPERATOR(pg_catalog.=) 'head', p.birth_date, " \
	"       p.attributes OPERATOR(pg_catalog.->>) 'disability', p.attributes OPERATOR(pg_catalog.->>) 'education_level' "

/* Opens the two streams inside an SPI connection. */
static void
reader_open(Reader *rd, ReadMode mode, Datum arg)
{
	static const char *const household_sql[] = {
		"SELECT h.household_id, h.admin_area_code, h.attributes FROM sp.household h "
		"WHERE h.status OPERATOR(pg_catalog.=) 'active' AND $1 IS NULL ORDER BY h.household_id",
		"SELECT h.household_id, h.admin_area_code, h.attributes FROM sp.household h "
		"WHERE h.status OPERATOR(pg_catalog.=) 'active' AND " AREA_FILTER " ORDER BY h.household_id",
		"SELECT h.household_id, h.admin_area_code, h.attributes FROM sp.household h "
		"WHERE h.household_id OPERATOR(pg_catalog.=) $1",
	};
	static const char *const person_sql[] = {
		PERSON_COLUMNS "FROM sp.person p WHERE p.status OPERATOR(pg_catalog.=) 'active' AND $1 IS NULL "
		"ORDER BY p.household_id",
		PERSON_COLUMNS "FROM sp.person p JOIN sp.household h ON h.household_id OPERATOR(pg_catalog.=) p.household_id "
		"WHERE p.status OPERATOR(pg_catalog.=) 'active' AND h.status OPERATOR(pg_catalog.=) 'active' AND " AREA_FILTER
		" ORDER BY p.household_id",
		/* status tested after the index lookup (see sp.household_profile) */
		PERSON_COLUMNS "FROM sp.person p WHERE p.household_id OPERATOR(pg_catalog.=) $1 "
		"AND (p.status OPERATOR(pg_catalog.=) 'active') IS TRUE",
	};
	Oid			argtypes[1] = {mode == READ_ONE ? INT8OID : TEXTOID};
	Datum		args[1] = {arg};
	char		argnulls[1] = {mode == READ_ALL ? 'n' : ' '};

	memset(rd, 0, sizeof(*rd));
	j2date(GetSQLCurrentDate() + POSTGRES_EPOCH_JDATE, &rd->ty, &rd->tm, &rd->td);
	rd->born_by_65 = born_by(rd, 65);
	rd->born_by_15 = born_by(rd, 15);
	rd->born_by_5 = born_by(rd, 5);
	rd->hs.portal = SPI_cursor_open_with_args(NULL, household_sql[mode], 1, argtypes, args, argnulls,
											  true, CURSOR_OPT_NO_SCROLL);
	rd->ps.portal = SPI_cursor_open_with_args(NULL, person_sql[mode], 1, argtypes, args, argnulls,
											  true, CURSOR_OPT_NO_SCROLL);
}

static void
reader_close(Reader *rd)
{
	SPI_cursor_close(rd->hs.portal);
	SPI_cursor_close(rd->ps.portal);
}

/*
 * The next household with its member variables, allocated in the current
 * memory context; false at the end.
 */
static bool
reader_next(Reader *rd, HouseholdRow *r)
{
	HeapTuple	ht = stream_peek(&rd->hs);
	Datum		hv[3];
	bool		hn[3];

	if (ht == NULL)
		return false;
	heap_deform_tuple(ht, rd->hs.tuptable->tupdesc, hv, hn);
	memset(r, 0, sizeof(*r));
	r->household_id = DatumGetInt64(hv[0]);
	r->area = TextDatumGetCString(hv[1]);
	r->attributes = DatumGetJsonbP(hv[2]);
	r->head_age_null = true;
	rd->hs.pos++;

	/* the members of this household; persons of households not selected are skipped */
	for (;;)
	{
		HeapTuple	pt = stream_peek(&rd->ps);
		Datum		pv[6];
		bool		pn[6];
		int64		hid;
		bool		head;
		DateADT		bd = 0;
		bool		known_age;

		if (pt == NULL)
			break;
		/* the household id first: most persons of a partial read are skipped */
		hid = DatumGetInt64(SPI_getbinval(pt, rd->ps.tuptable->tupdesc, 1, &pn[0]));
		if (hid > r->household_id)
			break;
		rd->ps.pos++;
		if (hid < r->household_id)
			continue;
		heap_deform_tuple(pt, rd->ps.tuptable->tupdesc, pv, pn);
		head = !pn[2] && DatumGetBool(pv[2]);
		known_age = !pn[3] && !DATE_NOT_FINITE(DatumGetDateADT(pv[3]));
		if (known_age)
			bd = DatumGetDateADT(pv[3]);
		r->size++;
		if (known_age)
		{
			/* ages by comparing dates: no calendar arithmetic per member */
			if (bd > rd->born_by_5)
				r->under5++;
			if (bd > rd->born_by_15)
				r->under15++;
			if (bd <= rd->born_by_65)
				r->over65++;
			if (bd <= rd->born_by_15 && bd > rd->born_by_65)
				r->working++;
		}
		/* text compared in place: no output-function call per member */
		if (!pn[4])
		{
			text	   *t = DatumGetTextPP(pv[4]);

			if (VARSIZE_ANY_EXHDR(t) == 4 && memcmp(VARDATA_ANY(t), "true", 4) == 0)
				r->disabled++;
		}
		if (head)
		{
			r->head_sex = pn[1] ? NULL : TextDatumGetCString(pv[1]);
			r->head_education = pn[5] ? NULL : TextDatumGetCString(pv[5]);
			if (known_age)
			{
				int			y,
							m,
							d;

				j2date(bd + POSTGRES_EPOCH_JDATE, &y, &m, &d);
				r->head_age = rd->ty - y - ((rd->tm < m || (rd->tm == m && rd->td < d)) ? 1 : 0);
				r->head_age_null = false;
			}
		}
	}
	return true;
}

/* Fill the evaluator's input from a household row; raw[] gets each value as text for explanations. */
static void
build_input(const Pmt *p, HouseholdRow *r, sp_pmt_input *in, char **raw)
{
	const sp_pmt_model *m = p->model;
	JsonbValue	v;

	memset(in, 0, sizeof(*in));
	in->area_code = r->area;
	in->urban = -1;
	if (getKeyJsonValueFromContainer(&r->attributes->root, "urban", 5, &v) && v.type == jbvBool)
		in->urban = v.val.boolean ? 1 : 0;
	in->household_size = r->size;

	for (int t = 0; t < m->nterms; t++)
	{
		const sp_pmt_term *term = &m->terms[t];
		double		x = 0;
		bool		present = true;

		if (raw)
			raw[t] = NULL;
		switch (p->source[t])
		{
			case SRC_ATTRIBUTE:
				present = false;
				if (getKeyJsonValueFromContainer(&r->attributes->root, term->variable, strlen(term->variable), &v))
				{
					if (term->categorical && v.type == jbvString)
					{
						in->category[t] = pnstrdup(v.val.string.val, v.val.string.len);
						present = true;
						if (raw)
							raw[t] = (char *) in->category[t];
					}
					else if (v.type == jbvNumeric)
					{
						x = sp_numeric_to_double(v.val.numeric);
						present = true;
					}
					else if (v.type == jbvBool)
					{
						x = v.val.boolean ? 1 : 0;
						present = true;
					}
				}
				break;
			case SRC_HOUSEHOLD_SIZE:
				x = r->size;
				break;
			case SRC_CHILDREN_UNDER_5:
				x = r->under5;
				break;
			case SRC_CHILDREN_UNDER_15:
				x = r->under15;
				break;
			case SRC_MEMBERS_OVER_65:
				x = r->over65;
				break;
			case SRC_DEPENDENCY_RATIO:
				/* dependants (under 15, 65 and over) per working-age member; all dependants when none works */
				x = (r->under15 + r->over65) / (r->working > 0 ? r->working : 1);
				break;
			case SRC_SHARE_DISABLED:
				present = r->size > 0;
				x = present ? r->disabled / r->size : 0;
				break;
			case SRC_HEAD_FEMALE:
				present = r->head_sex != NULL;
				x = present && strcmp(r->head_sex, "F") == 0 ? 1 : 0;
				break;
			case SRC_HEAD_AGE:
				present = !r->head_age_null;
				x = r->head_age;
				break;
			case SRC_HEAD_EDUCATION:
				present = r->head_education != NULL;
				in->category[t] = r->head_education;
				if (raw)
					raw[t] = r->head_education;
				break;
		}
		in->present[t] = present;
		in->value[t] = x;
		if (raw && present && !raw[t])
			raw[t] = psprintf("%g", x);
	}
}

static void
check_status(const Pmt *p, const sp_pmt_result *res, int64 household_id)
{
	if (res->status == SP_PMT_MISSING_VALUE)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("household %lld cannot be scored: %s is missing", (long long) household_id,
						p->model->terms[res->failed_term].variable),
				 errdetail("PMT model \"%s\" version %d requires it.", p->name, p->version)));
	if (res->status == SP_PMT_BAD_VALUE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("household %lld cannot be scored: %s of %s is undefined", (long long) household_id,
						sp_pmt_transform_name(p->model->terms[res->failed_term].transform),
						p->model->terms[res->failed_term].variable)));
}

/* Evaluate one household; raw values into raw[] when given. */
static void
score_one(const Pmt *p, int64 household_id, sp_pmt_result *res, char **raw)
{
	Reader		rd;
	HouseholdRow r;
	sp_pmt_input in;
	bool		found;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	reader_open(&rd, READ_ONE, Int64GetDatum(household_id));
	found = reader_next(&rd, &r);
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("household %lld does not exist", (long long) household_id)));
	build_input(p, &r, &in, raw);
	sp_pmt_evaluate(p->model, &in, res);
	reader_close(&rd);
	SPI_finish();
	check_status(p, res, household_id);
}

/* sp.pmt_score(model text, household_id bigint) returns float8 */
Datum
sp_pmt_score(PG_FUNCTION_ARGS)
{
	Pmt		   *p = active_model(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	sp_pmt_result *res = palloc(sizeof(sp_pmt_result));

	score_one(p, PG_GETARG_INT64(1), res, NULL);
	PG_RETURN_FLOAT8(res->score);
}

/*
 * sp_internal.pmt_evaluate_household(model text, household_id bigint,
 *   OUT version int, OUT score float8, OUT cutoff float8)
 * What sp.reassess_household records: the score and the cut-off that applies.
 */
Datum
sp_pmt_evaluate_household(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Pmt		   *p;
	sp_pmt_result *res = palloc(sizeof(sp_pmt_result));
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	p = active_model(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	score_one(p, PG_GETARG_INT64(1), res, NULL);
	values[0] = Int32GetDatum(p->version);
	values[1] = Float8GetDatum(res->score);
	values[2] = Float8GetDatum(res->cutoff);
	nulls[2] = !res->has_cutoff;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/* "1 to 4", "8 and more", "under 2": the band of a scorecard term in words. */
static char *
band_label(const sp_pmt_term *term, int b)
{
	int			last = b == term->nbands - 1;

	if (term->band_has_min[b] && term->band_has_max[b])
		return term->integer_bands || last ? psprintf("%g to %g", term->band_min[b], term->band_max[b])
			: psprintf("%g to under %g", term->band_min[b], term->band_max[b]);
	if (term->band_has_min[b])
		return psprintf("%g and more", term->band_min[b]);
	if (term->band_has_max[b])
		return term->integer_bands || last ? psprintf("up to %g", term->band_max[b]) : psprintf("under %g", term->band_max[b]);
	return pstrdup("any value");
}

/*
 * sp.pmt_explain(model text, household_id bigint)
 *   RETURNS TABLE (variable text, value text, coefficient float8, contribution float8, band text)
 * The contributions sum to the score.  Scorecard terms name the band that
 * applied (their coefficient is its points); a model with a likelihood
 * lookup adds a row with the likelihood of the score (contribution 0).
 */
Datum
sp_pmt_explain(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Pmt		   *p;
	sp_pmt_result *res = palloc(sizeof(sp_pmt_result));
	char	   *raw[SP_PMT_MAX_TERMS];
	Datum		values[5];
	bool		nulls[5];

	InitMaterializedSRF(fcinfo, 0);
	p = active_model(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	score_one(p, PG_GETARG_INT64(1), res, raw);

	memset(nulls, 0, sizeof(nulls));
	values[0] = CStringGetTextDatum("(intercept)");
	nulls[1] = true;
	nulls[2] = true;
	nulls[4] = true;
	values[3] = Float8GetDatum(res->intercept);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	for (int t = 0; t < p->model->nterms; t++)
	{
		memset(nulls, 0, sizeof(nulls));
		values[0] = CStringGetTextDatum(p->model->terms[t].variable);
		if (raw[t])
			values[1] = CStringGetTextDatum(raw[t]);
		else
			nulls[1] = true;
		values[2] = Float8GetDatum(res->coefficient[t]);
		values[3] = Float8GetDatum(res->contribution[t]);
		if (res->band[t] >= 0)
			values[4] = CStringGetTextDatum(band_label(&p->model->terms[t], res->band[t]));
		else
			nulls[4] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	if (res->clamp != 0)
	{
		memset(nulls, 0, sizeof(nulls));
		values[0] = CStringGetTextDatum("(clamped to 0-100)");
		nulls[1] = true;
		nulls[2] = true;
		nulls[4] = true;
		values[3] = Float8GetDatum(res->clamp);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	if (p->model->nlikelihood > 0)
	{
		int			i = res->likelihood_entry;
		const sp_pmt_model *m = p->model;

		memset(nulls, 0, sizeof(nulls));
		values[0] = CStringGetTextDatum("(poverty likelihood)");
		if (i >= 0)
		{
			values[1] = CStringGetTextDatum(psprintf("%g", res->likelihood));
			values[4] = CStringGetTextDatum(i < m->nlikelihood - 1
											? psprintf("score %g to under %g", m->likelihood_min[i], m->likelihood_min[i + 1])
											: psprintf("score %g and more", m->likelihood_min[i]));
		}
		else
		{
			nulls[1] = true;
			values[4] = CStringGetTextDatum(psprintf("score under %g: below the lookup", m->likelihood_min[0]));
		}
		nulls[2] = true;
		values[3] = Float8GetDatum(0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * sp_internal.pmt_evaluate_all(model text, only_area text)
 *   RETURNS TABLE (household_id bigint, version int, score float8, cutoff float8, problem text)
 *
 * Every active household (or those under a P-code prefix); a household that
 * cannot be scored has a NULL score and the reason.
 */
Datum
sp_pmt_evaluate_all(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Pmt		   *p;
	MemoryContext per_row;
	Reader		rd;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("PMT model name must not be NULL")));
	InitMaterializedSRF(fcinfo, 0);
	p = active_model(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	per_row = AllocSetContextCreate(CurrentMemoryContext, "pmt row", ALLOCSET_DEFAULT_SIZES);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	reader_open(&rd, PG_ARGISNULL(1) ? READ_ALL : READ_AREA, PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1));
	for (;;)
	{
		MemoryContext old;
		HouseholdRow r;
		sp_pmt_input in;
		sp_pmt_result res;
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(per_row);
		if (!reader_next(&rd, &r))
		{
			MemoryContextSwitchTo(old);
			break;
		}
		build_input(p, &r, &in, NULL);
		sp_pmt_evaluate(p->model, &in, &res);
		values[0] = Int64GetDatum(r.household_id);
		values[1] = Int32GetDatum(p->version);
		values[2] = Float8GetDatum(res.score);
		values[3] = Float8GetDatum(res.cutoff);
		nulls[3] = !res.has_cutoff;
		if (res.status == SP_PMT_OK)
			nulls[4] = true;
		else
		{
			nulls[2] = true;
			values[4] = CStringGetTextDatum(psprintf("%s: %s", p->model->terms[res.failed_term].variable,
													 res.status == SP_PMT_MISSING_VALUE ? "missing" : "undefined transform"));
		}
		MemoryContextSwitchTo(old);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextReset(per_row);
	}
	reader_close(&rd);
	SPI_finish();
	return (Datum) 0;
}
