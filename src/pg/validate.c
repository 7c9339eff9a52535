/*
 * validate.c - validation of registration documents, members, household
 * fields and questionnaire attributes against the catalogues.
 *
 * One validator for every entry point (registration, batch import, updates,
 * sp.validate_attributes), so the rules and messages cannot drift apart.
 * Problems are returned, not raised: a batch import rejects one document
 * without a subtransaction.  The catalogues (sp.variable,
 * sp.relationship_type, current sp.admin_area codes) are read once per call
 * with SPI; a batch of documents shares one read.
 *
 * The SPI queries qualify every function and operator, so a caller's
 * search_path cannot substitute its own.
 *
 * Field names are JSON paths with 0-based member indexes, e.g.
 * "members[2].birth_date" or "attributes.rooms".
 */
#include "postgres.h"

#include <stdlib.h>
#include <string.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "sp_date.h"
#include "sp_text.h"

PG_FUNCTION_INFO_V1(sp_registration_problems);
PG_FUNCTION_INFO_V1(sp_member_problem);
PG_FUNCTION_INFO_V1(sp_household_fields_problem);
PG_FUNCTION_INFO_V1(sp_attributes_problem);

#define MAX_NAME_CHARS		200
#define MAX_SOURCE_CHARS	200
#define MAX_TEXT_ATTR_CHARS	1000
#define MAX_MEMBERS			100
#define MAX_KEY_IN_MESSAGE	64

typedef enum
{
	VT_INTEGER,
	VT_NUMERIC,
	VT_BOOLEAN,
	VT_TEXT,
	VT_CATEGORY,
	VT_DATE
} ValueType;

typedef struct VarDef
{
	char	   *code;
	bool		person;			/* entity person (else household) */
	ValueType	type;
	int			ncats;
	char	  **cats;
	char	   *cats_text;		/* "a, b, c" for messages */
	Numeric		min;			/* NULL when unbounded */
	Numeric		max;
	bool		required;
} VarDef;

typedef struct Catalogue
{
	int			nvars;
	VarDef	   *vars;			/* sorted by code, C collation */
	int			nrels;
	char	  **rels;			/* sorted, C collation */
	int			nareas;
	char	  **areas;			/* current areas among those asked for, sorted */
	int			today_y;
	int			today_m;
	int			today_d;
} Catalogue;

typedef struct Problem
{
	const char *sqlstate;		/* NULL: no problem */
	char	   *field;
	char	   *message;
} Problem;

static const Problem NO_PROBLEM = {NULL, NULL, NULL};

static Problem
problem(const char *sqlstate, char *field, char *message)
{
	Problem		p;

	p.sqlstate = sqlstate;
	p.field = field;
	p.message = message;
	return p;
}

static char *
path(const char *prefix, const char *key)
{
	if (prefix == NULL || prefix[0] == '\0')
		return pstrdup(key);
	return psprintf("%s.%s", prefix, key);
}

/* A key as it may appear in a message: at most 64 characters. */
static char *
key_for_message(const char *s, int len)
{
	int			clip = pg_mbcharcliplen(s, len, MAX_KEY_IN_MESSAGE);

	return pnstrdup(s, clip);
}

static int
cmp_cstring_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool
in_sorted(char **arr, int n, const char *s)
{
	return n > 0 && bsearch(&s, arr, n, sizeof(char *), cmp_cstring_ptr) != NULL;
}

static int
cmp_var_key(const void *key, const void *elem)
{
	return strcmp((const char *) key, ((const VarDef *) elem)->code);
}

/* ------------------------------------------------------------------------
 * Catalogue loading
 * ------------------------------------------------------------------------ */

static char *
spi_text(HeapTuple tup, TupleDesc desc, int col, MemoryContext cxt)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	if (isnull)
		return NULL;
	return MemoryContextStrdup(cxt, TextDatumGetCString(d));
}

/* A numeric column copied out of SPI memory; NULL for SQL NULL. */
static Numeric
spi_numeric(HeapTuple tup, TupleDesc desc, int col, MemoryContext cxt)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);
	Numeric		n;
	Numeric		copy;

	if (isnull)
		return NULL;
	n = DatumGetNumeric(d);
	copy = (Numeric) MemoryContextAlloc(cxt, VARSIZE(n));
	memcpy(copy, n, VARSIZE(n));
	return copy;
}

