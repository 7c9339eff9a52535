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

-- The area shown for each area: itself when at or above the level, else its
-- ancestor at the level (from the materialised path /SY/SY01/...).  A view,
-- not a function: a SQL function with a pinned search_path is not inlined,
-- and one call per row cost more than the rest of the views using it.
CREATE VIEW sp_internal.disclosed_area WITH (security_invoker = true) AS
SELECT a.code,
       CASE WHEN a.level <= (SELECT sp_internal.privacy_setting('deidentified_area_level')) THEN a.code
            ELSE split_part(a.path, '/', (SELECT sp_internal.privacy_setting('deidentified_area_level')) + 2) END AS shown_code
FROM sp.admin_area a;
COMMENT ON VIEW sp_internal.disclosed_area IS 'Each admin area with the code de-identified views show for it: the area itself at or above the privacy setting deidentified_area_level, else its ancestor at that level.';

CREATE VIEW sp.person_deidentified WITH (security_barrier) AS
SELECT p.person_id, p.household_id,
       a.shown_code AS admin_area_code,
       extract(year FROM p.birth_date)::integer AS birth_year,
       -- the age reached this year, from the birth year alone: an age from the
       -- exact date would reveal it (the day it changes, or the session time
       -- zone that moves current_date)
       (extract(year FROM current_date) - extract(year FROM p.birth_date))::integer AS age_years,
       p.sex, p.relationship_to_head,
       p.attributes - (SELECT sp_internal.withheld_variables('person')) AS attributes,
       p.status
FROM sp.person p JOIN sp_internal.disclosed_area a ON a.code = p.admin_area_code
WHERE p.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code))
-- in id order: in the order of a scan by area the rows of one exact area
-- would come together, and row numbers would give the area back
ORDER BY p.person_id;
COMMENT ON VIEW sp.person_deidentified IS 'Persons of the reader''s area scope (in person_id order) without names, identifiers, phone or exact birth date (birth year, and the age reached this year); area at the de-identified level (privacy setting deidentified_area_level) or above; attributes without text and identifying variables. For analysts (sp_analyst).';
COMMENT ON COLUMN sp.person_deidentified.admin_area_code IS 'The household''s area, or its ancestor at the de-identified level when the area is below it.';

CREATE VIEW sp.household_deidentified WITH (security_barrier) AS
SELECT h.household_id,
       a.shown_code AS admin_area_code,
       h.status,
       extract(year FROM h.registered_at)::integer AS registered_year,
       -- member-derived variables that do not depend on exact birth dates; count
       -- ages from sp.person_deidentified (birth years) by household_id
       hp.urban, hp.household_size, hp.disabled_members, hp.share_disabled, hp.head_female, hp.head_education,
       h.attributes - (SELECT sp_internal.withheld_variables('household')) AS attributes
FROM sp.household h
JOIN sp_internal.disclosed_area a ON a.code = h.admin_area_code
LEFT JOIN sp.household_profile hp ON hp.household_id = h.household_id
WHERE h.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code))
ORDER BY h.household_id;
COMMENT ON VIEW sp.household_deidentified IS 'Households of the reader''s area scope (in household_id order) without location, exact area or identifying attributes: area at the de-identified level (privacy setting deidentified_area_level) or above, year of registration, the member-derived variables of sp.household_profile that do not depend on exact birth dates (size, disabled members, the head''s sex and education; NULL for households that are not active) and attributes without text and identifying variables. For analysts (sp_analyst).';
COMMENT ON COLUMN sp.household_deidentified.admin_area_code IS 'The household''s area, or its ancestor at the de-identified level when the area is below it.';
