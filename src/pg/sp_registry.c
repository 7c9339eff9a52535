/*
 * sp_registry.c - module entry point: GUCs under the reserved prefix
 * "sp_registry." and the module magic.
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/numeric.h"

#include "sp_registry.h"

PG_MODULE_MAGIC;

char	   *sp_change_reason = NULL;
bool		sp_allow_hard_delete = false;
double		sp_duplicate_flag_probability = 0.5;
bool		sp_repointing_enrolments = false;
bool		sp_applying_retention = false;
int			sp_pii_lookups_per_hour = 0;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomStringVariable("sp_registry.change_reason",
							   "Reason recorded in the history of rows changed in this session or transaction.",
							   "The API functions set it from their reason argument. Only a superuser can set it, for a direct correction: a role must not put words into the history of a change it did not make.",
							   &sp_change_reason,
							   NULL,
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomBoolVariable("sp_registry.allow_hard_delete",
							 "Allows DELETE of registry rows (households, persons).",
							 "Off by default: the registry changes status instead of deleting. Only a superuser can turn it on, e.g. to execute a court-ordered erasure; the history trigger still keeps the deleted version.",
							 &sp_allow_hard_delete,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("sp_registry.duplicate_flag_probability",
							 "Match probability from which a new registration is flagged as a likely duplicate.",
							 "Flags are returned with the registration and kept in sp.registration_duplicate; the registration itself always proceeds. Superuser only (ALTER SYSTEM / ALTER DATABASE): a caller who could lower it would learn who is registered with a given ID.",
							 &sp_duplicate_flag_probability,
							 0.5, 0.0, 1.0,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("sp_registry.repointing_enrolments",
							 "Set for the moment a person merge moves enrolments to the surviving person.",
							 "Internal: sp.merge_persons and sp.unmerge_person (which run as the extension owner) set it transaction-locally; otherwise an enrolment never changes unit. Superuser only, so no role can move a benefit to another household.",
							 &sp_repointing_enrolments,
							 false,
							 PGC_SUSET,
							 GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("sp_registry.applying_retention",
							 "Set while sp.apply_retention pseudonymises records and their history.",
							 "Internal: sp.apply_retention (which runs as the extension owner) sets it transaction-locally; otherwise history is append-only. Superuser only, so no role can rewrite history.",
							 &sp_applying_retention,
							 false,
							 PGC_SUSET,
							 GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("sp_registry.pii_lookups_per_hour",
							"Lookups by identifier and decryptions a role may make per hour (0: no limit).",
							"Counted per acting role over the last hour in sp.audit_log: one per lookup, one per person decrypted. Further accesses are refused with 53400 and recorded as refused. Only a superuser can set it (ALTER ROLE ... SET for a role's sessions).",
							&sp_pii_lookups_per_hour,
							0, 0, INT_MAX,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	sp_linkage_init();
	sp_guard_init();

	MarkGUCPrefixReserved("sp_registry");
}

/*
 * numeric_float8 goes through the text form of the number; integral values
 * that fit an int4 (rooms, counts, most amounts) are converted directly.
 */
double
sp_numeric_to_double(Numeric n)
{
	if (!numeric_is_nan(n) && !numeric_is_inf(n) &&
		DatumGetInt32(DirectFunctionCall1(numeric_scale, NumericGetDatum(n))) == 0)
	{
		bool		overflow = false;
		int32		i = numeric_int4_opt_error(n, &overflow);

		if (!overflow)
			return (double) i;
	}
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(n)));
}