static ValueType
parse_value_type(const char *s)
{
	if (strcmp(s, "integer") == 0)
		return VT_INTEGER;
	if (strcmp(s, "numeric") == 0)
		return VT_NUMERIC;
	if (strcmp(s, "boolean") == 0)
		return VT_BOOLEAN;
	if (strcmp(s, "category") == 0)
		return VT_CATEGORY;
	if (strcmp(s, "date") == 0)
		return VT_DATE;
	return VT_TEXT;
}

/*
 * Read the catalogues.  area_codes (may be NULL) lists the P-codes the
 * caller will ask about; only the current ones among them are loaded.
 */
static void
load_catalogue(Catalogue *cat, Datum area_codes, bool with_areas)
{
	MemoryContext outer = CurrentMemoryContext;
	int			ret;
	DateADT		today = GetSQLCurrentDate();

	memset(cat, 0, sizeof(*cat));
	j2date(today + POSTGRES_EPOCH_JDATE, &cat->today_y, &cat->today_m, &cat->today_d);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	ret = SPI_execute("SELECT code, entity, value_type, categories, min_value, max_value, required, "
					  "       pg_catalog.array_to_string(categories, ', ') "
					  "FROM sp.variable ORDER BY code COLLATE \"C\"", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "reading sp.variable failed: %s", SPI_result_code_string(ret));
	cat->nvars = (int) SPI_processed;
	cat->vars = MemoryContextAllocZero(outer, sizeof(VarDef) * Max(cat->nvars, 1));
	for (int i = 0; i < cat->nvars; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		VarDef	   *v = &cat->vars[i];
		bool		isnull;
		Datum		d;
		char	   *entity = spi_text(tup, desc, 2, outer);
		char	   *vtype = spi_text(tup, desc, 3, outer);

		v->code = spi_text(tup, desc, 1, outer);
		v->person = entity && strcmp(entity, "person") == 0;
		v->type = parse_value_type(vtype ? vtype : "text");

		d = SPI_getbinval(tup, desc, 4, &isnull);
		if (!isnull)
		{
			Datum	   *elems;
			bool	   *enulls;
			int			n;
			MemoryContext old = MemoryContextSwitchTo(outer);

			deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
							  &elems, &enulls, &n);
			v->cats = palloc(sizeof(char *) * Max(n, 1));
			v->ncats = 0;
			for (int k = 0; k < n; k++)
				if (!enulls[k])
					v->cats[v->ncats++] = TextDatumGetCString(elems[k]);
			MemoryContextSwitchTo(old);
		}
		v->min = spi_numeric(tup, desc, 5, outer);
		v->max = spi_numeric(tup, desc, 6, outer);
		d = SPI_getbinval(tup, desc, 7, &isnull);
		v->required = !isnull && DatumGetBool(d);
		v->cats_text = spi_text(tup, desc, 8, outer);
	}

	ret = SPI_execute("SELECT code FROM sp.relationship_type ORDER BY code COLLATE \"C\"", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "reading sp.relationship_type failed: %s", SPI_result_code_string(ret));
	cat->nrels = (int) SPI_processed;
	cat->rels = MemoryContextAlloc(outer, sizeof(char *) * Max(cat->nrels, 1));
	for (int i = 0; i < cat->nrels; i++)
		cat->rels[i] = spi_text(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, outer);

	if (with_areas)
	{
		Oid			argtypes[1] = {TEXTARRAYOID};
		Datum		args[1] = {area_codes};

		ret = SPI_execute_with_args("SELECT code FROM sp.admin_area "
									"WHERE code OPERATOR(pg_catalog.=) ANY ($1) "
									"  AND valid_from OPERATOR(pg_catalog.<=) current_date "
									"  AND (valid_to IS NULL OR valid_to OPERATOR(pg_catalog.>) current_date) "
									"ORDER BY code COLLATE \"C\"",
									1, argtypes, args, NULL, true, 0);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "reading sp.admin_area failed: %s", SPI_result_code_string(ret));
		cat->nareas = (int) SPI_processed;
		cat->areas = MemoryContextAlloc(outer, sizeof(char *) * Max(cat->nareas, 1));
		for (int i = 0; i < cat->nareas; i++)
			cat->areas[i] = spi_text(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, outer);
	}

	SPI_finish();
}

/* ------------------------------------------------------------------------
 * jsonb helpers
 * ------------------------------------------------------------------------ */

static const char *
json_type_name(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "string";
		case jbvNumeric:
			return "number";
		case jbvBool:
			return "boolean";
		case jbvArray:
			return "array";
		default:
			return JsonContainerIsArray(v->val.binary.data) ? "array" : "object";
	}
}

