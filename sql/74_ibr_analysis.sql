-- Overlaps, gaps, duplicates and incidence across the registry's and other
-- ministries' programmes (issue 14).  The aggregates are computed for the
-- whole country with the owner's rights, suppressed for analysts (small
-- cells, and enough others that no published total gives one back), and
-- returned for the areas of the caller's scope; the lists of households and
-- persons are for the roles that read them, limited to their scope.

-- Every household's current benefits, national: enrolments in registry
-- programmes (enrolled) and linked, active rows of external programmes
-- (between benefit_start and benefit_end), each with its value per month:
-- the registry's as its payment in the programme's latest sent or closed
-- cycle, scaled by the cycle's length; the external as the row's (or the
-- programme's) amount scaled by its frequency (a one-off: none).  Owner
-- only, for the functions below.
CREATE FUNCTION sp_internal.household_benefits()
    RETURNS TABLE (household_id bigint, person_id bigint, programme text, source text, benefit_type text, unit text,
                   monthly_value numeric, currency text)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH paid AS (
        SELECT y.enrolment_id, y.amount * 30.4375 / (l.period_end - l.period_start + 1) AS monthly, y.currency
        FROM sp_internal.last_sent_cycle l JOIN sp.payment y ON y.cycle_id = l.cycle_id
        WHERE y.reissue_of IS NULL AND y.live
    )
    SELECT e.household_id, e.person_id, e.programme, 'registry'::text, g.benefit_type, g.target_unit, round(pd.monthly, 2), pd.currency
    FROM sp.enrolment e
    JOIN sp.programme g ON g.name = e.programme
    LEFT JOIN paid pd ON pd.enrolment_id = e.enrolment_id
    WHERE e.state = 'enrolled'
    UNION ALL
    SELECT p.household_id, x.person_id, x.programme, 'external', xp.benefit_type, xp.target_unit,
           round(coalesce(x.amount, xp.amount) * CASE xp.frequency WHEN 'daily' THEN 30.4375 WHEN 'weekly' THEN 30.4375 / 7
                                                       WHEN 'fortnightly' THEN 30.4375 / 14 WHEN 'monthly' THEN 1
                                                       WHEN 'quarterly' THEN 1 / 3.0 WHEN 'biannual' THEN 1 / 6.0
                                                       WHEN 'annual' THEN 1 / 12.0 ELSE 0 END, 2),
           coalesce(x.currency, xp.currency)
    FROM sp.external_beneficiary x
    JOIN sp.external_programme xp ON xp.name = x.programme
    JOIN sp.person p ON p.person_id = x.person_id
    WHERE x.link_status = 'linked' AND x.status = 'active'
      AND (x.benefit_start IS NULL OR x.benefit_start <= current_date)
      AND (x.benefit_end IS NULL OR x.benefit_end >= current_date)
$$;
COMMENT ON FUNCTION sp_internal.household_benefits() IS 'Every current benefit of every household, national: registry enrolments (enrolled) and linked active external rows, with the value per month (registry: the payment of the programme''s latest sent or closed cycle scaled to 30.4375 days; external: amount by frequency, a one-off 0) and its currency. Owner only.';
REVOKE ALL ON FUNCTION sp_internal.household_benefits() FROM PUBLIC;

-- ------------------------------------------------------------------------
-- Overlaps
-- ------------------------------------------------------------------------

CREATE FUNCTION sp.programme_overlap(level integer)
    RETURNS TABLE (area_code text, area_name text, programmes text[], households bigint, suppressed boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET jit = off
    SET work_mem = '64MB'
AS $$
#variable_conflict use_column
DECLARE
    k integer;
BEGIN
    PERFORM sp_internal.check_aggregate_level(programme_overlap.level);
    k := sp_internal.suppression_threshold();
    RETURN QUERY
    WITH hb AS (
        SELECT b.household_id, array_agg(DISTINCT b.programme ORDER BY b.programme) AS combo,
               coalesce(array_agg(DISTINCT b.programme ORDER BY b.programme) FILTER (WHERE b.source = 'registry'), '{}') AS rpart
        FROM sp_internal.household_benefits() b GROUP BY b.household_id
    ),
    leaf AS (
        SELECT h.admin_area_code AS code, coalesce(hb.combo, '{}') AS combo, coalesce(hb.rpart, '{}') AS rpart, count(*) AS n
        FROM sp.household h LEFT JOIN hb ON hb.household_id = h.household_id
        WHERE h.status = 'active'
        GROUP BY 1, 2, 3
    ),
    -- every area and level: the combinations (kind c), each area's total (t),
    -- and its households by the registry's programmes alone (r: what an
    -- analyst counts from the enrolments they read)
    rolled AS (
        SELECT split_part(a.path, '/', l + 2) AS code, x.kind, x.key, sum(leaf.n)::bigint AS n
        FROM leaf JOIN sp.admin_area a ON a.code = leaf.code
        CROSS JOIN generate_series(0, a.level) l
        CROSS JOIN LATERAL (VALUES ('c', leaf.combo), ('t', '{}'::text[]), ('r', leaf.rpart)) x (kind, key)
        GROUP BY 1, 2, 3
    ),
    cells AS (
        SELECT r.code, r.kind, r.key, r.n, a.parent_code, a.level AS lv, a.name,
               row_number() OVER (ORDER BY r.kind DESC, r.key, r.code COLLATE "C")::integer AS i
        FROM rolled r JOIN sp.admin_area a ON a.code = r.code
    ),
    -- three hierarchies: the same cell in the parent area; the area's
    -- total; the area's households with the same registry programmes
    edges AS (
        SELECT 0 AS j, c.i, g.i AS parent FROM cells c JOIN cells g ON g.code = c.parent_code AND g.kind = c.kind AND g.key = c.key
        UNION ALL
        SELECT 1, c.i, t.i FROM cells c JOIN cells t ON t.code = c.code AND t.kind = 't' WHERE c.kind = 'c'
        UNION ALL
        SELECT 2, c.i, r.i
        FROM cells c JOIN cells r ON r.code = c.code AND r.kind = 'r'
                                 AND r.key = ARRAY(SELECT u.p FROM unnest(c.key) u (p) WHERE u.p IN (SELECT g.name FROM sp.programme g) ORDER BY u.p)
        WHERE c.kind = 'c'
    ),
    decided AS (
        SELECT sp_internal.suppress_hierarchies((SELECT array_agg(c.n ORDER BY c.i) FROM cells c),
                                                array_agg(e.i), array_agg(e.parent), array_agg(e.j), greatest(k, 1),
                                                -- what an analyst knows: the totals and the registry's programmes
                                                (SELECT array_agg(c.kind IN ('t', 'r') AND k > 1 ORDER BY c.i) FROM cells c)) AS h
        FROM edges e
    )
    SELECT c.code, c.name, c.key, CASE WHEN d.h[c.i] THEN NULL ELSE c.n END, coalesce(d.h[c.i], false)
    FROM cells c CROSS JOIN decided d
    WHERE c.lv = programme_overlap.level AND c.kind = 'c'
      AND c.code IN (SELECT v.code FROM sp_internal.visible_areas() v (code))
    ORDER BY c.code, cardinality(c.key) DESC, c.key;
END
$$;
COMMENT ON FUNCTION sp.programme_overlap(integer) IS 'Active households per area of a level (in the caller''s scope) by the combination of programmes they currently receive from, registry and external ({} for none). For analysts, counts from 1 to min_cell_size - 1 are withheld (NULL, suppressed true), and enough others that none comes back from the area''s total, the parent area''s count of the same combination, or the households the analyst counts by the registry''s programmes they receive (from the enrolments they read); analysts get no level below the de-identified one. Counts cover the whole country.';

-- ------------------------------------------------------------------------
-- Gaps
-- ------------------------------------------------------------------------

-- Households eligible for a programme, by its rule (the latest eligibility
-- decision) or by poverty (the current assessment of the programme's PMT or
-- MPI model, or of any active one when it ranks by neither), that receive
-- nothing from any programme.  Owner only: national, for the two functions below.
CREATE FUNCTION sp_internal.coverage_gap_households(p_programme text)
    RETURNS TABLE (household_id bigint, admin_area_code text, by_rule boolean, by_pmt boolean, by_mpi boolean, pmt_score float8,
                   receives_registry boolean, receives_any boolean)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH g AS (SELECT x.ranking FROM sp.programme x WHERE x.name = p_programme),
    pmt_models AS (
        SELECT DISTINCT m.name FROM sp.pmt_model m, g
        WHERE m.status = 'active' AND (g.ranking ->> 'pmt' = m.name OR (g.ranking IS NULL OR NOT g.ranking ? 'pmt' AND NOT g.ranking ? 'mpi'))
    ),
    mpi_models AS (
        SELECT DISTINCT m.name FROM sp.mpi_model m, g
        WHERE m.status = 'active' AND (g.ranking ->> 'mpi' = m.name OR (g.ranking IS NULL OR NOT g.ranking ? 'pmt' AND NOT g.ranking ? 'mpi'))
    ),
    rule AS (
        SELECT DISTINCT ON (d.household_id) d.household_id, d.eligible
        FROM sp.eligibility_decision d WHERE d.programme = p_programme
        ORDER BY d.household_id, d.run_id DESC
    ),
    pmt AS (
        SELECT a.household_id, bool_or(a.below_cutoff) AS poor, min(a.score) AS score
        FROM sp.current_assessment a WHERE a.model IN (SELECT m.name FROM pmt_models m) GROUP BY a.household_id
    ),
    mpi AS (
        SELECT a.household_id, bool_or(a.poor) AS poor
        FROM sp.current_mpi_assessment a WHERE a.model IN (SELECT m.name FROM mpi_models m) GROUP BY a.household_id
    ),
    receiving AS MATERIALIZED (
        SELECT b.household_id, bool_or(b.source = 'registry') AS registry FROM sp_internal.household_benefits() b GROUP BY 1
    )
    SELECT h.household_id, h.admin_area_code, coalesce(r.eligible, false), coalesce(p.poor, false), coalesce(m.poor, false), p.score,
           coalesce(x.registry, false), x.household_id IS NOT NULL
    FROM sp.household h
    LEFT JOIN rule r ON r.household_id = h.household_id
    LEFT JOIN pmt p ON p.household_id = h.household_id
    LEFT JOIN mpi m ON m.household_id = h.household_id
    LEFT JOIN receiving x ON x.household_id = h.household_id
    WHERE h.status = 'active'
      AND (r.eligible OR p.poor OR m.poor)
$$;
COMMENT ON FUNCTION sp_internal.coverage_gap_households(text) IS 'Active households eligible for a programme by its rule (latest decision), its PMT model (below the cut-off) or its MPI model (poor) - any active model when the programme ranks by neither - with whether they receive from a registry programme and from any programme, registry or external (those receiving nothing are the gaps). National; owner only.';
REVOKE ALL ON FUNCTION sp_internal.coverage_gap_households(text) FROM PUBLIC;

CREATE FUNCTION sp_internal.require_programme(p_programme text)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_programme IS NULL OR NOT EXISTS (SELECT 1 FROM sp.programme g WHERE g.name = p_programme) THEN
        RAISE EXCEPTION 'programme "%" does not exist', coalesce(left(p_programme, 64), 'NULL')
            USING ERRCODE = 'no_data_found', COLUMN = 'programme';
    END IF;
END
$$;
COMMENT ON FUNCTION sp_internal.require_programme(text) IS 'Raises no_data_found, naming the programme, unless it is a registry programme.';

CREATE FUNCTION sp.coverage_gaps(programme text)
    RETURNS TABLE (household_id bigint, admin_area_code text, by_rule boolean, by_pmt boolean, by_mpi boolean, pmt_score float8)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET jit = off
AS $$
#variable_conflict use_column
BEGIN
    PERFORM sp_internal.require_programme(programme);
    RETURN QUERY
    SELECT g.household_id, g.admin_area_code, g.by_rule, g.by_pmt, g.by_mpi, g.pmt_score FROM sp_internal.coverage_gap_households(programme) g
    WHERE NOT g.receives_any AND g.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code))
    ORDER BY g.pmt_score NULLS LAST, g.household_id;
