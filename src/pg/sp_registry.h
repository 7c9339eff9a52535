/*
 * sp_registry.h - shared declarations of the PostgreSQL glue.
 */
#ifndef SP_REGISTRY_H
#define SP_REGISTRY_H

extern char *sp_change_reason;
extern bool sp_allow_hard_delete;
extern double sp_duplicate_flag_probability;
extern bool sp_repointing_enrolments;
extern bool sp_applying_retention;
extern int	sp_pii_lookups_per_hour;

void		sp_linkage_init(void);

/* Who called, also inside the extension's SECURITY DEFINER functions (security.c). */
Oid			sp_caller_role(void);

/* True only while a superuser's COPY ... FROM loads rows into relid (restore.c). */
bool		sp_is_loading_rows(Oid relid);
void		sp_guard_init(void);

/* A numeric as a double; integral values without a detour through text. */
struct NumericData;
double		sp_numeric_to_double(struct NumericData *n);

#endif							/* SP_REGISTRY_H */