static bool
is_object(const JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
}

static bool
is_array(const JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data) &&
		!JsonContainerIsScalar(v->val.binary.data);
}

/* Value of key in an object container; false when absent. */
static bool
get_key(JsonbContainer *obj, const char *key, JsonbValue *out)
{
	return getKeyJsonValueFromContainer(obj, key, strlen(key), out) != NULL;
}

/* Absent keys and JSON null are both "not given". */
static bool
get_given(JsonbContainer *obj, const char *key, JsonbValue *out)
{
	return get_key(obj, key, out) && out->type != jbvNull;
}

/* Turn a top-level jsonb datum into a JsonbValue (scalars unwrapped). */
static void
jsonb_to_value(Jsonb *jb, JsonbValue *out)
{
	if (JB_ROOT_IS_SCALAR(jb))
	{
		if (!JsonbExtractScalar(&jb->root, out))
			elog(ERROR, "could not extract jsonb scalar");
	}
	else
	{
		out->type = jbvBinary;
		out->val.binary.data = &jb->root;
		out->val.binary.len = VARSIZE(jb) - VARHDRSZ;
	}
}

/* First key of an object that is not in allowed[]; NULL when none. */
static char *
unknown_key(JsonbContainer *obj, const char *const *allowed, int nallowed)
{
	JsonbIterator *it = JsonbIteratorInit(obj);
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *found = NULL;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		bool		ok = false;

		if (tok != WJB_KEY || found)
			continue;
		for (int i = 0; i < nallowed; i++)
			if ((int) strlen(allowed[i]) == v.val.string.len &&
				memcmp(allowed[i], v.val.string.val, v.val.string.len) == 0)
			{
				ok = true;
				break;
			}
		if (!ok)
			found = key_for_message(v.val.string.val, v.val.string.len);
	}
	return found;
}

static bool
string_equals(const JsonbValue *v, const char *s)
{
	return v->type == jbvString && (int) strlen(s) == v->val.string.len &&
		memcmp(s, v->val.string.val, v->val.string.len) == 0;
}

/* A number as it may appear in a message: at most 40 characters. */
static char *
numeric_text(Numeric n)
{
	char	   *s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(n)));

	if (strlen(s) > 40)
		return psprintf("%.37s...", s);
	return s;
}

static bool
numeric_less(Numeric a, Numeric b)
{
	return DatumGetBool(DirectFunctionCall2(numeric_lt, NumericGetDatum(a), NumericGetDatum(b)));
}

static bool
numeric_is_integral(Numeric n)
{
	Datum		t = DirectFunctionCall2(numeric_trunc, NumericGetDatum(n), Int32GetDatum(0));

	return DatumGetBool(DirectFunctionCall2(numeric_eq, NumericGetDatum(n), t));
}

/* ------------------------------------------------------------------------
 * Value checks built on src/core
 * ------------------------------------------------------------------------ */

static Problem
text_field_problem(const char *s, int len, int max_chars, char *field)
{
	size_t		offset;
	sp_text_status st = sp_check_text_field(s, (size_t) len, (size_t) max_chars, &offset);

	switch (st)
	{
		case SP_TEXT_OK:
			return NO_PROBLEM;
		case SP_TEXT_TOO_LONG:
			return problem("22001", field, psprintf("value longer than %d characters", max_chars));
		case SP_TEXT_EMPTY:
			return problem("22023", field, pstrdup(sp_text_status_message(st)));
		case SP_TEXT_INVALID_UTF8:
			return problem("22021", field, psprintf("%s at character %zu", sp_text_status_message(st), offset + 1));
		case SP_TEXT_CONTROL_CHAR:
			return problem("22P02", field, psprintf("%s at character %zu", sp_text_status_message(st), offset + 1));
	}
	return NO_PROBLEM;
}

static const char *
date_sqlstate(sp_date_status st)
{
	return st == SP_DATE_BAD_FORMAT ? "22007" : "22008";
}

/* A partial date; with check_range, not in the future nor > 130 years ago. */
static Problem
date_problem(const Catalogue *cat, const char *s, int len, bool check_range, char *field)
{
	sp_partial_date d;
	sp_date_status st = sp_parse_partial_date(s, (size_t) len, &d);

	if (st == SP_DATE_OK && check_range)
		st = sp_check_birth_date(&d, cat->today_y, cat->today_m, cat->today_d);
	if (st == SP_DATE_OK)
		return NO_PROBLEM;
	return problem(date_sqlstate(st), field, pstrdup(sp_date_status_message(st)));
}

