/*
 * linkage_spec.c - linkage models: specs and params read from JSON, and
 * models loaded from sp.linkage_model.
 *
 * A spec that cannot be read raises 22023 naming the JSON path, when it is
 * created (sp_internal.validate_linkage_spec) and whenever it is loaded;
 * params are checked the same way, also by the trigger on sp.linkage_model.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "linkage_internal.h"

PG_FUNCTION_INFO_V1(sp_validate_linkage_spec);

/* ------------------------------------------------------------------------
 * Spec
 * ------------------------------------------------------------------------ */

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
column_index(sp_link_spec *spec, const char *name, const char *field)
{
	if (strlen(name) == 0 || strlen(name) > NAMEDATALEN - 1)
		spec_error(field, "Column names have 1 to 63 characters.", NULL);
	for (int i = 0; i < spec->ncolumns; i++)
		if (strcmp(spec->columns[i].name, name) == 0)
			return i;
	if (spec->ncolumns >= SP_LINK_MAX_COLUMNS)
		spec_error(field, "A spec may use at most 32 columns.", NULL);
	spec->columns[spec->ncolumns].name = pstrdup(name);
	spec->columns[spec->ncolumns].normalize = SP_NORM_NONE;
	return spec->ncolumns++;
}

static sp_link_method
parse_method(const char *s, const char *field)
{
	if (strcmp(s, "exact") == 0)
		return SP_METHOD_EXACT;
	if (strcmp(s, "jaro_winkler") == 0)
		return SP_METHOD_JARO_WINKLER;
	if (strcmp(s, "levenshtein") == 0)
		return SP_METHOD_LEVENSHTEIN;
	if (strcmp(s, "damerau_levenshtein") == 0)
		return SP_METHOD_DAMERAU;
	if (strcmp(s, "date") == 0)
		return SP_METHOD_DATE;
	spec_error(field, "Unknown method \"%s\"; use exact, jaro_winkler, levenshtein, damerau_levenshtein or date.", s);
	return SP_METHOD_EXACT;
}