END
$$;
COMMENT ON FUNCTION sp.coverage_gaps(text) IS 'Households of the caller''s scope eligible for the programme - by its rule (by_rule), by PMT (by_pmt: below the cut-off of its model, or of any active model when it ranks by none) or by MPI (by_mpi: poor) - that receive nothing from any programme, registry or external: the exclusion list to follow up, poorest first. Counts for analysts: sp.coverage_gap_summary.';

CREATE FUNCTION sp.coverage_gap_summary(programme text, level integer)
    RETURNS TABLE (area_code text, area_name text, eligible_by_rule bigint, eligible_by_pmt bigint, eligible_by_mpi bigint,
                   receiving_nothing bigint, suppressed text[])
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET jit = off
AS $$
#variable_conflict use_column
BEGIN
    PERFORM sp_internal.require_programme(programme);
    PERFORM sp_internal.check_aggregate_level(coverage_gap_summary.level);
    RETURN QUERY
    WITH leaf AS (
        SELECT g.admin_area_code AS code,
               count(*) FILTER (WHERE g.by_rule AND NOT g.receives_any) AS r, count(*) FILTER (WHERE g.by_pmt AND NOT g.receives_any) AS p,
               count(*) FILTER (WHERE g.by_mpi AND NOT g.receives_any) AS m, count(*) FILTER (WHERE NOT g.receives_any) AS n,
               count(*) FILTER (WHERE g.by_rule AND NOT g.receives_registry) AS kr, count(*) FILTER (WHERE g.by_pmt AND NOT g.receives_registry) AS kp,
               count(*) FILTER (WHERE g.by_mpi AND NOT g.receives_registry) AS km, count(*) FILTER (WHERE NOT g.receives_registry) AS kn
        FROM sp_internal.coverage_gap_households(programme) g GROUP BY 1
    ),
    l AS (SELECT leaf.code, x.col, x.v FROM leaf CROSS JOIN LATERAL (VALUES (1, leaf.r), (2, leaf.p), (3, leaf.m), (4, leaf.n),
                                                                            (5, leaf.kr), (6, leaf.kp), (7, leaf.km), (8, leaf.kn)) x (col, v)),
    c AS (
        -- each kind of eligibility receiving nothing is a part of all those
        -- receiving nothing, and of those of that kind receiving nothing from
        -- the registry's programmes (5 to 8), which an analyst counts from
        -- the decisions, assessments and enrolments they read: what sets
        -- them apart, receiving from another ministry only, is protected
        SELECT x.* FROM sp_internal.area_counts(
            (SELECT array_agg(l.code) FROM l), (SELECT array_agg(l.col) FROM l), (SELECT array_agg(l.v) FROM l),
            coverage_gap_summary.level, sp_internal.suppression_threshold(),
            ARRAY[1, 4, 2, 4, 3, 4, 1, 5, 2, 6, 3, 7, 4, 8],
            CASE WHEN sp_internal.suppression_threshold() > 1 THEN ARRAY[5, 6, 7, 8] END) x
    )
    SELECT c.area_code, max(c.area_name),
           max(c.v) FILTER (WHERE c.col = 1 AND NOT c.hidden), max(c.v) FILTER (WHERE c.col = 2 AND NOT c.hidden),
           max(c.v) FILTER (WHERE c.col = 3 AND NOT c.hidden), max(c.v) FILTER (WHERE c.col = 4 AND NOT c.hidden),
           coalesce(array_agg((ARRAY['eligible_by_rule', 'eligible_by_pmt', 'eligible_by_mpi', 'receiving_nothing'])[c.col] ORDER BY c.col)
                    FILTER (WHERE c.hidden), '{}')
    FROM c
    WHERE c.area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code)) AND c.col <= 4
    GROUP BY c.area_code
    ORDER BY c.area_code;