/* ------------------------------------------------------------------------
 * Attributes
 * ------------------------------------------------------------------------ */

static Problem
attribute_value_problem(const Catalogue *cat, const VarDef *var, JsonbValue *val, char *field)
{
	switch (var->type)
	{
		case VT_INTEGER:
		case VT_NUMERIC:
			if (val->type != jbvNumeric)
				return problem("22023", field, psprintf("expected a number, got %s", json_type_name(val)));
			if (var->type == VT_INTEGER && !numeric_is_integral(val->val.numeric))
				return problem("22023", field, pstrdup("expected an integer"));
			if ((var->min && numeric_less(val->val.numeric, var->min)) ||
				(var->max && numeric_less(var->max, val->val.numeric)))
				return problem("22003", field,
							   psprintf("value %s outside [%s, %s]", numeric_text(val->val.numeric),
										var->min ? numeric_text(var->min) : "-inf",
										var->max ? numeric_text(var->max) : "inf"));
			return NO_PROBLEM;
		case VT_BOOLEAN:
			if (val->type != jbvBool)
				return problem("22023", field, psprintf("expected true or false, got %s", json_type_name(val)));
			return NO_PROBLEM;
		case VT_CATEGORY:
			if (val->type == jbvString)
				for (int i = 0; i < var->ncats; i++)
					if (string_equals(val, var->cats[i]))
						return NO_PROBLEM;
			return problem("22023", field,
						   psprintf("value is not one of the categories: %s", var->cats_text ? var->cats_text : ""));
		case VT_TEXT:
			if (val->type != jbvString)
				return problem("22023", field, psprintf("expected a string, got %s", json_type_name(val)));
			return text_field_problem(val->val.string.val, val->val.string.len, MAX_TEXT_ATTR_CHARS, field);
		case VT_DATE:
			if (val->type != jbvString)
				return problem("22007", field, pstrdup("expected a date string YYYY-MM-DD"));
			return date_problem(cat, val->val.string.val, val->val.string.len, false, field);
	}
	return NO_PROBLEM;
}

/*
 * An attributes object (or absent/null) for an entity.  partial: a patch,
 * where required variables need not appear.
 */
static Problem
attributes_problem(const Catalogue *cat, JsonbValue *attrs, bool present, bool person,
				   const char *prefix, bool partial)
{
	JsonbIterator *it;
	JsonbValue	k,
				v;
	JsonbIteratorToken tok;
	bool	   *seen = palloc0(sizeof(bool) * Max(cat->nvars, 1));

	if (present && attrs->type != jbvNull)
	{
		if (!is_object(attrs))
			return problem("22023", pstrdup(prefix), pstrdup("attributes must be a JSON object"));

		it = JsonbIteratorInit(attrs->val.binary.data);
		while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
		{
			char	   *key;
			VarDef	   *var;
			Problem		p;

			if (tok != WJB_KEY)
				continue;
			key = pnstrdup(k.val.string.val, k.val.string.len);
			tok = JsonbIteratorNext(&it, &v, true);
			Assert(tok == WJB_VALUE);

			var = bsearch(key, cat->vars, cat->nvars, sizeof(VarDef), cmp_var_key);
			if (var == NULL || var->person != person)
				return problem("22023", path(prefix, key_for_message(key, strlen(key))),
							   psprintf("unknown %s variable \"%s\" (not in sp.variable)",
										person ? "person" : "household", key_for_message(key, strlen(key))));
			seen[var - cat->vars] = true;
			if (v.type == jbvNull)
			{
				if (var->required)
					return problem("23502", path(prefix, key), pstrdup("required variable is null"));
				continue;
			}
			p = attribute_value_problem(cat, var, &v, path(prefix, key));
			if (p.sqlstate)
				return p;
		}
	}
	if (!partial)
		for (int i = 0; i < cat->nvars; i++)
			if (cat->vars[i].required && cat->vars[i].person == person && !seen[i])
				return problem("23502", path(prefix, cat->vars[i].code), pstrdup("required variable is missing"));
	return NO_PROBLEM;
}

/* ------------------------------------------------------------------------
 * Members
 * ------------------------------------------------------------------------ */

static const char *const member_keys[] = {
	"given_name", "family_name", "other_names", "birth_date", "sex",
	"relationship_to_head", "national_id", "phone", "attributes", "consent"
};

/* Purposes a person can consent to (sp.consent.purpose). */
static const char *const consent_purposes[] = {"data_sharing", "contact", "research"};

