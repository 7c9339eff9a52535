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
void		sp_guard_init(void);

/* A numeric as a double; integral values without a detour through text. */
struct NumericData;
double		sp_numeric_to_double(struct NumericData *n);

#endif							/* SP_REGISTRY_H */
