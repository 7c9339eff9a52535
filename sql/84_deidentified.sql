-- De-identified views: what analysts (and anyone without access to
-- identities) read instead of sp.household and sp.person.
--
-- No names, identifiers, phone, location or exact birth date; areas at the
-- level set by the privacy setting deidentified_area_level (default 2, a
-- district) or above; attributes without text variables and variables marked
-- identifying (sp_internal.withheld_variables).  Ids are the registry's
-- surrogate keys: meaningless outside it, and what joins these views to
-- assessments, decisions and enrolments.  The views run with the owner's
-- rights (their readers need no access to the tables), filter by the reader's
-- area scope themselves and are security barriers, so that no function in a
-- reader's query sees rows outside that scope.

-- The area shown: the household's area when at or above the level, else its
-- ancestor at the level (from the materialised path /SY/SY01/...).  Written
-- out in each view rather than in a function: a SQL function with a pinned
-- search_path is not inlined, and one call per row cost more than the rest
-- of the view.
CREATE VIEW sp.person_deidentified WITH (security_barrier) AS
SELECT p.person_id, p.household_id,
       CASE WHEN a.level <= (SELECT sp_internal.privacy_setting('deidentified_area_level')) THEN a.code
            ELSE split_part(a.path, '/', (SELECT sp_internal.privacy_setting('deidentified_area_level')) + 2) END AS admin_area_code,
       extract(year FROM p.birth_date)::integer AS birth_year,
       CASE WHEN p.birth_date IS NULL THEN NULL
            ELSE extract(year FROM age(current_date, p.birth_date))::integer END AS age_years,
       p.sex, p.relationship_to_head,
       p.attributes - (SELECT sp_internal.withheld_variables('person')) AS attributes,
       p.status
FROM sp.person p JOIN sp.admin_area a ON a.code = p.admin_area_code
WHERE p.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code));
COMMENT ON VIEW sp.person_deidentified IS 'Persons of the reader''s area scope without names, identifiers, phone or exact birth date; area at the de-identified level (privacy setting deidentified_area_level) or above; attributes without text and identifying variables. For analysts (sp_analyst).';
COMMENT ON COLUMN sp.person_deidentified.admin_area_code IS 'The household''s area, or its ancestor at the de-identified level when the area is below it.';

CREATE VIEW sp.household_deidentified WITH (security_barrier) AS
SELECT h.household_id,
       CASE WHEN a.level <= (SELECT sp_internal.privacy_setting('deidentified_area_level')) THEN a.code
            ELSE split_part(a.path, '/', (SELECT sp_internal.privacy_setting('deidentified_area_level')) + 2) END AS admin_area_code,
       h.status,
       extract(year FROM h.registered_at)::integer AS registered_year,
       hp.urban, hp.household_size, hp.children_under_5, hp.children_under_15, hp.members_over_65,
       hp.disabled_members, hp.dependency_ratio, hp.share_disabled, hp.head_female, hp.head_age, hp.head_education,
       h.attributes - (SELECT sp_internal.withheld_variables('household')) AS attributes
FROM sp.household h
JOIN sp.admin_area a ON a.code = h.admin_area_code
LEFT JOIN sp.household_profile hp ON hp.household_id = h.household_id
WHERE h.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code));
COMMENT ON VIEW sp.household_deidentified IS 'Households of the reader''s area scope without location, exact area or identifying attributes: area at the de-identified level (privacy setting deidentified_area_level) or above, year of registration, the member-derived variables of sp.household_profile (NULL for households that are not active) and attributes without text and identifying variables. For analysts (sp_analyst).';
COMMENT ON COLUMN sp.household_deidentified.admin_area_code IS 'The household''s area, or its ancestor at the de-identified level when the area is below it.';