/* "consent": {"data_sharing": true, "contact": false}: known purposes, booleans. */
static Problem
consent_problem(JsonbValue *v, const char *field)
{
	JsonbContainer *obj;
	char	   *k;

	if (!is_object(v))
		return problem("22023", pstrdup(field),
					   pstrdup("consent must be an object of purposes (data_sharing, contact, research) and true or false"));
	obj = v->val.binary.data;
	k = unknown_key(obj, consent_purposes, lengthof(consent_purposes));
	if (k)
		return problem("22023", path(field, k), pstrdup("unknown consent purpose (data_sharing, contact or research)"));
	for (int i = 0; i < (int) lengthof(consent_purposes); i++)
	{
		JsonbValue	c;

		if (get_key(obj, consent_purposes[i], &c) && c.type != jbvBool)
			return problem("22023", path(field, consent_purposes[i]), pstrdup("expected true or false"));
	}
	return NO_PROBLEM;
}

static Problem
member_problem(const Catalogue *cat, JsonbValue *m, const char *prefix, bool partial)
{
	static const char *const names[] = {"given_name", "family_name", "other_names"};
	JsonbContainer *obj;
	JsonbValue	v;
	char	   *k;
	Problem		p;
	bool		has_name = false;

	if (!is_object(m))
		return problem("22023", pstrdup(prefix), pstrdup("a member must be a JSON object"));
	obj = m->val.binary.data;

	k = unknown_key(obj, member_keys, lengthof(member_keys));
	if (k)
		return problem("22023", path(prefix, k), pstrdup("unknown member field"));

	for (int i = 0; i < (int) lengthof(names); i++)
	{
		if (!get_given(obj, names[i], &v))
			continue;
		if (v.type != jbvString)
			return problem("22023", path(prefix, names[i]), psprintf("expected a string, got %s", json_type_name(&v)));
		p = text_field_problem(v.val.string.val, v.val.string.len, MAX_NAME_CHARS, path(prefix, names[i]));
		if (p.sqlstate)
			return p;
		if (i < 2)
			has_name = true;
	}
	if (!partial && !has_name)
		return problem("23502", path(prefix, "given_name"), pstrdup("a member needs a given_name or a family_name"));

	if (get_given(obj, "birth_date", &v))
	{
		if (v.type != jbvString)
			return problem("22007", path(prefix, "birth_date"), pstrdup("expected a string YYYY-MM-DD, YYYY-MM or YYYY"));
		p = date_problem(cat, v.val.string.val, v.val.string.len, true, path(prefix, "birth_date"));
		if (p.sqlstate)
			return p;
	}

	if (get_given(obj, "sex", &v) &&
		!(string_equals(&v, "M") || string_equals(&v, "F") || string_equals(&v, "X")))
		return problem("22023", path(prefix, "sex"), pstrdup("sex must be \"M\", \"F\" or \"X\""));

	if (!get_given(obj, "relationship_to_head", &v))
	{
		if (!partial)
			return problem("23502", path(prefix, "relationship_to_head"), pstrdup("relationship_to_head is required"));
	}
	else
	{
		char	   *rel = v.type == jbvString ? pnstrdup(v.val.string.val, v.val.string.len) : NULL;

		if (rel == NULL || !in_sorted(cat->rels, cat->nrels, rel))
			return problem("23503", path(prefix, "relationship_to_head"),
						   pstrdup("unknown relationship (see sp.relationship_type)"));
	}

	if (get_given(obj, "national_id", &v))
	{
		char		out[SP_NATIONAL_ID_MAX + 1];
		size_t		out_len,
					bad;
		sp_id_status st;

		if (v.type != jbvString)
			return problem("22023", path(prefix, "national_id"), pstrdup("expected a string"));
		st = sp_normalize_national_id(v.val.string.val, v.val.string.len, out, &out_len, &bad);
		if (st == SP_ID_BAD_CHAR)
			return problem("22P02", path(prefix, "national_id"),
						   psprintf("%s (byte %zu)", sp_id_status_message(st), bad + 1));
		if (st != SP_ID_OK)
			return problem("22P02", path(prefix, "national_id"), pstrdup(sp_id_status_message(st)));
	}

	if (get_given(obj, "phone", &v))
	{
		char		out[SP_PHONE_MAX_DIGITS + 2];
		size_t		out_len;

		if (v.type != jbvString)
			return problem("22023", path(prefix, "phone"), pstrdup("expected a string"));
		if (!sp_normalize_phone(v.val.string.val, v.val.string.len, out, &out_len))
			return problem("22P02", path(prefix, "phone"),
						   pstrdup("phone number must have 5 to 20 digits and an optional leading +"));
	}

	if (get_given(obj, "consent", &v))
	{
		p = consent_problem(&v, path(prefix, "consent"));
		if (p.sqlstate)
			return p;
	}

	{
		bool		present = get_key(obj, "attributes", &v);

		if (!partial || present)
			return attributes_problem(cat, &v, present, true, path(prefix, "attributes"), partial);
	}
	return NO_PROBLEM;
}