END
$$;
COMMENT ON FUNCTION sp.coverage_gap_summary(text, integer) IS 'Per area of a level with households eligible for the programme (in the caller''s scope): households eligible for the programme by its rule, by PMT and by MPI that receive nothing from any programme, and all of them (receiving_nothing). For analysts, counts from 1 to min_cell_size - 1 withheld (NULL, named in suppressed) and enough others that no parent area''s count gives one back; no level below the de-identified one. Counts cover the whole country.';

-- ------------------------------------------------------------------------
-- Duplicates
-- ------------------------------------------------------------------------

CREATE FUNCTION sp.duplicate_beneficiaries()
    RETURNS TABLE (kind text, programme text, person_id bigint, household_id bigint, other_programme text,
                   other_person_id bigint, detail text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET jit = off
AS $$
BEGIN
    RETURN QUERY
    WITH b AS MATERIALIZED (SELECT * FROM sp_internal.household_benefits()),
    -- pairs of active persons the latest finished deduplication run put in one cluster
    pairs AS MATERIALIZED (
        SELECT row_number() OVER () AS pair, c1.run_id, c1.person_id AS p1, p1.household_id AS h1, c2.person_id AS p2, p2.household_id AS h2
        FROM (SELECT max(r.run_id) AS run_id FROM sp.dedup_run r WHERE r.finished_at IS NOT NULL) lr
        JOIN sp.person_cluster c1 ON c1.run_id = lr.run_id
        JOIN sp.person_cluster c2 ON c2.run_id = lr.run_id AND c2.cluster_id = c1.cluster_id AND c2.person_id > c1.person_id
        JOIN sp.person p1 ON p1.person_id = c1.person_id AND p1.status = 'active'
        JOIN sp.person p2 ON p2.person_id = c2.person_id AND p2.status = 'active'
    ),
    -- what each of the two receives: as the person, or as its household (hash joins, not a join on an OR)
    side AS (
        SELECT x.pair, x.run_id, x.first, x.person_id, b.programme, b.household_id, false AS by_household
        FROM (SELECT pr.pair, pr.run_id, true AS first, pr.p1 AS person_id, pr.h1 AS household_id FROM pairs pr
              UNION ALL SELECT pr.pair, pr.run_id, false, pr.p2, pr.h2 FROM pairs pr) x
        JOIN b ON b.person_id = x.person_id
        UNION ALL
        SELECT x.pair, x.run_id, x.first, x.person_id, b.programme, b.household_id, true
        FROM (SELECT pr.pair, pr.run_id, true AS first, pr.p1 AS person_id, pr.h1 AS household_id FROM pairs pr
              UNION ALL SELECT pr.pair, pr.run_id, false, pr.p2, pr.h2 FROM pairs pr) x
        JOIN b ON b.person_id IS NULL AND b.household_id = x.household_id
    ),
    -- the pairs of persons both receiving from one programme; a household
    -- benefit received by two households found to be one is one finding,
    -- whatever the number of their members paired
    same AS (
        SELECT DISTINCT s1.programme, s1.run_id, s1.person_id AS p1, s2.person_id AS p2, s1.household_id AS h1, s2.household_id AS h2,
               s1.by_household AND s2.by_household AS households
        FROM side s1 JOIN side s2 ON s2.pair = s1.pair AND s2.first = false AND s1.first AND s2.programme = s1.programme
                                  AND s2.household_id <> s1.household_id
    ),
    same_one AS (
        SELECT DISTINCT ON (m.programme, m.h1, m.h2, CASE WHEN m.households THEN 0 ELSE m.p1 END, CASE WHEN m.households THEN 0 ELSE m.p2 END)
               m.*, count(*) OVER (PARTITION BY m.programme, m.h1, m.h2, m.households) AS n
        FROM same m
        ORDER BY m.programme, m.h1, m.h2, CASE WHEN m.households THEN 0 ELSE m.p1 END, CASE WHEN m.households THEN 0 ELSE m.p2 END, m.p1, m.p2
    ),
    found AS (
        -- one programme's list has the same person twice
        SELECT 'same_person_twice'::text AS kind, x.programme, x.person_id, NULL::text AS other_programme, NULL::bigint AS other_person_id,
               format('%s rows of the %s list (%s) are this person', count(*), x.programme,
                      string_agg(x.source_record_id, ', ' ORDER BY x.source_record_id)) AS detail
        FROM sp.external_beneficiary x
        WHERE x.link_status = 'linked' AND x.status = 'active'
        GROUP BY x.programme, x.person_id HAVING count(*) > 1
        UNION ALL
        SELECT 'same_person_twice', e.programme, e.person_id, NULL, NULL,
               format('%s enrolments (%s) of this person', count(*), string_agg(e.enrolment_id::text, ', ' ORDER BY e.enrolment_id))
        FROM sp.enrolment e
        WHERE e.person_id IS NOT NULL AND e.state IN ('enrolled', 'suspended')
        GROUP BY e.programme, e.person_id HAVING count(*) > 1
        UNION ALL
        -- a list still names a person merged into another since it was linked
        SELECT 'merged_person', x.programme, p.merged_into, NULL, p.person_id,
               format('row %s of the %s list is linked to person %s, merged into %s', x.source_record_id, x.programme, p.person_id, p.merged_into)
        FROM sp.external_beneficiary x JOIN sp.person p ON p.person_id = x.person_id
        WHERE x.link_status = 'linked' AND x.status = 'active' AND p.status = 'merged'
        UNION ALL
        -- the same person receives the same kind of benefit from two programmes
        SELECT 'same_benefit_type', b1.programme, b1.person_id, b2.programme, NULL,
               format('%s from %s (%s) and %s (%s)', b1.benefit_type, b1.programme, b1.source, b2.programme, b2.source)
        FROM b b1 JOIN b b2 ON b2.person_id = b1.person_id AND b2.benefit_type = b1.benefit_type AND b2.programme > b1.programme
        WHERE b1.person_id IS NOT NULL
        UNION ALL
        -- two registrations the latest deduplication run found to be one person, both receiving from one programme
        SELECT 'likely_same_person', m.programme, m.p1, NULL::text, m.p2,
               CASE WHEN m.households AND m.n > 1
                    THEN format('deduplication run %s put persons %s and %s in one cluster, and %s other pairs of members of households %s and %s; both households receive it; not merged yet',
                                m.run_id, m.p1, m.p2, m.n - 1, m.h1, m.h2)
                    ELSE format('deduplication run %s put persons %s and %s in one cluster; not merged yet', m.run_id, m.p1, m.p2) END
        FROM same_one m
    )
    -- the other person only when the caller may see them too
    SELECT f.kind, f.programme, f.person_id, p.household_id, f.other_programme,
           CASE WHEN o.person_id IS NULL OR o.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code))
                THEN f.other_person_id END,
           CASE WHEN o.person_id IS NULL OR o.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code))
                THEN f.detail ELSE 'the other person is outside your area scope' END
    FROM found f JOIN sp.person p ON p.person_id = f.person_id
    LEFT JOIN sp.person o ON o.person_id = f.other_person_id
    WHERE p.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code))
    ORDER BY f.kind, f.programme, f.person_id, f.other_programme NULLS FIRST, f.other_person_id NULLS FIRST;