static sp_link_normalize
parse_normalize(const char *s, const char *field)
{
	if (strcmp(s, "none") == 0)
		return SP_NORM_NONE;
	if (strcmp(s, "name") == 0)
		return SP_NORM_NAME;
	if (strcmp(s, "id") == 0)
		return SP_NORM_ID;
	if (strcmp(s, "digits") == 0)
		return SP_NORM_DIGITS;
	spec_error(field, "Unknown normalisation \"%s\"; use none, name, id or digits.", s);
	return SP_NORM_NONE;
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
parse_block_part(sp_link_spec *spec, const char *text, sp_block_part *part, const char *field)
{
	const char *open = strchr(text, '(');
	char	   *col;

	part->n = 0;
	if (!open)
	{
		part->fn = SP_KEY_VALUE;
		part->column = column_index(spec, text, field);
		return;
	}
	if (text[strlen(text) - 1] != ')')
		spec_error(field, "Blocking key \"%s\" must look like col, name_key(col), name_keys(col1, col2), year(col), first(col, n) or sorted(col).", text);
	if (strncmp(text, "name_keys(", 10) == 0)
		part->fn = SP_KEY_NAME_KEYS;
	else if (strncmp(text, "sorted(", 7) == 0)
		part->fn = SP_KEY_SORTED;
	else if (strncmp(text, "name_key(", 9) == 0)
		part->fn = SP_KEY_NAME_KEY;
	else if (strncmp(text, "year(", 5) == 0)
		part->fn = SP_KEY_YEAR;
	else if (strncmp(text, "first(", 6) == 0)
		part->fn = SP_KEY_FIRST;
	else
		spec_error(field, "Unknown blocking function in \"%s\"; use name_key, name_keys, year, first or sorted.", text);
	col = pnstrdup(open + 1, strlen(open + 1) - 1);
	if (part->fn == SP_KEY_NAME_KEYS)
	{
		char	   *comma = strchr(col, ',');

		if (!comma)
			spec_error(field, "name_keys() takes two columns: \"%s\".", text);
		*comma = '\0';
		part->column = column_index(spec, trim_spaces(col), field);
		part->column2 = column_index(spec, trim_spaces(comma + 1), field);
		return;
	}
	if (part->fn == SP_KEY_FIRST)
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
comparison_named(const sp_link_spec *spec, const char *name, const char *field)
{
	for (int c = 0; c < spec->ncomparisons; c++)
		if (strcmp(spec->comparisons[c].name, name) == 0)
			return c;
	spec_error(field, "No comparison is named \"%s\".", name);
	return -1;
}

static void
parse_evidence(sp_link_spec *spec, JsonbValue *e, int i)
{
	sp_evidence *ev = &spec->evidence[i];
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

	/* household context: its weights are estimated by training, not given */
	if (getKeyJsonValueFromContainer(e->val.binary.data, "kind", 4, &v) && v.type == jbvString &&
		strcmp(json_string(&v), "household") == 0)
	{
		ev->kind = SP_EV_HOUSEHOLD;
		if (getKeyJsonValueFromContainer(e->val.binary.data, "weight", 6, &v))
			spec_error(psprintf("%s.weight", field), "household evidence has no \"weight\": training estimates the weight of each of its levels.", NULL);
		if (!getKeyJsonValueFromContainer(e->val.binary.data, "column", 6, &v) || v.type != jbvString)
			spec_error(psprintf("%s.column", field), "household needs the \"column\" that identifies the group registered together.", NULL);
		ev->column = column_index(spec, json_string(&v), psprintf("%s.column", field));
		for (int k = 0; k < i; k++)
			if (spec->evidence[k].kind == SP_EV_HOUSEHOLD)
				spec_error(field, "A spec has at most one household evidence rule.", NULL);
		ev->weight = 0;
		return;
	}
	if (!getKeyJsonValueFromContainer(e->val.binary.data, "weight", 6, &v) || v.type != jbvNumeric ||
		!isfinite(json_double(&v)) || json_double(&v) < -100 || json_double(&v) > 0)
		spec_error(psprintf("%s.weight", field), "\"weight\" is a number of bits between -100 and 0 (evidence against a match).", NULL);
	ev->weight = json_double(&v);
	if (!getKeyJsonValueFromContainer(e->val.binary.data, "kind", 4, &v) || v.type != jbvString)
		spec_error(psprintf("%s.kind", field), "\"kind\" is same_group, twins, swapped_names or household.", NULL);
	kind = json_string(&v);
	if (strcmp(kind, "same_group") == 0)
	{
		ev->kind = SP_EV_SAME_GROUP;
		if (!getKeyJsonValueFromContainer(e->val.binary.data, "column", 6, &v) || v.type != jbvString)
			spec_error(psprintf("%s.column", field), "same_group needs the \"column\" that identifies the group.", NULL);
		ev->column = column_index(spec, json_string(&v), psprintf("%s.column", field));
	}
	else if (strcmp(kind, "twins") == 0)
	{
		const char *keys[3] = {"date", "family", "given"};
		int		   *dst[3] = {&ev->date, &ev->family, &ev->given};

		ev->kind = SP_EV_TWINS;
		for (int k = 0; k < 3; k++)
		{
			if (!getKeyJsonValueFromContainer(e->val.binary.data, keys[k], strlen(keys[k]), &v) || v.type != jbvString)
				spec_error(psprintf("%s.%s", field, keys[k]), "twins needs \"date\", \"family\" and \"given\": comparison names.", NULL);
			*dst[k] = comparison_named(spec, json_string(&v), psprintf("%s.%s", field, keys[k]));
		}
		if (spec->comparisons[ev->date].method != SP_METHOD_DATE)
			spec_error(psprintf("%s.date", field), "\"%s\" is not a date comparison.", spec->comparisons[ev->date].name);
		for (int k = 1; k < 3; k++)
			if (spec->comparisons[*dst[k]].method == SP_METHOD_DATE || spec->comparisons[*dst[k]].method == SP_METHOD_EXACT)
				spec_error(psprintf("%s.%s", field, keys[k]), "\"%s\" must be a name comparison with similarity levels.",
						   spec->comparisons[*dst[k]].name);
	}
	else if (strcmp(kind, "swapped_names") == 0)
		ev->kind = SP_EV_SWAPPED;
	else
		spec_error(psprintf("%s.kind", field), "Unknown kind \"%s\"; use same_group, twins, swapped_names or household.", kind);
}

/* {"keys": [...], "max_block": n, "refine": [...]}: returns the keys array */
static JsonbValue *
parse_rule_object(sp_link_spec *spec, JsonbValue *r, sp_block_rule *rule, int i)
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
		if (n < 1 || n > SP_LINK_MAX_REFINE)
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

void
linkage_parse_spec(Jsonb *jb, sp_link_spec *spec)
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
		sp_link_comparison *cmp = &spec->comparisons[i];
		char	   *field = psprintf("comparisons[%d]", i);
		sp_link_normalize norm;

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

		norm = cmp->method == SP_METHOD_JARO_WINKLER ? SP_NORM_NAME : SP_NORM_NONE;
		if (getKeyJsonValueFromContainer(c->val.binary.data, "normalize", 9, &v))
		{
			if (v.type != jbvString)
				spec_error(psprintf("%s.normalize", field), "\"normalize\" is none, name, id or digits.", NULL);
			norm = parse_normalize(json_string(&v), psprintf("%s.normalize", field));
		}
		if (cmp->method == SP_METHOD_DATE)
			norm = SP_NORM_NONE;
		{
			sp_link_column *col = &spec->columns[cmp->column];

			if (col->normalize != SP_NORM_NONE && norm != SP_NORM_NONE && col->normalize != norm)
				spec_error(psprintf("%s.normalize", field), "Column \"%s\" is normalised in two different ways.", col->name);
			if (norm != SP_NORM_NONE)
				col->normalize = norm;
			if (cmp->method == SP_METHOD_DATE)
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
				if (cmp->method == SP_METHOD_JARO_WINKLER && (x <= 0 || x >= 1 || (k > 0 && x >= cmp->thresholds[k - 1])))
					spec_error(psprintf("%s.thresholds[%d]", field, k),
							   "Jaro-Winkler thresholds are decreasing similarities between 0 and 1.", NULL);
				if ((cmp->method == SP_METHOD_LEVENSHTEIN || cmp->method == SP_METHOD_DAMERAU) &&
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
			if (cmp->phonetic && (cmp->method != SP_METHOD_JARO_WINKLER || norm != SP_NORM_NAME))
				spec_error(psprintf("%s.phonetic", field), "The phonetic level is for jaro_winkler comparisons of names (normalize \"name\").", NULL);
		}
		if ((cmp->method == SP_METHOD_EXACT || cmp->method == SP_METHOD_DATE) && cmp->nthresholds > 0)
			spec_error(psprintf("%s.thresholds", field), "Methods exact and date take no thresholds.", NULL);
		if (getKeyJsonValueFromContainer(c->val.binary.data, "prefixes", 8, &v))
		{
			int			np;

			/* hierarchical codes (P-codes): same district, same region */
			if (cmp->method != SP_METHOD_EXACT)
				spec_error(psprintf("%s.prefixes", field), "Prefix levels are for the exact method (hierarchical codes).", NULL);
			if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data))
				spec_error(psprintf("%s.prefixes", field), "\"prefixes\" must be an array of whole numbers.", NULL);
			np = (int) JsonContainerSize(v.val.binary.data);
			if (np > SP_FS_MAX_LEVELS - 2)
				spec_error(psprintf("%s.prefixes", field), "At most 6 prefix lengths.", NULL);
			for (int k = 0; k < np; k++)
			{
				JsonbValue *t = getIthJsonbValueFromContainer(v.val.binary.data, k);
				double		x = t->type == jbvNumeric ? json_double(t) : NAN;

				if (!isfinite(x) || x < 1 || x > SP_COMPARE_MAX_CHARS || x != floor(x) ||
					(k > 0 && x >= cmp->thresholds[k - 1]))
					spec_error(psprintf("%s.prefixes[%d]", field, k),
							   "Prefix lengths are decreasing whole numbers of characters, from %s down to 1.",
							   psprintf("%d", SP_COMPARE_MAX_CHARS));
				cmp->thresholds[cmp->nthresholds++] = x;
			}
		}
		if ((cmp->method == SP_METHOD_JARO_WINKLER || cmp->method == SP_METHOD_LEVENSHTEIN || cmp->method == SP_METHOD_DAMERAU) &&
			cmp->nthresholds == 0)
			spec_error(psprintf("%s.thresholds", field), "Methods jaro_winkler, levenshtein and damerau_levenshtein need thresholds.", NULL);
		cmp->nlevels = cmp->method == SP_METHOD_DATE ? SP_DATE_NLEVELS :
			cmp->method == SP_METHOD_EXACT ? cmp->nthresholds + 2 : cmp->nthresholds + 2 + (cmp->phonetic ? 1 : 0);
		cmp->swap_with = -1;
		cmp->tf_adjust = false;
		if (getKeyJsonValueFromContainer(c->val.binary.data, "tf_adjust", 9, &v))
		{
			if (v.type != jbvBool)
				spec_error(psprintf("%s.tf_adjust", field), "\"tf_adjust\" is true or false.", NULL);
			cmp->tf_adjust = v.val.boolean;
			if (cmp->tf_adjust && cmp->method == SP_METHOD_DATE)
				spec_error(psprintf("%s.tf_adjust", field), "Term frequency adjustment applies to text comparisons, not dates.", NULL);
		}

		/*
		 * Guard rails: levels that mean "different" cannot be common among
		 * matches, whatever unsupervised training makes of households.
		 */
		for (int l = 0; l < SP_FS_MAX_LEVELS; l++)
			cmp->m_max[l] = 1.0;
		if (cmp->method == SP_METHOD_DATE)
		{
			cmp->m_max[SP_DATE_LEVEL_ELSE] = 0.05;
			cmp->m_max[SP_DATE_LEVEL_FAR] = 0.002;
		}
		else if (cmp->method != SP_METHOD_EXACT)
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
		if (n > SP_LINK_MAX_EVIDENCE)
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
		if (spec->comparisons[spec->anchor].method == SP_METHOD_DATE)
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
		if (n > SP_LINK_MAX_RULES)
			spec_error("blocking", "At most 16 blocking rules.", NULL);
		for (int i = 0; i < n; i++)
		{
			JsonbValue *r = getIthJsonbValueFromContainer(arr.val.binary.data, i);
			sp_block_rule *rule = &spec->rules[i];
			StringInfoData buf;
			int			np;

			rule->max_block = 0;
			rule->nrefine = 0;
			if (r->type == jbvBinary && JsonContainerIsObject(r->val.binary.data))
				r = parse_rule_object(spec, r, rule, i);
			if (r->type != jbvBinary || !JsonContainerIsArray(r->val.binary.data))
				spec_error(psprintf("blocking[%d]", i), "A blocking rule is an array of keys, or an object with \"keys\".", NULL);
			np = (int) JsonContainerSize(r->val.binary.data);
			if (np < 1 || np > SP_LINK_MAX_PARTS)
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
 * Params
 * ------------------------------------------------------------------------ */

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
parse_params(sp_link_model *model, Jsonb *params)
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
		sp_link_comparison *cmp = &model->spec.comparisons[c];
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

	/*
	 * Household context (optional): m and u of its levels (linked,
	 * unlinked, alone), written by training when the spec has household
	 * evidence and the data had enough anchored pairs to estimate them.
	 */
	model->hh_enabled = false;
	if (getKeyJsonValueFromContainer(&params->root, "household", 9, &v) &&
		v.type == jbvBinary && JsonContainerIsObject(v.val.binary.data))
	{
		JsonbValue	arr;
		bool		have_m = getKeyJsonValueFromContainer(v.val.binary.data, "m", 1, &arr);

		if (have_m)
		{
			for (int which = 0; which < 2; which++)
			{
				const char *key = which == 0 ? "m" : "u";
				double	   *dst = which == 0 ? model->hh_m : model->hh_u;
				char	   *path = psprintf("params.household.%s", key);

				if (!getKeyJsonValueFromContainer(v.val.binary.data, key, 1, &arr) || arr.type != jbvBinary ||
					!JsonContainerIsArray(arr.val.binary.data) || JsonContainerSize(arr.val.binary.data) != SP_HH_LEVELS)
					params_error(model->name, path, "Expected an array of 3 probabilities (linked, unlinked, alone).");
				for (int l = 0; l < SP_HH_LEVELS; l++)
					dst[l] = params_probability(getIthJsonbValueFromContainer(arr.val.binary.data, l), model->name,
												psprintf("%s[%d]", path, l), true);
			}
			if (!getKeyJsonValueFromContainer(v.val.binary.data, "linked_match_share", 18, &arr))
				params_error(model->name, "params.household.linked_match_share",
							 "The share of matches among linked pairs is missing.");
			model->hh_share = params_probability(&arr, model->name, "params.household.linked_match_share", true);
			model->hh_twins_u = 0;
			if (getKeyJsonValueFromContainer(v.val.binary.data, "twins_u", 7, &arr))
				model->hh_twins_u = params_probability(&arr, model->name, "params.household.twins_u", true);
			if (!getKeyJsonValueFromContainer(v.val.binary.data, "u_context", 9, &arr) || arr.type != jbvBinary ||
				!JsonContainerIsObject(arr.val.binary.data))
				params_error(model->name, "params.household.u_context",
							 "Expected an object with, for every comparison, u among other members of linked households.");
			for (int c = 0; c < model->spec.ncomparisons; c++)
			{
				const char *cn = model->spec.comparisons[c].name;
				char	   *path = psprintf("params.household.u_context.%s", cn);
				JsonbValue	one;

				if (!getKeyJsonValueFromContainer(arr.val.binary.data, cn, strlen(cn), &one) || one.type != jbvBinary ||
					!JsonContainerIsArray(one.val.binary.data) ||
					(int) JsonContainerSize(one.val.binary.data) != model->spec.comparisons[c].nlevels)
					params_error(model->name, path, psprintf("Expected an array of %d probabilities.",
															 model->spec.comparisons[c].nlevels));
				for (int l = 0; l < model->spec.comparisons[c].nlevels; l++)
					model->hh_u_context[c][l] = params_probability(getIthJsonbValueFromContainer(one.val.binary.data, l),
																   model->name, psprintf("%s[%d]", path, l), true);
			}
			model->hh_enabled = true;
		}
	}

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

/* ------------------------------------------------------------------------
 * Models in sp.linkage_model
 * ------------------------------------------------------------------------ */

void
linkage_load_model(const char *name, sp_link_model *model)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(name)};
	MemoryContext outer = CurrentMemoryContext;
	int			ret;

	memset(model, 0, sizeof(*model));
	model->name = pstrdup(name);
	linkage_reset_memory();
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
		linkage_parse_spec(jspec, &model->spec);
		parse_params(model, jparams);
	}
}

/* ------------------------------------------------------------------------
 * sp_internal.validate_linkage_spec(spec jsonb)
 * ------------------------------------------------------------------------ */

Datum
sp_validate_linkage_spec(PG_FUNCTION_ARGS)
{
	sp_link_spec spec;

	linkage_parse_spec(PG_GETARG_JSONB_P(0), &spec);
	PG_RETURN_VOID();
}

/* ------------------------------------------------------------------------
 * sp_internal.validate_linkage_params(name text, spec jsonb, params jsonb)
 *
 * The check linkage_load_model makes, for the trigger on sp.linkage_model: params
 * that could not be read are refused when written, so that no model that
 * fails at scoring time (every registration scores) can be stored.
 * ------------------------------------------------------------------------ */

PG_FUNCTION_INFO_V1(sp_validate_linkage_params);

Datum
sp_validate_linkage_params(PG_FUNCTION_ARGS)
{
	sp_link_model *model = palloc0(sizeof(sp_link_model));

	model->name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	linkage_parse_spec(PG_GETARG_JSONB_P(1), &model->spec);
	parse_params(model, PG_GETARG_JSONB_P(2));
	PG_RETURN_VOID();
}