/* ------------------------------------------------------------------------
 * Household fields and whole documents
 * ------------------------------------------------------------------------ */

static bool
numeric_outside(Numeric n, int lo, int hi)
{
	Numeric		nlo = int64_to_numeric(lo);
	Numeric		nhi = int64_to_numeric(hi);

	return numeric_less(n, nlo) || numeric_less(nhi, n);
}

static Problem
household_fields_problem(const Catalogue *cat, JsonbContainer *doc, bool partial)
{
	static const char *const loc_keys[] = {"lat", "lon", "accuracy_m"};
	JsonbValue	v;

	if (!get_given(doc, "admin_area_code", &v))
	{
		if (!partial)
			return problem("23502", pstrdup("admin_area_code"), pstrdup("admin_area_code is required"));
	}
	else if (v.type != jbvString)
		return problem("22023", pstrdup("admin_area_code"), pstrdup("expected a string"));
	else
	{
		char	   *code = pnstrdup(v.val.string.val, v.val.string.len);

		if (!in_sorted(cat->areas, cat->nareas, code))
			return problem("23503", pstrdup("admin_area_code"),
						   psprintf("unknown or retired admin area \"%s\"", key_for_message(code, strlen(code))));
	}

	if (get_given(doc, "location", &v))
	{
		JsonbValue	lat,
					lon;

		if (!is_object(&v) || !get_key(v.val.binary.data, "lat", &lat) || lat.type != jbvNumeric ||
			!get_key(v.val.binary.data, "lon", &lon) || lon.type != jbvNumeric ||
			unknown_key(v.val.binary.data, loc_keys, lengthof(loc_keys)) != NULL)
			return problem("22023", pstrdup("location"),
						   pstrdup("location must be {\"lat\": number, \"lon\": number} with optional accuracy_m"));
		if (numeric_outside(lat.val.numeric, -90, 90))
			return problem("22003", pstrdup("location.lat"),
						   psprintf("latitude %s outside [-90, 90]", numeric_text(lat.val.numeric)));
		if (numeric_outside(lon.val.numeric, -180, 180))
			return problem("22003", pstrdup("location.lon"),
						   psprintf("longitude %s outside [-180, 180]", numeric_text(lon.val.numeric)));
	}

	{
		bool		present = get_key(doc, "attributes", &v);

		if (!partial || present)
			return attributes_problem(cat, &v, present, false, "attributes", partial);
	}
	return NO_PROBLEM;
}

static const char *const document_keys[] = {
	"submission_id", "device_time", "source", "admin_area_code", "location", "attributes", "members"
};