END
$$;
COMMENT ON FUNCTION sp.duplicate_beneficiaries() IS 'Persons of the caller''s scope who receive twice: same_person_twice (two rows of one external list, or two live enrolments of one person programme), merged_person (an external row still linked to a person since merged; person_id is the survivor, other_person_id the merged one), same_benefit_type (the same kind of benefit from two programmes, registry or external, given to the person), likely_same_person (two active persons the latest deduplication run put in one cluster, in different households, both receiving from one programme).';

-- ------------------------------------------------------------------------
-- Incidence
-- ------------------------------------------------------------------------

CREATE FUNCTION sp.benefit_incidence(level integer, model text DEFAULT NULL)
    RETURNS TABLE (area_code text, area_name text, decile integer, households bigint, beneficiary_households bigint,
                   monthly_value jsonb, share_of_value jsonb, suppressed boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET jit = off
    SET work_mem = '64MB'
AS $$
#variable_conflict use_column
DECLARE
    k integer;
    m text := model;
BEGIN
    PERFORM sp_internal.check_aggregate_level(benefit_incidence.level);
    IF m IS NULL THEN
        -- the PMT model most households have a current score under
        SELECT a.model INTO m FROM sp.current_assessment a JOIN sp.household h ON h.household_id = a.household_id AND h.status = 'active'
        GROUP BY a.model ORDER BY count(*) DESC, a.model LIMIT 1;
        IF m IS NULL THEN
            RAISE EXCEPTION 'no household has a PMT score' USING ERRCODE = 'no_data_found',
                HINT = 'Score households with sp.score_households first.';
        END IF;
    ELSIF NOT EXISTS (SELECT 1 FROM sp.pmt_model x WHERE x.name = m) THEN
        RAISE EXCEPTION 'PMT model "%" does not exist', left(m, 64) USING ERRCODE = 'no_data_found', COLUMN = 'model';
    END IF;
    k := sp_internal.suppression_threshold();
    RETURN QUERY
    WITH scored AS (
        -- deciles of the whole country, 1 the poorest (lowest score)
        SELECT a.household_id, h.admin_area_code,
               ntile(10) OVER (ORDER BY a.score, a.household_id)::integer AS dec
        FROM sp.current_assessment a JOIN sp.household h ON h.household_id = a.household_id AND h.status = 'active'
        WHERE a.model = m
    ),
    hb AS MATERIALIZED (SELECT * FROM sp_internal.household_benefits()),
    value AS (
        SELECT b.household_id, b.currency, sum(b.monthly_value) AS v
        FROM hb b WHERE b.currency IS NOT NULL GROUP BY 1, 2
    ),
    per_household AS (
        SELECT s.household_id, s.admin_area_code, s.dec, r.household_id IS NOT NULL AS receives, coalesce(r.registry, false) AS registry
        FROM scored s
        LEFT JOIN (SELECT b.household_id, bool_or(b.source = 'registry') AS registry FROM hb b GROUP BY 1) r ON r.household_id = s.household_id
    ),
    leaf AS (
        SELECT ph.admin_area_code AS code, ph.dec, count(*) AS n, count(*) FILTER (WHERE ph.receives) AS nb,
               count(*) FILTER (WHERE ph.registry) AS nr
        FROM per_household ph GROUP BY 1, 2
    ),
    leaf_value AS (
        SELECT s.admin_area_code AS code, s.dec, v.currency, sum(v.v) AS v
        FROM scored s JOIN value v ON v.household_id = s.household_id GROUP BY 1, 2, 3
    ),
    rolled AS (
        -- every area up to the level, per decile (dec 0: all deciles)
        SELECT split_part(a.path, '/', l + 2) AS code, d.dec, sum(leaf.n)::bigint AS n, sum(leaf.nb)::bigint AS nb, sum(leaf.nr)::bigint AS nr
        FROM leaf JOIN sp.admin_area a ON a.code = leaf.code
        CROSS JOIN generate_series(0, a.level) l
        CROSS JOIN LATERAL (VALUES (leaf.dec), (0)) d (dec)
        GROUP BY 1, 2
    ),
    rolled_value AS (
        SELECT split_part(a.path, '/', l + 2) AS code, lv.dec, lv.currency, sum(lv.v) AS v
        FROM leaf_value lv JOIN sp.admin_area a ON a.code = lv.code
        CROSS JOIN generate_series(0, least(a.level, benefit_incidence.level)) l
        GROUP BY 1, 2, 3
    ),
    -- every decile of every area (0 where none): households (col 1),
    -- those receiving anything (col 2, a part of col 1; the rest, receiving
    -- nothing, col -1), and those receiving from a registry programme (col
    -- 3, a part of col 2; the rest, receiving from other ministries only,
    -- col -2).  An analyst counts cols 1 and 3 from the scores and
    -- enrolments they read: known, so what lies between is protected.
    cells AS (
        SELECT ar.code, d.dec, x.col, x.v, a.parent_code, a.level AS lv, a.name, x.col IN (1, 3) AND k > 1 AS kn,
               row_number() OVER (ORDER BY x.col, d.dec, ar.code COLLATE "C")::integer AS i
        FROM (SELECT DISTINCT r.code FROM rolled r) ar
        JOIN sp.admin_area a ON a.code = ar.code
        CROSS JOIN generate_series(0, 10) d (dec)
        LEFT JOIN rolled r ON r.code = ar.code AND r.dec = d.dec
        CROSS JOIN LATERAL (VALUES (1, coalesce(r.n, 0)), (2, coalesce(r.nb, 0)), (3, coalesce(r.nr, 0)),
                                   (-1, coalesce(r.n - r.nb, 0)), (-2, coalesce(r.nb - r.nr, 0))) x (col, v)
    ),
    -- four hierarchies: the parent area; the area's total of all deciles;
    -- the decile's households (receiving, and not); those receiving (from
    -- the registry, and from other ministries only)
    linked AS (
        SELECT c.*, g.i AS geo_parent, t.i AS total_parent, h.i AS nest_parent, b.i AS receiving_parent
        FROM cells c
        LEFT JOIN cells g ON g.code = c.parent_code AND g.dec = c.dec AND g.col = c.col
        LEFT JOIN cells t ON c.dec > 0 AND t.code = c.code AND t.dec = 0 AND t.col = c.col
        LEFT JOIN cells h ON c.col IN (2, -1) AND h.code = c.code AND h.dec = c.dec AND h.col = 1
        LEFT JOIN cells b ON c.col IN (3, -2) AND b.code = c.code AND b.dec = c.dec AND b.col = 2
    ),
    decided AS (
        SELECT h.hidden, h.i::integer AS i
        FROM unnest(sp_internal.suppress_hierarchies(
                 (SELECT array_agg(l.v ORDER BY l.i) FROM linked l),
                 (SELECT array_agg(l.i) || array_agg(l.i) || array_agg(l.i) || array_agg(l.i) FROM linked l),
                 (SELECT array_agg(l.geo_parent) || array_agg(l.total_parent) || array_agg(l.nest_parent) || array_agg(l.receiving_parent)
                  FROM linked l),
                 (SELECT array_fill(0, ARRAY[count(*)::integer]) || array_fill(1, ARRAY[count(*)::integer]) || array_fill(2, ARRAY[count(*)::integer])
                         || array_fill(3, ARRAY[count(*)::integer])
                  FROM linked l),
                 greatest(k, 1), (SELECT array_agg(l.kn ORDER BY l.i) FROM linked l))) WITH ORDINALITY h (hidden, i)
    ),
    out AS (
        SELECT l.code, max(l.name) AS name, l.dec,
               max(l.v) FILTER (WHERE l.col = 1) AS n, max(l.v) FILTER (WHERE l.col = 2) AS nb,
               -- withheld whole: a count withheld, or a known one too small to show
               bool_or(d.hidden OR (l.kn AND l.v BETWEEN 1 AND k - 1)) AS hidden
        FROM linked l JOIN decided d ON d.i = l.i
        WHERE l.lv = benefit_incidence.level AND l.dec > 0
        GROUP BY l.code, l.dec
    ),
    -- value per area, decile and currency, and each area's total per currency
    val AS (
        SELECT rv.code, rv.dec, jsonb_object_agg(rv.currency, round(rv.v, 2)) AS value,
               jsonb_object_agg(rv.currency, round(rv.v / nullif(t.v, 0), 4)) AS share
        FROM rolled_value rv
        JOIN (SELECT t.code, t.currency, sum(t.v) AS v FROM rolled_value t GROUP BY 1, 2) t ON t.code = rv.code AND t.currency = rv.currency
        GROUP BY rv.code, rv.dec
    )
    SELECT o.code, o.name, o.dec,
           CASE WHEN o.hidden THEN NULL ELSE o.n END, CASE WHEN o.hidden THEN NULL ELSE o.nb END,
           CASE WHEN o.hidden THEN NULL ELSE coalesce(v.value, '{}') END,
           CASE WHEN o.hidden THEN NULL ELSE coalesce(v.share, '{}') END,
           o.hidden
    FROM out o LEFT JOIN val v ON v.code = o.code AND v.dec = o.dec
    WHERE o.code IN (SELECT vis.code FROM sp_internal.visible_areas() vis (code))
    ORDER BY o.code, o.dec;
END
$$;
COMMENT ON FUNCTION sp.benefit_incidence(integer, text) IS 'Where benefits go by welfare: active households with a current score under a PMT model (default: the model most households are scored under) in national deciles of that score (1: the poorest tenth), per area of a level in the caller''s scope: households, households receiving any benefit (registry or external), the value per month of their benefits by currency (jsonb), and each decile''s share of the area''s value per currency - how much reaches the poorest 20 % is the share of deciles 1 and 2. For analysts, a decile whose household counts would be from 1 to min_cell_size - 1, or would give one back through the area''s total or the parent area, is withheld whole (suppressed true); no level below the de-identified one.';