static Problem
document_problem(const Catalogue *cat, JsonbValue *docv, bool require_submission)
{
	JsonbContainer *doc;
	JsonbValue	v;
	char	   *k;
	Problem		p;
	int			n;
	int			heads = 0;
	char	  **ids;
	int			nids = 0;

	if (!is_object(docv))
		return problem("22023", pstrdup("$"), pstrdup("a registration must be a JSON object"));
	doc = docv->val.binary.data;

	k = unknown_key(doc, document_keys, lengthof(document_keys));
	if (k)
		return problem("22023", k, pstrdup("unknown field"));

	if (!get_given(doc, "submission_id", &v))
	{
		if (require_submission)
			return problem("23502", pstrdup("submission_id"), pstrdup("submission_id is required"));
	}
	else if (v.type != jbvString || !sp_is_uuid(v.val.string.val, v.val.string.len))
		return problem("22P02", pstrdup("submission_id"), pstrdup("submission_id must be a UUID"));

	if (get_given(doc, "device_time", &v))
	{
		sp_date_status st;

		if (v.type != jbvString)
			return problem("22007", pstrdup("device_time"), pstrdup("expected an ISO 8601 timestamp string"));
		st = sp_check_timestamp(v.val.string.val, v.val.string.len);
		if (st == SP_DATE_BAD_FORMAT)
			return problem("22007", pstrdup("device_time"),
						   pstrdup("expected an ISO 8601 timestamp such as 2026-11-28T09:30:00+03:00"));
		if (st != SP_DATE_OK)
			return problem("22008", pstrdup("device_time"), pstrdup(sp_date_status_message(st)));
	}

	if (get_given(doc, "source", &v))
	{
		if (v.type != jbvString)
			return problem("22023", pstrdup("source"), pstrdup("expected a string"));
		p = text_field_problem(v.val.string.val, v.val.string.len, MAX_SOURCE_CHARS, pstrdup("source"));
		if (p.sqlstate)
			return p;
	}

	p = household_fields_problem(cat, doc, false);
	if (p.sqlstate)
		return p;

	if (!get_given(doc, "members", &v))
		return problem("23502", pstrdup("members"), pstrdup("members is required"));
	if (!is_array(&v))
		return problem("22023", pstrdup("members"), pstrdup("members must be an array"));
	n = (int) JsonContainerSize(v.val.binary.data);
	if (n == 0)
		return problem("22023", pstrdup("members"), pstrdup("a household needs at least one member"));
	if (n > MAX_MEMBERS)
		return problem("22023", pstrdup("members"),
					   psprintf("a household document may list at most %d members, got %d", MAX_MEMBERS, n));

	ids = palloc(sizeof(char *) * n);
	for (int i = 0; i < n; i++)
	{
		JsonbValue *m = getIthJsonbValueFromContainer(v.val.binary.data, i);
		char	   *prefix = psprintf("members[%d]", i);
		JsonbValue	f;

		p = member_problem(cat, m, prefix, false);
		if (p.sqlstate)
			return p;
		if (get_key(m->val.binary.data, "relationship_to_head", &f) && string_equals(&f, "head") && ++heads > 1)
			return problem("23505", path(prefix, "relationship_to_head"),
						   pstrdup("more than one member is the head of household"));
		if (get_given(m->val.binary.data, "national_id", &f))
		{
			char		out[SP_NATIONAL_ID_MAX + 1];
			size_t		out_len,
						bad;

			(void) sp_normalize_national_id(f.val.string.val, f.val.string.len, out, &out_len, &bad);
			for (int j = 0; j < nids; j++)
				if (strcmp(ids[j], out) == 0)
					return problem("23505", path(prefix, "national_id"),
								   pstrdup("two members of the document have the same national ID"));
			ids[nids++] = pstrdup(out);
		}
	}
	if (heads == 0)
		return problem("23514", pstrdup("members"), pstrdup("no member has relationship_to_head \"head\""));
	return NO_PROBLEM;
}

/* ------------------------------------------------------------------------
 * SQL entry points
 * ------------------------------------------------------------------------ */

/* The admin_area_code strings of docs (NULL when none), for the area query. */
static Datum
collect_area_codes(JsonbContainer *arr, int n, bool is_batch)
{
	Datum	   *codes = palloc(sizeof(Datum) * Max(n, 1));
	int			ncodes = 0;

	for (int i = 0; i < n; i++)
	{
		JsonbValue *d = is_batch ? getIthJsonbValueFromContainer(arr, i) : NULL;
		JsonbContainer *obj = is_batch ? (d && is_object(d) ? d->val.binary.data : NULL) : arr;
		JsonbValue	v;

		if (obj && get_key(obj, "admin_area_code", &v) && v.type == jbvString)
			codes[ncodes++] = PointerGetDatum(cstring_to_text_with_len(v.val.string.val, v.val.string.len));
	}
	return PointerGetDatum(construct_array(codes, ncodes, TEXTOID, -1, false, TYPALIGN_INT));
}

static Datum
problem_datum(FunctionCallInfo fcinfo, Problem p)
{
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning record called in context that cannot accept type record")));
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = CStringGetTextDatum(p.sqlstate);
	values[1] = CStringGetTextDatum(p.field ? p.field : "$");
	values[2] = CStringGetTextDatum(p.message);
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

/* The function result for a problem: the composite, or SQL NULL when there is none. */
static Datum
problem_or_null(FunctionCallInfo fcinfo, Problem p)
{
	if (!p.sqlstate)
	{
		fcinfo->isnull = true;
		return (Datum) 0;
	}
	return problem_datum(fcinfo, p);
}

/*
 * sp_internal.registration_problems(docs jsonb, require_submission boolean)
 *   RETURNS TABLE (idx integer, sqlstate text, field text, message text)
 * One row per invalid document of the array (idx 0-based), its first problem.
 */
Datum
sp_registration_problems(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Jsonb	   *docs;
	bool		require_submission;
	Catalogue	cat;
	int			n;
	MemoryContext per_doc;
	MemoryContext old;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("docs must not be NULL")));
	docs = PG_GETARG_JSONB_P(0);
	require_submission = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
	if (!JB_ROOT_IS_ARRAY(docs) || JB_ROOT_IS_SCALAR(docs))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("docs must be a JSON array of registration documents")));

	InitMaterializedSRF(fcinfo, 0);
	n = (int) JB_ROOT_COUNT(docs);
	load_catalogue(&cat, collect_area_codes(&docs->root, n, true), true);

	per_doc = AllocSetContextCreate(CurrentMemoryContext, "sp registration validation", ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < n; i++)
	{
		JsonbValue *d;
		Problem		p;

		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(per_doc);
		d = getIthJsonbValueFromContainer(&docs->root, i);
		p = document_problem(&cat, d, require_submission);
		MemoryContextSwitchTo(old);
		if (p.sqlstate)
		{
			Datum		values[4];
			bool		nulls[4] = {false, false, false, false};

			values[0] = Int32GetDatum(i);
			values[1] = CStringGetTextDatum(p.sqlstate);
			values[2] = CStringGetTextDatum(p.field ? p.field : "$");
			values[3] = CStringGetTextDatum(p.message);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		MemoryContextReset(per_doc);
	}
	MemoryContextDelete(per_doc);
	return (Datum) 0;
}

/*
 * sp_internal.member_problem(member jsonb, prefix text, partial boolean)
 *   RETURNS sp_internal.problem   -- NULL when valid
 */
Datum
sp_member_problem(PG_FUNCTION_ARGS)
{
	Catalogue	cat;
	JsonbValue	m;
	Problem		p;
	const char *prefix = PG_ARGISNULL(1) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	bool		partial = !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);

	if (PG_ARGISNULL(0))
		PG_RETURN_DATUM(problem_datum(fcinfo, problem("22023", pstrdup(prefix[0] ? prefix : "$"),
													  pstrdup("a member must be a JSON object"))));
	jsonb_to_value(PG_GETARG_JSONB_P(0), &m);
	load_catalogue(&cat, (Datum) 0, false);
	p = member_problem(&cat, &m, prefix, partial);
	return problem_or_null(fcinfo, p);
}

/*
 * sp_internal.household_fields_problem(doc jsonb, partial boolean)
 *   RETURNS sp_internal.problem   -- admin_area_code, location, attributes
 */
Datum
sp_household_fields_problem(PG_FUNCTION_ARGS)
{
	Catalogue	cat;
	Jsonb	   *doc;
	Problem		p;
	bool		partial = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("doc must not be NULL")));
	doc = PG_GETARG_JSONB_P(0);
	if (!JB_ROOT_IS_OBJECT(doc))
		PG_RETURN_DATUM(problem_datum(fcinfo, problem("22023", pstrdup("$"), pstrdup("expected a JSON object"))));
	load_catalogue(&cat, collect_area_codes(&doc->root, 1, false), true);
	p = household_fields_problem(&cat, &doc->root, partial);
	return problem_or_null(fcinfo, p);
}

/*
 * sp_internal.attributes_problem(attrs jsonb, entity text, prefix text, partial boolean)
 *   RETURNS sp_internal.problem
 */
Datum
sp_attributes_problem(PG_FUNCTION_ARGS)
{
	Catalogue	cat;
	JsonbValue	attrs;
	bool		present = !PG_ARGISNULL(0);
	char	   *entity;
	const char *prefix = PG_ARGISNULL(2) ? "attributes" : text_to_cstring(PG_GETARG_TEXT_PP(2));
	bool		partial = !PG_ARGISNULL(3) && PG_GETARG_BOOL(3);
	Problem		p;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("entity must not be NULL")));
	entity = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (strcmp(entity, "household") != 0 && strcmp(entity, "person") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("entity must be household or person, got \"%s\"", key_for_message(entity, strlen(entity)))));
	if (present)
		jsonb_to_value(PG_GETARG_JSONB_P(0), &attrs);
	load_catalogue(&cat, (Datum) 0, false);
	p = attributes_problem(&cat, &attrs, present, strcmp(entity, "person") == 0, prefix, partial);
	return problem_or_null(fcinfo, p);
}
