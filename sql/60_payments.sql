-- Payments (issue 12, first part): payment providers, entitlement rules per
-- programme, payment cycles approved by a second person, the payment list
-- (one payment per beneficiary and cycle: a constraint), and payment states
-- with their history.  Export to providers (G2P Connect disburse, CSV) and
-- reconciliation build on these tables.

CREATE TABLE sp.payment_provider (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9.-]{0,62}$'),
    title       text NOT NULL CHECK (btrim(title) <> ''),
    fa_type     text NOT NULL CHECK (fa_type IN ('mobile')),
    payer_fa    text NOT NULL CHECK (payer_fa ~ '^[a-zA-Z0-9.:_-]+@[a-zA-Z0-9.-]+$' AND length(payer_fa) <= 200),
    currency    text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    batch_size  integer NOT NULL DEFAULT 1000 CHECK (batch_size BETWEEN 1 AND 10000),
    sender_id   text NOT NULL DEFAULT 'sp-registry' CHECK (sender_id ~ '^[a-zA-Z0-9.:_-]{1,99}$'),
    receiver_id text CHECK (receiver_id ~ '^[a-zA-Z0-9.:_-]{1,99}$'),
    active      boolean NOT NULL DEFAULT true,
    description text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL DEFAULT sp_internal.caller()
);
COMMENT ON TABLE sp.payment_provider IS 'Payment service providers (mobile money, banks) that pay beneficiaries: the kind of financial address they pay to (mobile: the recipient''s phone, as type:id@provider in G2P Connect), the programme''s account with them (payer_fa), the currency they pay in and how many payments go in one request. National configuration.';
COMMENT ON COLUMN sp.payment_provider.fa_type IS 'Kind of payee financial address: mobile (mobile:<phone>@<provider>, the phone of the recipient, decrypted only when a payment file is exported). Bank accounts and vouchers need payment accounts the registry does not hold yet.';
COMMENT ON COLUMN sp.payment_provider.sender_id IS 'How the provider knows this registry: header.sender_id of G2P Connect disburse requests.';
COMMENT ON COLUMN sp.payment_provider.receiver_id IS 'The provider''s G2P Connect receiver_id, when it has one (header.receiver_id).';
COMMENT ON COLUMN sp.payment_provider.payer_fa IS 'The paying account, as G2P Connect''s cdpi_FinancialAddress (type:id@provider).';
CREATE TRIGGER payment_provider_national BEFORE INSERT OR UPDATE OR DELETE ON sp.payment_provider
    FOR EACH ROW EXECUTE FUNCTION sp_internal.national_configuration('changing a payment provider');

-- ------------------------------------------------------------------------
-- Entitlement rules
-- ------------------------------------------------------------------------

CREATE FUNCTION sp_internal.entitlement_error(field text, detail text)
    RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'invalid entitlement rule at "%"', field
        USING ERRCODE = 'invalid_parameter_value', DETAIL = detail;
END
$$;
COMMENT ON FUNCTION sp_internal.entitlement_error(text, text) IS 'Raises 22023 "invalid entitlement rule at <field>" with the detail.';

-- An amount of a rule: a number >= 0 with at most two decimals.
CREATE FUNCTION sp_internal.entitlement_amount_field(rule jsonb, field text, path text, required boolean)
    RETURNS numeric
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v jsonb := rule -> field;
    x numeric;
BEGIN
    IF v IS NULL THEN
        IF required THEN
            PERFORM sp_internal.entitlement_error(path, format('"%s" is required: an amount (a number with at most two decimals).', field));
        END IF;
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> 'number' THEN
        PERFORM sp_internal.entitlement_error(path, format('Expected an amount (a number), got %s.', left(v::text, 40)));
    END IF;
    x := v::text::numeric;
    -- at most 100 members or children times this still fits a payment's numeric(14, 2)
    IF x < 0 OR x > 1e9 THEN
        PERFORM sp_internal.entitlement_error(path, format('An amount is between 0 and 1,000,000,000, got %s.', x));
    END IF;
    IF x <> round(x, 2) THEN
        PERFORM sp_internal.entitlement_error(path, format('An amount has at most two decimals, got %s.', x));
    END IF;
    RETURN x;
END
$$;
COMMENT ON FUNCTION sp_internal.entitlement_amount_field(jsonb, text, text, boolean) IS 'Reads and checks an amount of an entitlement rule (>= 0, at most two decimals), naming the field at fault.';

CREATE FUNCTION sp_internal.entitlement_count_field(rule jsonb, field text, path text, lo integer, hi integer)
    RETURNS integer
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v jsonb := rule -> field;
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> 'number' OR v::text::numeric <> trunc(v::text::numeric)
       OR v::text::numeric < lo OR v::text::numeric > hi THEN
        PERFORM sp_internal.entitlement_error(path, format('Expected a whole number from %s to %s, got %s.', lo, hi, left(v::text, 40)));
    END IF;
    RETURN v::text::numeric::integer;
END
$$;
COMMENT ON FUNCTION sp_internal.entitlement_count_field(jsonb, text, text, integer, integer) IS 'Reads and checks a whole number of an entitlement rule, naming the field at fault.';

CREATE FUNCTION sp_internal.validate_entitlement(rule jsonb, target_unit text)
    RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c jsonb;
    i integer := 0;
    kind text;
    key text;
    floor_ numeric;
    cap numeric;
    step numeric;
BEGIN
    IF rule IS NULL OR jsonb_typeof(rule) <> 'object' THEN
        PERFORM sp_internal.entitlement_error('rule', 'An entitlement rule is an object with "currency" and "components".');
    END IF;
    FOR key IN SELECT jsonb_object_keys(rule) LOOP
        IF key NOT IN ('currency', 'components', 'floor', 'cap', 'rounding') THEN
            PERFORM sp_internal.entitlement_error(key, 'Unknown key; a rule has currency, components, floor, cap and rounding.');
        END IF;
    END LOOP;
    IF jsonb_typeof(rule -> 'currency') IS DISTINCT FROM 'string' OR (rule ->> 'currency') !~ '^[A-Z]{3}$' THEN
        PERFORM sp_internal.entitlement_error('currency', 'An ISO 4217 code of three capital letters, such as KES or SOS.');
    END IF;
    IF jsonb_typeof(rule -> 'components') IS DISTINCT FROM 'array' OR jsonb_array_length(rule -> 'components') = 0 THEN
        PERFORM sp_internal.entitlement_error('components', 'A non-empty array of components (flat, per_member, per_child, per_member_with, top_up).');
    END IF;
    FOR c IN SELECT e FROM jsonb_array_elements(rule -> 'components') e LOOP
        IF jsonb_typeof(c) <> 'object' THEN
            PERFORM sp_internal.entitlement_error(format('components[%s]', i), 'Each component is an object with "kind" and "amount".');
        END IF;
        kind := c ->> 'kind';
        IF kind IS NULL OR kind NOT IN ('flat', 'per_member', 'per_child', 'per_member_with', 'top_up') THEN
            PERFORM sp_internal.entitlement_error(format('components[%s].kind', i), 'One of flat, per_member, per_child, per_member_with, top_up.');
        END IF;
        FOR key IN SELECT jsonb_object_keys(c) LOOP
            IF key NOT IN ('kind', 'amount', 'max', 'under_age', 'attribute', 'equals', 'min_age', 'max_age', 'from', 'to', 'area')
               OR (key = 'under_age' AND kind <> 'per_child')
               OR (key IN ('attribute', 'equals', 'min_age', 'max_age') AND kind <> 'per_member_with')
               OR (key IN ('from', 'to', 'area') AND kind <> 'top_up')
               OR (key = 'max' AND kind IN ('flat', 'top_up')) THEN
                PERFORM sp_internal.entitlement_error(format('components[%s].%s', i, key),
                    'flat has an amount; per_member an amount and an optional max (members counted); per_child an amount, under_age and an optional max; per_member_with an amount, a condition on members (attribute and equals, min_age, max_age) and an optional max; top_up an amount, from and to (the cycles it applies to) and an optional area.');
            END IF;
        END LOOP;
        IF kind = 'top_up' THEN
            IF jsonb_typeof(c -> 'from') IS DISTINCT FROM 'string' OR (c ->> 'from') !~ '^\d{4}-\d{2}-\d{2}$'
               OR jsonb_typeof(c -> 'to') IS DISTINCT FROM 'string' OR (c ->> 'to') !~ '^\d{4}-\d{2}-\d{2}$' THEN
                PERFORM sp_internal.entitlement_error(format('components[%s].from', i),
                    'A top-up applies to the cycles that begin from "from" to "to" (dates, YYYY-MM-DD).');
            END IF;
            BEGIN
                IF (c ->> 'from')::date > (c ->> 'to')::date THEN
                    PERFORM sp_internal.entitlement_error(format('components[%s].to', i), 'to is on or after from.');
                END IF;
            EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
                PERFORM sp_internal.entitlement_error(format('components[%s].from', i), 'from and to are real dates.');
            END;
            IF c ? 'area' AND NOT EXISTS (SELECT 1 FROM sp.admin_area a WHERE a.code = c ->> 'area') THEN
                PERFORM sp_internal.entitlement_error(format('components[%s].area', i), 'An admin area code: the top-up goes to the units of its subtree.');
            END IF;
        END IF;
        IF kind = 'per_member_with' THEN
            IF NOT (c ? 'attribute' OR c ? 'min_age' OR c ? 'max_age') THEN
                PERFORM sp_internal.entitlement_error(format('components[%s]', i),
                    'per_member_with counts the members who meet a condition: give attribute and equals, min_age or max_age.');
            END IF;
            IF c ? 'attribute' OR c ? 'equals' THEN
                IF NOT EXISTS (SELECT 1 FROM sp.variable v WHERE v.code = c ->> 'attribute' AND v.entity = 'person') THEN
                    PERFORM sp_internal.entitlement_error(format('components[%s].attribute', i), 'A person variable of the catalogue (sp.variable, entity person).');
                END IF;
                IF jsonb_typeof(c -> 'equals') IS NULL OR jsonb_typeof(c -> 'equals') NOT IN ('string', 'number', 'boolean') THEN
                    PERFORM sp_internal.entitlement_error(format('components[%s].equals', i), 'The value the attribute must have: a string, number or true/false.');
                END IF;
            END IF;
            IF coalesce(sp_internal.entitlement_count_field(c, 'min_age', format('components[%s].min_age', i), 0, 120), 0)
               > coalesce(sp_internal.entitlement_count_field(c, 'max_age', format('components[%s].max_age', i), 0, 120), 120) THEN
                PERFORM sp_internal.entitlement_error(format('components[%s].max_age', i), 'max_age is at least min_age.');
            END IF;
        END IF;
        PERFORM sp_internal.entitlement_amount_field(c, 'amount', format('components[%s].amount', i), true);
        PERFORM sp_internal.entitlement_count_field(c, 'max', format('components[%s].max', i), 1, 100);
        IF kind = 'per_child' AND sp_internal.entitlement_count_field(c, 'under_age', format('components[%s].under_age', i), 1, 25) IS NULL THEN
            PERFORM sp_internal.entitlement_error(format('components[%s].under_age', i), 'per_child counts members younger than under_age years (1 to 25).');
        END IF;
        IF kind NOT IN ('flat', 'top_up') AND target_unit = 'person' THEN
            PERFORM sp_internal.entitlement_error(format('components[%s].kind', i),
                'The programme pays persons: only flat amounts apply (members are counted for households).');
        END IF;
        i := i + 1;
    END LOOP;
    floor_ := sp_internal.entitlement_amount_field(rule, 'floor', 'floor', false);
    cap := sp_internal.entitlement_amount_field(rule, 'cap', 'cap', false);
    IF floor_ IS NOT NULL AND cap IS NOT NULL AND floor_ > cap THEN
        PERFORM sp_internal.entitlement_error('floor', format('The floor (%s) is above the cap (%s).', floor_, cap));
    END IF;
    step := sp_internal.entitlement_amount_field(rule, 'rounding', 'rounding', false);
    IF step = 0 THEN
        PERFORM sp_internal.entitlement_error('rounding', 'Amounts are rounded to a multiple of rounding (0.01, 1, 50, ...); 0 is not one.');
    END IF;
    RETURN rule;
END
$$;
COMMENT ON FUNCTION sp_internal.validate_entitlement(jsonb, text) IS 'Checks an entitlement rule (docs/payments.md) for a programme of the given target unit (a per_member_with attribute against the catalogue); raises 22023 naming the field at fault.';

-- The amount of a rule for a unit: members and the ages of its members at the
-- start of the period (NULL: birth date unknown, never counted as a child).
CREATE FUNCTION sp_internal.entitlement_amount(rule jsonb, members integer, ages integer[], matching integer[] DEFAULT NULL)
    RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH comps AS (
        SELECT c, CASE WHEN c ->> 'kind' IN ('per_member_with', 'top_up')
                       THEN count(*) FILTER (WHERE c ->> 'kind' IN ('per_member_with', 'top_up')) OVER (ORDER BY o) END AS w
        FROM jsonb_array_elements(rule -> 'components') WITH ORDINALITY x (c, o)),
    parts AS (
        SELECT sum(CASE c ->> 'kind'
                       WHEN 'flat' THEN (c ->> 'amount')::numeric
                       WHEN 'per_member' THEN (c ->> 'amount')::numeric
                            * least(coalesce(members, 0), coalesce((c ->> 'max')::numeric, 2147483647))
                       WHEN 'per_child' THEN (c ->> 'amount')::numeric
                            * least((SELECT count(*) FROM unnest(ages) a WHERE a < (c ->> 'under_age')::numeric),
                                    coalesce((c ->> 'max')::numeric, 2147483647))
                       WHEN 'per_member_with' THEN (c ->> 'amount')::numeric
                            * least(coalesce(matching[w], 0), coalesce((c ->> 'max')::numeric, 2147483647))
                       WHEN 'top_up' THEN (c ->> 'amount')::numeric * least(coalesce(matching[w], 0), 1)
                   END) AS total
        FROM comps),
    rounded AS (
        SELECT CASE WHEN rule ? 'rounding'
                    THEN round(coalesce(total, 0) / (rule ->> 'rounding')::numeric) * (rule ->> 'rounding')::numeric
                    ELSE round(coalesce(total, 0), 2) END AS amount
        FROM parts),
    floored AS (
        SELECT CASE WHEN rule ? 'floor' THEN greatest(amount, (rule ->> 'floor')::numeric) ELSE amount END AS amount
        FROM rounded)
    SELECT CASE WHEN rule ? 'cap' THEN least(amount, (rule ->> 'cap')::numeric) ELSE amount END
    FROM floored
$$;
COMMENT ON FUNCTION sp_internal.entitlement_amount(jsonb, integer, integer[], integer[]) IS 'What a validated entitlement rule pays a unit with this many members of these ages (years; NULL unknown) and matching[k] members meeting the condition of its k-th per_member_with component (for its k-th top_up: 1 when it applies to the unit and cycle): the components summed (per_member, per_child and per_member_with up to their max), rounded half up to a multiple of rounding (default 0.01), then raised to the floor and lowered to the cap: floor and cap are what a unit receives at least and at most, whatever the rounding.';

CREATE TABLE sp.programme_entitlement (
    programme  text PRIMARY KEY REFERENCES sp.programme (name),
    rule       jsonb NOT NULL,
    provider   text NOT NULL REFERENCES sp.payment_provider (name),
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL DEFAULT sp_internal.caller(),
    version    integer NOT NULL DEFAULT 1
);
COMMENT ON TABLE sp.programme_entitlement IS 'What each programme pays (a validated entitlement rule: currency, components, floor, cap, rounding) and through which provider. Set with sp.set_entitlement; earlier versions are in sp.programme_entitlement_history.';

CREATE TABLE sp.programme_entitlement_history (
    history_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    programme     text NOT NULL,
    rule          jsonb NOT NULL,
    provider      text NOT NULL,
    version       integer NOT NULL,
    changed_at    timestamptz NOT NULL DEFAULT now(),
    changed_by    text NOT NULL DEFAULT sp_internal.caller(),
    change_reason text NOT NULL
);
CREATE INDEX programme_entitlement_history_idx ON sp.programme_entitlement_history (programme, version);
COMMENT ON TABLE sp.programme_entitlement_history IS 'Every version of every entitlement rule, with who set it, when and why. Append-only.';
CREATE TRIGGER programme_entitlement_history_append_only BEFORE UPDATE OR DELETE ON sp.programme_entitlement_history
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();
CREATE TRIGGER programme_entitlement_no_delete BEFORE DELETE ON sp.programme_entitlement
    FOR EACH ROW EXECUTE FUNCTION sp_internal.forbid_delete();

CREATE FUNCTION sp.set_entitlement(programme text, rule jsonb, provider text, reason text)
    RETURNS sp.programme_entitlement
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    unit text;
    cur text;
    x sp.programme_entitlement;
BEGIN
    PERFORM sp_internal.require_reason(reason, 'Every change of what a programme pays records why.');
    PERFORM sp_internal.require_national_scope('Setting what a programme pays');
    SELECT g.target_unit INTO unit FROM sp.programme g WHERE g.name = set_entitlement.programme;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'programme "%" does not exist', left(programme, 64) USING ERRCODE = 'no_data_found';
    END IF;
    SELECT p.currency INTO cur FROM sp.payment_provider p WHERE p.name = set_entitlement.provider AND p.active;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'payment provider "%" does not exist or is not active', left(provider, 64)
            USING ERRCODE = 'no_data_found', COLUMN = 'provider';
    END IF;
    PERFORM sp_internal.validate_entitlement(rule, unit);
    IF rule ->> 'currency' <> cur THEN
        PERFORM sp_internal.entitlement_error('currency', format('Provider "%s" pays in %s, the rule in %s.', provider, cur, rule ->> 'currency'));
    END IF;
    INSERT INTO sp.programme_entitlement AS e (programme, rule, provider)
    VALUES (set_entitlement.programme, set_entitlement.rule, set_entitlement.provider)
    ON CONFLICT ON CONSTRAINT programme_entitlement_pkey DO UPDATE
        SET rule = excluded.rule, provider = excluded.provider, updated_at = now(),
            updated_by = sp_internal.caller(), version = e.version + 1
    RETURNING * INTO x;
    INSERT INTO sp.programme_entitlement_history (programme, rule, provider, version, change_reason)
    VALUES (x.programme, x.rule, x.provider, x.version, reason);
    RETURN x;
END
$$;
COMMENT ON FUNCTION sp.set_entitlement(text, jsonb, text, text) IS 'Sets what a programme pays: a validated entitlement rule (refused with 22023 naming the field at fault), paid through an active provider of the same currency. Needs national scope and a reason; every version is kept.';

-- ------------------------------------------------------------------------
-- Payment cycles
-- ------------------------------------------------------------------------

CREATE TABLE sp.payment_cycle (
    cycle_id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    programme           text NOT NULL REFERENCES sp.programme (name),
    period_start        date NOT NULL,
    period_end          date NOT NULL,
    status              text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'approved', 'sent', 'closed')),
    rule                jsonb,
    rule_version        integer,
    provider            text REFERENCES sp.payment_provider (name),
    currency            text,
    payments            integer NOT NULL DEFAULT 0,
    total_amount        numeric NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now(),
    created_by          text NOT NULL DEFAULT sp_internal.caller(),
    generated_at        timestamptz,
    generated_by        text,
    approved_at         timestamptz,
    approved_by         text,
    sent_at             timestamptz,
    closed_at           timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    version             integer NOT NULL DEFAULT 1,
    CHECK (period_end >= period_start),
    CHECK (status = 'draft' OR (generated_by IS NOT NULL AND approved_by IS NOT NULL AND approved_by <> generated_by)),
    UNIQUE (programme, period_start)
);
COMMENT ON TABLE sp.payment_cycle IS 'One payment round of a programme for a period: draft (payment list generated, possibly again) -> approved (by a second person, never the one who generated the list) -> sent -> closed. Keeps the entitlement rule it was generated with. Every change is in sp.payment_cycle_history.';

CREATE TABLE sp.payment_cycle_history (
    history_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cycle_id    bigint NOT NULL REFERENCES sp.payment_cycle (cycle_id),
    from_status text,
    to_status   text NOT NULL,
    payments    integer NOT NULL,
    total_amount numeric NOT NULL,
    detail      text,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    changed_by  text NOT NULL DEFAULT sp_internal.caller(),
    session_role text NOT NULL DEFAULT session_user
);
CREATE INDEX payment_cycle_history_idx ON sp.payment_cycle_history (cycle_id, history_id);
COMMENT ON TABLE sp.payment_cycle_history IS 'Every change of every payment cycle (creation, each generation of its list, approval, sending, closing) with who and when. Append-only.';
COMMENT ON COLUMN sp.payment_cycle_history.session_role IS 'The login role of the session (the person), beside changed_by (the role in effect, maybe a team role taken with SET ROLE): four-eyes approval compares both.';
CREATE TRIGGER payment_cycle_history_append_only BEFORE UPDATE OR DELETE ON sp.payment_cycle_history
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();

CREATE FUNCTION sp_internal.payment_cycle_guard()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' AND sp_internal.loading_rows(TG_RELID) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'draft' THEN
            RAISE EXCEPTION 'a new payment cycle starts as draft' USING ERRCODE = 'check_violation', COLUMN = 'status';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.programme <> OLD.programme OR NEW.period_start <> OLD.period_start OR NEW.period_end <> OLD.period_end THEN
        RAISE EXCEPTION 'payment cycle % cannot change its programme or period', OLD.cycle_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF NEW.status <> OLD.status AND NOT (
           (OLD.status = 'draft' AND NEW.status = 'approved')
        OR (OLD.status = 'approved' AND NEW.status = 'sent')
        OR (OLD.status = 'sent' AND NEW.status = 'closed')) THEN
        RAISE EXCEPTION 'payment cycle % cannot go from % to %', OLD.cycle_id, OLD.status, NEW.status
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Allowed: draft -> approved (by a second person) -> sent -> closed.';
    END IF;
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION sp_internal.payment_cycle_guard() IS 'Trigger: a payment cycle keeps its programme and period; its status goes draft -> approved -> sent -> closed.';
CREATE TRIGGER payment_cycle_guard BEFORE INSERT OR UPDATE ON sp.payment_cycle
    FOR EACH ROW EXECUTE FUNCTION sp_internal.payment_cycle_guard();
CREATE TRIGGER payment_cycle_no_delete BEFORE DELETE ON sp.payment_cycle
    FOR EACH ROW EXECUTE FUNCTION sp_internal.forbid_delete();

CREATE FUNCTION sp_internal.payment_cycle_log()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' AND sp_internal.loading_rows(TG_RELID) THEN
        RETURN NULL;
    END IF;
    INSERT INTO sp.payment_cycle_history (cycle_id, from_status, to_status, payments, total_amount, detail)
    VALUES (NEW.cycle_id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.status, NEW.payments, NEW.total_amount,
            CASE WHEN TG_OP = 'INSERT' THEN 'created'
                 WHEN NEW.status <> OLD.status
                     THEN NEW.status || coalesce(': ' || nullif(current_setting('sp_registry.change_reason', true), ''), '')
                 WHEN NEW.generated_at IS DISTINCT FROM OLD.generated_at THEN 'payment list generated'
                 WHEN NEW.conditionality_applied_at IS DISTINCT FROM OLD.conditionality_applied_at THEN 'programme conditions applied'
                 WHEN NEW.payments <> OLD.payments OR NEW.total_amount <> OLD.total_amount THEN 'totals changed: a payment was cancelled'
                 ELSE 'updated' END);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sp_internal.payment_cycle_log() IS 'Trigger: records every change of a payment cycle in sp.payment_cycle_history.';
CREATE TRIGGER payment_cycle_log AFTER INSERT OR UPDATE ON sp.payment_cycle
    FOR EACH ROW EXECUTE FUNCTION sp_internal.payment_cycle_log();

-- ------------------------------------------------------------------------
-- Payments
-- ------------------------------------------------------------------------

-- the batches a cycle is sent in (sql/61_disbursement.sql), created before the
-- payments that name them so that a restore loads them first
CREATE TABLE sp.disbursement_batch (
    batch_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cycle_id       bigint NOT NULL REFERENCES sp.payment_cycle (cycle_id),
    provider       text NOT NULL REFERENCES sp.payment_provider (name),
    batch_no       integer NOT NULL CHECK (batch_no >= 1),
    transaction_id text NOT NULL UNIQUE CHECK (length(transaction_id) <= 99),
    message_id     uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    payments       integer NOT NULL CHECK (payments > 0),
    total_amount   numeric(16, 2) NOT NULL,
    currency       text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     text NOT NULL DEFAULT sp_internal.caller(),
    UNIQUE (cycle_id, provider, batch_no)
);
COMMENT ON TABLE sp.disbursement_batch IS 'The batches an approved cycle was sent to a provider in: at most payment_provider.batch_size payments each, with the G2P Connect transaction_id and message_id of its disburse request. A payment is in one batch, for good; exporting again sends the same batches.';
CREATE TRIGGER disbursement_batch_append_only BEFORE UPDATE OR DELETE ON sp.disbursement_batch
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();

CREATE TABLE sp.payment (
    payment_id     bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    -- references checked per statement (below), not per row: a cycle
    -- inserts a million payments at once, and none of these ever changes
    cycle_id       bigint NOT NULL,
    programme      text NOT NULL,
    enrolment_id   bigint NOT NULL,
    household_id   bigint NOT NULL,
    unit_person_id bigint,
    recipient_id   bigint NOT NULL,
    provider       text NOT NULL,
    amount         numeric(14, 2) NOT NULL CHECK (amount > 0),
    currency       text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    reference_id   text NOT NULL UNIQUE,
    status         text NOT NULL DEFAULT 'created'
                   CHECK (status IN ('created', 'approved', 'sent', 'paid', 'failed', 'reissued', 'reversed', 'cancelled')),
    status_reason  text,
    reissue_of     bigint,
    payee_hash     bytea,
    batch_id       bigint REFERENCES sp.disbursement_batch (batch_id),
    -- not cancelled: what the unique indexes count, kept apart from the
    -- status so that the status can change without touching any index (HOT)
    live           boolean GENERATED ALWAYS AS (status <> 'cancelled') STORED,
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     text NOT NULL DEFAULT sp_internal.caller(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    updated_by     text NOT NULL DEFAULT sp_internal.caller(),
    version        integer NOT NULL DEFAULT 1
) WITH (fillfactor = 80);
-- paid once per cycle: per enrolment, and per unit (a household, or a person
-- for person programmes) whatever enrolments point at it after merges; a
-- cancelled payment pays nothing and does not count
CREATE UNIQUE INDEX payment_cycle_enrolment_idx ON sp.payment (cycle_id, enrolment_id)
    WHERE reissue_of IS NULL AND live;
CREATE UNIQUE INDEX payment_cycle_household_idx ON sp.payment (cycle_id, household_id)
    WHERE unit_person_id IS NULL AND reissue_of IS NULL AND live;
CREATE UNIQUE INDEX payment_cycle_person_idx ON sp.payment (cycle_id, unit_person_id)
    WHERE unit_person_id IS NOT NULL AND reissue_of IS NULL AND live;
-- a failed payment has one live re-issue at a time (a cancelled re-issue
-- gives the failed payment back, to be re-issued again)
CREATE UNIQUE INDEX payment_reissue_idx ON sp.payment (reissue_of) WHERE reissue_of IS NOT NULL AND live;
CREATE INDEX payment_household_idx ON sp.payment (household_id);
CREATE INDEX payment_batch_idx ON sp.payment (batch_id) WHERE batch_id IS NOT NULL;
-- (no index holds the status: approval, sending and reconciliation change it
-- for a whole cycle, and each change is then a heap-only update; fillfactor
-- 80 leaves the room on each page for it)
CREATE INDEX payment_cycle_idx ON sp.payment (cycle_id);
COMMENT ON TABLE sp.payment IS 'One payment to one beneficiary in one cycle: amount, currency, provider, the person who receives it and a reference_id that identifies it to the provider. A unit is paid once per cycle (unique indexes, not a check in code). Status: created -> approved -> sent -> paid | failed; failed -> reissued (a new payment in a later cycle) or cancelled; reissued -> failed when the re-issue is cancelled; paid -> reversed; created or approved -> cancelled. Every change is in sp.payment_history; rows are never deleted.';
COMMENT ON COLUMN sp.payment.unit_person_id IS 'For programmes that enrol persons: the person paid for (NULL for household programmes).';
COMMENT ON COLUMN sp.payment.recipient_id IS 'Who receives the money: the household''s head, or the enrolled person.';
COMMENT ON COLUMN sp.payment.payee_hash IS 'Blind index of the phone the payment was generated for (mobile providers): the export pays only if the recipient''s phone is still that one, so that a phone changed after the second person approved the list does not receive the money.';
COMMENT ON COLUMN sp.payment.live IS 'Not cancelled (generated from the status): a live payment counts for the unit''s one payment per cycle.';
COMMENT ON COLUMN sp.payment.batch_id IS 'The disbursement batch the payment was sent in (set once, when it is sent).';
COMMENT ON COLUMN sp.payment.reference_id IS 'G2P Connect reference_id: programme, cycle and payment_id; what a provider''s statement is matched by.';

CREATE TABLE sp.payment_history (
    history_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id    bigint NOT NULL,
    cycle_id      bigint NOT NULL,
    household_id  bigint NOT NULL,
    from_status   text,
    to_status     text NOT NULL,
    amount        numeric(14, 2) NOT NULL,
    reason        text,
    changed_at    timestamptz NOT NULL DEFAULT now(),
    changed_by    text NOT NULL DEFAULT sp_internal.caller()
);
CREATE INDEX payment_history_payment_idx ON sp.payment_history (payment_id, history_id);
CREATE INDEX payment_history_household_idx ON sp.payment_history (household_id);
COMMENT ON TABLE sp.payment_history IS 'Every payment created and every status change, with the reason, who and when. Append-only.';
-- its payment checked per statement (sp_internal.check_references), not per
-- row: a cycle writes a million history rows at each step, and a payment is
-- never deleted
DO $refs$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM (VALUES ('cycle', 'cycle_id', 'sp.payment_cycle', 'cycle_id'), ('programme', 'programme', 'sp.programme', 'name'),
                                   ('enrolment', 'enrolment_id', 'sp.enrolment', 'enrolment_id'),
                                   ('household', 'household_id', 'sp.household', 'household_id'),
                                   ('unit_person', 'unit_person_id', 'sp.person', 'person_id'),
                                   ('recipient', 'recipient_id', 'sp.person', 'person_id'),
                                   ('provider', 'provider', 'sp.payment_provider', 'name'),
                                   ('reissue_of', 'reissue_of', 'sp.payment', 'payment_id')) v (label, col, parent, parent_col) LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON sp.payment REFERENCING NEW TABLE AS changed_rows
                            FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.check_references(%L, %L, %L)',
                       'payment_' || r.label || '_ref', r.col, r.parent, r.parent_col);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %s REFERENCING OLD TABLE AS changed_rows
                            FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.check_references(%L, %L, %L)',
                       replace(r.parent, 'sp.', '') || '_payment_' || r.label || '_ref', r.parent, r.parent_col, 'sp.payment', r.col);
    END LOOP;
END
$refs$;
-- (rows that sp_internal.payment_log writes from sp.payment's own transition
-- tables name payments that exist: checked only for rows written otherwise,
-- a restore or a correction by hand)
CREATE TRIGGER payment_history_payment_ref AFTER INSERT ON sp.payment_history REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT WHEN (pg_catalog.pg_trigger_depth() < 1) EXECUTE FUNCTION sp_internal.check_references('payment_id', 'sp.payment', 'payment_id');
CREATE TRIGGER payment_payment_history_ref AFTER DELETE ON sp.payment REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.check_references('payment_id', 'sp.payment_history', 'payment_id');
CREATE TRIGGER payment_history_append_only BEFORE UPDATE OR DELETE ON sp.payment_history
    FOR EACH ROW EXECUTE FUNCTION sp_internal.history_is_append_only();

CREATE TABLE sp.payment_exclusion (
    cycle_id     bigint NOT NULL REFERENCES sp.payment_cycle (cycle_id),
    enrolment_id bigint NOT NULL REFERENCES sp.enrolment (enrolment_id),
    household_id bigint NOT NULL REFERENCES sp.household (household_id),
    person_id    bigint REFERENCES sp.person (person_id),
    reason       text NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    resolved_at  timestamptz,
    PRIMARY KEY (cycle_id, enrolment_id)
);
CREATE INDEX payment_exclusion_household_idx ON sp.payment_exclusion (household_id);
COMMENT ON TABLE sp.payment_exclusion IS 'Beneficiaries of a programme left out of a cycle''s payment list, with the reason (suspended, exited, deceased, merged into another record, no one to receive, no phone to pay to, nothing due): so that a family can be told why it was not paid. Generating the list again updates the reason.';
CREATE TRIGGER payment_exclusion_no_delete BEFORE DELETE ON sp.payment_exclusion
    FOR EACH ROW EXECUTE FUNCTION sp_internal.forbid_delete();

-- The payment lifecycle, enforced in C (a million rows change status at each
-- step of a cycle; src/pg/lifecycle.c): a new payment is created; amount,
-- currency, recipient, provider, cycle and reference never change; the batch
-- is set once, when the payment is sent.  A re-issued payment goes back to
-- failed only once its re-issue is cancelled (checked per statement in
-- sp_internal.payment_log).
CREATE TRIGGER payment_guard BEFORE INSERT OR UPDATE ON sp.payment
    FOR EACH ROW EXECUTE FUNCTION sp_internal.lifecycle_guard(
        'payment', 'payment_id', 'status', 'status_reason', 'created',
        'created>approved|cancelled; approved>sent|cancelled; sent>paid|failed; paid>reversed; failed>reissued|cancelled; reissued>failed',
        'payment_id, cycle_id, programme, enrolment_id, household_id, unit_person_id, recipient_id, provider, amount, currency, reference_id, reissue_of, payee_hash, created_at, created_by',
        'batch_id',
        'What a payment pays, to whom and in which cycle never changes: cancel it and generate the cycle''s list again.');
COMMENT ON TRIGGER payment_guard ON sp.payment IS 'The payment lifecycle: created -> approved | cancelled; approved -> sent | cancelled; sent -> paid | failed; paid -> reversed; failed -> reissued | cancelled; reissued -> failed (only when its re-issue is cancelled); reversed and cancelled are final. What a payment pays, to whom and in which cycle never changes; its batch is set once.';
CREATE TRIGGER payment_no_delete BEFORE DELETE ON sp.payment
    FOR EACH ROW EXECUTE FUNCTION sp_internal.forbid_delete();

-- History per statement: a cycle creates and approves a million payments at once.
CREATE FUNCTION sp_internal.payment_log()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bad bigint;
    found_any boolean;
BEGIN
    IF TG_OP = 'INSERT' AND sp_internal.loading_rows(TG_RELID) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO sp.payment_history (payment_id, cycle_id, household_id, from_status, to_status, amount, reason)
        SELECT n.payment_id, n.cycle_id, n.household_id, NULL, n.status, n.amount, n.status_reason
        FROM new_rows n ORDER BY n.payment_id;
        RETURN NULL;
    END IF;
    -- The joins of the transition tables run as dynamic SQL, planned at each
    -- call for the rows at hand: a plan cached by the session is planned for
    -- the rows of its first call, and a nested loop planned for an update of
    -- no rows, then used for a cycle of 100,000, never ends.
    EXECUTE $q$
        INSERT INTO sp.payment_history (payment_id, cycle_id, household_id, from_status, to_status, amount, reason)
        SELECT n.payment_id, n.cycle_id, n.household_id, o.status, n.status, n.amount, n.status_reason
        FROM new_rows n JOIN old_rows o ON o.payment_id = n.payment_id
        WHERE n.status <> o.status
        ORDER BY n.payment_id $q$;
    -- a re-issued payment is failed again only once its re-issue is
    -- cancelled (the statement below, or a correction by hand)
    EXECUTE $q$
        SELECT min(n.payment_id) FROM new_rows n JOIN old_rows o ON o.payment_id = n.payment_id
        WHERE o.status = 'reissued' AND n.status = 'failed'
          AND EXISTS (SELECT 1 FROM sp.payment x WHERE x.reissue_of = n.payment_id AND x.live) $q$ INTO bad;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'payment % has a re-issue that is not cancelled', bad
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- a cancelled re-issue gives its payment back: failed again, to be
    -- re-issued (looked for first: the UPDATE fires this trigger again)
    EXECUTE $q$
        SELECT EXISTS (SELECT 1 FROM new_rows n JOIN old_rows o ON o.payment_id = n.payment_id
                       WHERE n.reissue_of IS NOT NULL AND n.status = 'cancelled' AND o.status <> 'cancelled') $q$ INTO found_any;
    IF NOT found_any THEN
        RETURN NULL;
    END IF;
    EXECUTE $q$
        UPDATE sp.payment p
        SET status = 'failed', status_reason = left(format('its re-issue %s was cancelled: %s', n.payment_id, n.status_reason), 1000)
        FROM new_rows n JOIN old_rows o ON o.payment_id = n.payment_id
        WHERE p.payment_id = n.reissue_of AND n.reissue_of IS NOT NULL AND n.status = 'cancelled' AND o.status <> 'cancelled'
          AND p.status = 'reissued' $q$;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sp_internal.payment_log() IS 'Statement trigger: records every new payment and every status change in sp.payment_history; when a re-issue is cancelled, its failed payment is failed again (it can be re-issued once more).';
CREATE TRIGGER payment_log_insert AFTER INSERT ON sp.payment REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.payment_log();
CREATE TRIGGER payment_log_update AFTER UPDATE ON sp.payment REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.payment_log();

-- ------------------------------------------------------------------------
-- The API
-- ------------------------------------------------------------------------

-- What a cycle pays: its payments that are not cancelled, counted and summed.
CREATE FUNCTION sp_internal.payment_cycle_totals(p_cycle_id bigint)
    RETURNS TABLE (payments integer, total_amount numeric)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT count(*)::integer, coalesce(sum(p.amount), 0)
    FROM sp.payment p WHERE p.cycle_id = p_cycle_id AND p.live
$$;
COMMENT ON FUNCTION sp_internal.payment_cycle_totals(bigint) IS 'Number and sum of a cycle''s payments that are not cancelled: what sp.payment_cycle.payments and total_amount hold.';

CREATE FUNCTION sp.create_payment_cycle(programme text, period_start date, period_end date)
    RETURNS sp.payment_cycle
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    x sp.payment_cycle;
BEGIN
    PERFORM sp_internal.require_national_scope('Creating a payment cycle');
    IF period_start IS NULL OR period_end IS NULL OR period_end < period_start THEN
        RAISE EXCEPTION 'a payment cycle needs a period: period_start on or before period_end'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'period_end';
    END IF;
    IF NOT isfinite(period_start) OR NOT isfinite(period_end) THEN
        RAISE EXCEPTION 'a payment cycle needs finite dates' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'period_end';
    END IF;
    IF period_end - period_start > 366 THEN
        RAISE EXCEPTION 'a payment cycle covers at most a year, not % days', period_end - period_start + 1
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'period_end';
    END IF;
    -- one cycle of a programme is created at a time: the overlap check below holds
    PERFORM 1 FROM sp.programme g WHERE g.name = create_payment_cycle.programme FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'programme "%" does not exist', left(programme, 64) USING ERRCODE = 'no_data_found';
    END IF;
    IF (SELECT g.status FROM sp.programme g WHERE g.name = create_payment_cycle.programme) <> 'active' THEN
        RAISE EXCEPTION 'programme "%" is not active', programme USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM sp.programme_entitlement e WHERE e.programme = create_payment_cycle.programme) THEN
        RAISE EXCEPTION 'programme "%" has no entitlement rule', programme
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Set one with sp.set_entitlement.';
    END IF;
    IF EXISTS (SELECT 1 FROM sp.payment_cycle c WHERE c.programme = create_payment_cycle.programme
               AND daterange(c.period_start, c.period_end, '[]') && daterange(create_payment_cycle.period_start, create_payment_cycle.period_end, '[]')) THEN
        RAISE EXCEPTION 'programme "%" already has a payment cycle overlapping that period', programme
            USING ERRCODE = 'unique_violation', COLUMN = 'period_start',
                  DETAIL = format('The period asked for is %s to %s.', to_char(period_start, 'YYYY-MM-DD'), to_char(period_end, 'YYYY-MM-DD'));
    END IF;
    INSERT INTO sp.payment_cycle (programme, period_start, period_end)
    VALUES (create_payment_cycle.programme, create_payment_cycle.period_start, create_payment_cycle.period_end)
    RETURNING * INTO x;
    RETURN x;
END
$$;
COMMENT ON FUNCTION sp.create_payment_cycle(text, date, date) IS 'Opens a payment cycle (draft) of a programme for a period that overlaps none of its other cycles. Needs national scope and an entitlement rule.';

CREATE FUNCTION sp.generate_payment_list(cycle_id bigint)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    -- index probes and triggers, not expressions: compiling them (JIT) costs
    -- more than it saves (0.5 s of 4 at 100,000 payments)
    SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    c sp.payment_cycle;
    e sp.programme_entitlement;
    prov sp.payment_provider;
    unit text;
    created integer;
    excluded jsonb;
    limits integer[];
    withs jsonb[];
BEGIN
    PERFORM sp_internal.require_national_scope('Generating a payment list');
    -- one generation of a cycle at a time: a second session waits here, then
    -- finds the payments the first one made
    SELECT * INTO c FROM sp.payment_cycle pc WHERE pc.cycle_id = generate_payment_list.cycle_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'payment cycle % does not exist', cycle_id USING ERRCODE = 'no_data_found';
    END IF;
    IF c.status <> 'draft' THEN
        RAISE EXCEPTION 'payment cycle % is %: its list can only be generated while it is a draft', cycle_id, c.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- one generation per programme at a time: two cycles generated at once
    -- would both take a shock top-up still owed (sql/71_shock.sql)
    PERFORM pg_advisory_xact_lock(hashtext('sp.generate_payment_list'), hashtext(c.programme));
    -- a conditional programme pays only once its conditions were applied to
    -- the cycle (sql/64_conditionality.sql): suspensions first, then the list
    IF c.conditionality_applied_at IS NULL AND EXISTS (SELECT 1 FROM sp.programme_conditionality pc WHERE pc.programme = c.programme) THEN
        RAISE EXCEPTION 'programme "%" has conditions, not yet applied to payment cycle %', c.programme, cycle_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'A programme officer applies them with sp.apply_conditionality(cycle_id).';
    END IF;
    SELECT * INTO e FROM sp.programme_entitlement pe WHERE pe.programme = c.programme;
    SELECT * INTO prov FROM sp.payment_provider p WHERE p.name = e.provider;
    IF NOT prov.active THEN
        RAISE EXCEPTION 'payment provider "%" is not active', prov.name USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT g.target_unit INTO unit FROM sp.programme g WHERE g.name = c.programme;
    IF c.rule IS NOT NULL AND (c.rule IS DISTINCT FROM e.rule OR c.provider IS DISTINCT FROM e.provider)
       AND EXISTS (SELECT 1 FROM sp.payment p WHERE p.cycle_id = c.cycle_id AND p.live) THEN
        RAISE EXCEPTION 'the entitlement rule of "%" changed since the list of cycle % was generated', c.programme, cycle_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Cancel the cycle''s payments with sp.cancel_payment, or pay this cycle by the rule it was generated with.';
    END IF;

    -- every enrolment of the programme that could be paid for the period, with
    -- its recipient and amount, or why it is left out
    -- a fresh table: one of that name left in the session (by anyone) is not reused
    IF to_regclass('pg_temp.sp_payment_candidates') IS NOT NULL THEN
        DROP TABLE pg_temp.sp_payment_candidates;
    END IF;
    CREATE TEMP TABLE sp_payment_candidates (
        enrolment_id bigint, household_id bigint, unit_person_id bigint, recipient_id bigint,
        amount numeric, reason text, payee_hash bytea, members integer, younger integer[], matching integer[]) ON COMMIT DROP;
    -- the rule's age limits (per_child under_age), smallest first: what a unit
    -- is due depends only on its members and how many are younger than each
    SELECT coalesce(array_agg(DISTINCT (x ->> 'under_age')::integer ORDER BY (x ->> 'under_age')::integer), '{}')
    INTO limits FROM jsonb_array_elements(e.rule -> 'components') x WHERE x ->> 'kind' = 'per_child';
    -- and its conditions on members (per_member_with) and top-ups, in the rule's order
    SELECT coalesce(array_agg(x ORDER BY o), '{}') INTO withs
    FROM jsonb_array_elements(e.rule -> 'components') WITH ORDINALITY t (x, o) WHERE x ->> 'kind' IN ('per_member_with', 'top_up');
    INSERT INTO pg_temp.sp_payment_candidates
    SELECT en.enrolment_id, en.household_id, en.person_id, r.person_id,
           NULL,
           CASE WHEN en.state = 'suspended' THEN 'suspended'
                WHEN en.state = 'exited' THEN 'exited on ' || to_char(en.exited_at, 'YYYY-MM-DD')
                WHEN en.ends_on IS NOT NULL AND en.ends_on < c.period_start THEN 'temporary enrolment ended on ' || to_char(en.ends_on, 'YYYY-MM-DD')
                WHEN h.status = 'merged' THEN 'household merged into ' || h.merged_into
                WHEN h.status <> 'active' THEN 'household ' || h.status
                WHEN up.status = 'deceased' THEN 'deceased'
                WHEN up.status = 'merged' THEN 'person merged into ' || up.merged_into
                WHEN r.person_id IS NULL THEN 'no one to receive the payment (no active head)'
                WHEN prov.fa_type = 'mobile' AND r.phone_enc IS NULL THEN 'no phone to pay to'
           END,
           CASE WHEN prov.fa_type = 'mobile' THEN r.phone_hash END,
           m.members, y.younger, mw.matching
    FROM sp.enrolment en
    JOIN sp.household h ON h.household_id = en.household_id
    LEFT JOIN sp.person up ON up.person_id = en.person_id
    -- the recipient: the enrolled person, or the household's active head (each
    -- branch an index probe: the primary key, the one-head-per-household index)
    LEFT JOIN LATERAL (
        SELECT p.person_id, p.phone_enc, p.phone_hash FROM sp.person p
        WHERE en.person_id IS NOT NULL AND p.person_id = en.person_id AND p.status = 'active'
        UNION ALL
        SELECT p.person_id, p.phone_enc, p.phone_hash FROM sp.person p
        WHERE en.person_id IS NULL AND p.household_id = en.household_id AND p.relationship_to_head = 'head'
          AND p.status = 'active'
        LIMIT 1) r ON true
    -- members and their ages (the status is filtered in the aggregates: as a
    -- condition it can draw the planner to a partial index over all persons)
    LEFT JOIN LATERAL (
        SELECT (count(*) FILTER (WHERE p.status = 'active'))::integer AS members,
               array_agg(extract(year FROM age(c.period_start, p.birth_date))::integer) FILTER (WHERE p.status = 'active') AS ages
        FROM sp.person p WHERE p.household_id = en.household_id) m ON true
    CROSS JOIN LATERAL (SELECT coalesce(array_agg((SELECT count(*) FROM unnest(m.ages) a WHERE a < t)::integer ORDER BY t), '{}') AS younger
                        FROM unnest(limits) t) y
    -- members meeting each per_member_with condition, and whether each top-up
    -- applies to the unit in this cycle (none: an empty array, no lookup)
    CROSS JOIN LATERAL (
        SELECT coalesce(array_agg(CASE WHEN w ->> 'kind' = 'top_up' THEN
                                      CASE WHEN c.period_start BETWEEN (w ->> 'from')::date AND (w ->> 'to')::date
                                                AND (NOT (w ? 'area') OR EXISTS (SELECT 1 FROM sp.admin_area a JOIN sp.admin_area t ON t.code = w ->> 'area'
                                                                                 WHERE a.code = h.admin_area_code AND starts_with(a.path, t.path)))
                                           THEN 1 ELSE 0 END
                                  ELSE (SELECT count(*) FROM sp.person p
                                   WHERE p.household_id = en.household_id AND p.status = 'active'
                                     AND (NOT (w ? 'attribute') OR p.attributes -> (w ->> 'attribute') = w -> 'equals')
                                     AND (NOT (w ? 'min_age') OR extract(year FROM age(c.period_start, p.birth_date)) >= (w ->> 'min_age')::integer)
                                     AND (NOT (w ? 'max_age') OR extract(year FROM age(c.period_start, p.birth_date)) <= (w ->> 'max_age')::integer)
                                  )::integer END ORDER BY o), '{}') AS matching
        FROM unnest(withs) WITH ORDINALITY t (w, o)) mw
    WHERE en.programme = c.programme
      AND en.enrolled_at IS NOT NULL AND en.enrolled_at::date <= c.period_end
      AND (en.state IN ('enrolled', 'suspended') OR (en.state = 'exited' AND en.exited_at >= c.period_start));

    -- what each unit is due, computed once per profile (members, and how many
    -- younger than each limit) by the rule's own function, with ages that give
    -- the same counts: younger[i] - younger[i - 1] members just under limits[i],
    -- the others far older
    UPDATE pg_temp.sp_payment_candidates k SET amount = pr.amount
    FROM (SELECT s.members, s.younger, s.matching,
                 sp_internal.entitlement_amount(e.rule, s.members,
                     (SELECT coalesce(array_agg(g.age), '{}')
                      FROM (SELECT limits[i] - 1 AS age, generate_series(1, s.younger[i] - coalesce(s.younger[i - 1], 0)) AS n
                            FROM generate_subscripts(limits, 1) i
                            UNION ALL
                            SELECT 1000, generate_series(1, s.members - coalesce(s.younger[cardinality(limits)], 0))) g),
                     s.matching) AS amount
          FROM (SELECT DISTINCT members, younger, matching FROM pg_temp.sp_payment_candidates) s
          OFFSET 0) pr     -- computed once per profile, not pulled up into the join and run per unit
    WHERE k.members = pr.members AND k.younger = pr.younger AND k.matching = pr.matching;
    -- one-off top-ups owed by shock responses (sp_internal.top_up_owed, sql/71_shock.sql)
    UPDATE pg_temp.sp_payment_candidates k SET amount = k.amount + t.total
    FROM (SELECT t.enrolment_id, sum(t.amount) AS total
          FROM sp.shock_top_up t
          WHERE t.programme = c.programme AND sp_internal.top_up_owed(t, c)
          GROUP BY t.enrolment_id) t
    WHERE k.enrolment_id = t.enrolment_id;
    UPDATE pg_temp.sp_payment_candidates k SET reason = 'nothing due' WHERE k.reason IS NULL AND k.amount <= 0;

    -- probed by enrolment below, whatever the planner thinks of sp.payment's size
    CREATE INDEX ON pg_temp.sp_payment_candidates (enrolment_id);
    ANALYZE pg_temp.sp_payment_candidates;

    -- generated again: payments not yet approved follow the registry (a
    -- beneficiary now left out, a new amount or recipient: cancelled, with why)
    UPDATE sp.payment p
    SET status = 'cancelled',
        status_reason = CASE WHEN k.reason IS NOT NULL THEN 'left out when the list was generated again: ' || k.reason
                             ELSE 'replaced when the list was generated again (amount, recipient or phone changed)' END
    FROM pg_temp.sp_payment_candidates k
    WHERE p.cycle_id = c.cycle_id AND p.status = 'created' AND p.reissue_of IS NULL AND p.enrolment_id = k.enrolment_id
      AND (k.reason IS NOT NULL OR p.amount <> k.amount OR p.recipient_id <> k.recipient_id
           OR p.payee_hash IS DISTINCT FROM k.payee_hash);
    UPDATE sp.payment p
    SET status = 'cancelled', status_reason = 'left out when the list was generated again: no longer a beneficiary'
    WHERE p.cycle_id = c.cycle_id AND p.status = 'created' AND p.reissue_of IS NULL
      AND NOT EXISTS (SELECT 1 FROM pg_temp.sp_payment_candidates k WHERE k.enrolment_id = p.enrolment_id);

    -- the payments: at most one per enrolment and per unit (the unique
    -- indexes decide, also against a concurrent generation)
    INSERT INTO sp.payment (payment_id, cycle_id, programme, enrolment_id, household_id, unit_person_id, recipient_id,
                            provider, amount, currency, reference_id, payee_hash)
    SELECT n.id, c.cycle_id, c.programme, n.enrolment_id, n.household_id, n.unit_person_id, n.recipient_id, prov.name,
           n.amount, e.rule ->> 'currency', format('%s-%s-%s', c.programme, c.cycle_id, n.id), n.payee_hash
    FROM (SELECT nextval(pg_get_serial_sequence('sp.payment', 'payment_id')) AS id, k.*
          FROM (SELECT * FROM pg_temp.sp_payment_candidates k
                WHERE k.reason IS NULL
                  AND NOT EXISTS (SELECT 1 FROM sp.payment p WHERE p.cycle_id = c.cycle_id AND p.enrolment_id = k.enrolment_id
                                  AND p.live AND p.reissue_of IS NULL)
                ORDER BY k.enrolment_id) k) n
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS created = ROW_COUNT;

    -- the top-ups in this cycle's payments are paid with it
    UPDATE sp.shock_top_up t SET cycle_id = c.cycle_id
    WHERE t.programme = c.programme AND sp_internal.top_up_owed(t, c) AND t.cycle_id IS DISTINCT FROM c.cycle_id
      AND EXISTS (SELECT 1 FROM sp.payment p WHERE p.cycle_id = c.cycle_id AND p.enrolment_id = t.enrolment_id AND p.live
                  AND p.reissue_of IS NULL);

    INSERT INTO sp.payment_exclusion AS x (cycle_id, enrolment_id, household_id, person_id, reason)
    SELECT c.cycle_id, k.enrolment_id, k.household_id, k.unit_person_id, k.reason
    FROM pg_temp.sp_payment_candidates k
    WHERE k.reason IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM sp.payment p WHERE p.cycle_id = c.cycle_id AND p.enrolment_id = k.enrolment_id
                      AND p.live)
    ON CONFLICT (cycle_id, enrolment_id) DO UPDATE SET reason = excluded.reason, recorded_at = now(), resolved_at = NULL;
    -- left out before, paid now (a phone was registered): the exclusion is resolved, not forgotten
    UPDATE sp.payment_exclusion x SET resolved_at = now()
    WHERE x.cycle_id = c.cycle_id AND x.resolved_at IS NULL
      AND EXISTS (SELECT 1 FROM sp.payment p WHERE p.cycle_id = c.cycle_id AND p.enrolment_id = x.enrolment_id
                  AND p.live);

    SELECT coalesce(jsonb_object_agg(reason, n), '{}') INTO excluded
    FROM (SELECT split_part(split_part(k.reason, ' on ', 1), ' into ', 1) AS reason, count(*) AS n
          FROM pg_temp.sp_payment_candidates k WHERE k.reason IS NOT NULL GROUP BY 1) s;

    UPDATE sp.payment_cycle pc
    SET rule = e.rule, rule_version = e.version, provider = e.provider, currency = e.rule ->> 'currency',
        generated_at = now(), generated_by = sp_internal.caller(),
        (payments, total_amount) = (SELECT t.payments, t.total_amount FROM sp_internal.payment_cycle_totals(c.cycle_id) t)
    WHERE pc.cycle_id = c.cycle_id
    RETURNING * INTO c;
    RETURN jsonb_build_object('cycle_id', c.cycle_id, 'programme', c.programme, 'created', created,
                              'payments', c.payments, 'total_amount', c.total_amount, 'currency', c.currency,
                              'excluded', excluded);
END
$$;
COMMENT ON FUNCTION sp.generate_payment_list(bigint) IS 'Creates the payments of a draft cycle: one per enrolled beneficiary (at most one per enrolment and per unit, by unique indexes: running it again, or from two sessions at once, creates none twice), the amount by the programme''s entitlement rule, paid to the household''s head or the enrolled person through the programme''s provider. Suspended, exited, deceased, merged-away beneficiaries and those without a recipient or a phone are left out with the reason in sp.payment_exclusion. Returns counts, the total and the reasons.';

CREATE FUNCTION sp.approve_payment_cycle(cycle_id bigint, reason text, expected_version integer DEFAULT NULL)
    RETURNS sp.payment_cycle
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    -- index probes and triggers, not expressions: compiling them (JIT) costs
    -- more than it saves (0.5 s of 4 at 100,000 payments)
    SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    c sp.payment_cycle;
    previous text;
BEGIN
    PERFORM sp_internal.require_reason(reason, 'Approving a payment list records why it is right to pay it.');
    PERFORM sp_internal.require_national_scope('Approving a payment cycle');
    SELECT * INTO c FROM sp.payment_cycle pc WHERE pc.cycle_id = approve_payment_cycle.cycle_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'payment cycle % does not exist', cycle_id USING ERRCODE = 'no_data_found';
    END IF;
    -- the list approved is the list reviewed: generated again or changed
    -- (a payment cancelled) since, it is reviewed again
    PERFORM sp_internal.check_version('payment cycle', c.cycle_id, c.version, expected_version);
    IF c.status <> 'draft' OR c.generated_at IS NULL THEN
        RAISE EXCEPTION 'payment cycle % cannot be approved: it is % %', cycle_id, c.status,
                        CASE WHEN c.generated_at IS NULL THEN 'and its list was never generated' ELSE '' END
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- whoever generated the list, this time or an earlier time, does not
    -- approve it: not as the same role, nor from the same login through
    -- another role (SET ROLE to a team role).  A superuser's session can act
    -- as anyone anyway, so only its acting roles are compared.
    IF c.generated_by = sp_internal.caller()
       OR EXISTS (SELECT 1 FROM sp.payment_cycle_history h WHERE h.cycle_id = c.cycle_id
                  AND h.detail = 'payment list generated'
                  AND (h.changed_by = sp_internal.caller()
                       OR (h.session_role = session_user
                           AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = session_user)))) THEN
        RAISE EXCEPTION 'the list of payment cycle % was generated by this role or from this login, which cannot also approve it', cycle_id
            USING ERRCODE = 'insufficient_privilege', DETAIL = 'A second person approves every payment list (four eyes).';
    END IF;
    -- what is approved must still be right: the rule and provider it was
    -- generated with, and no payment to a beneficiary now suspended, exited,
    -- deceased or merged (generating again would cancel those)
    IF c.rule IS DISTINCT FROM (SELECT e.rule FROM sp.programme_entitlement e WHERE e.programme = c.programme)
       OR c.provider IS DISTINCT FROM (SELECT e.provider FROM sp.programme_entitlement e WHERE e.programme = c.programme)
       OR NOT (SELECT p.active FROM sp.payment_provider p WHERE p.name = c.provider) THEN
        RAISE EXCEPTION 'the entitlement rule or provider of "%" changed since the list of cycle % was generated', c.programme, cycle_id
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Generate the list again, then approve it.';
    END IF;
    IF EXISTS (SELECT 1 FROM sp.payment p
               JOIN sp.enrolment en ON en.enrolment_id = p.enrolment_id
               JOIN sp.household h ON h.household_id = p.household_id
               JOIN sp.person r ON r.person_id = p.recipient_id
               WHERE p.cycle_id = c.cycle_id AND p.status = 'created'
                 AND ((p.reissue_of IS NULL AND en.state <> 'enrolled') OR h.status <> 'active' OR r.status <> 'active'
                      OR (p.payee_hash IS NOT NULL AND r.phone_hash IS DISTINCT FROM p.payee_hash))) THEN
        RAISE EXCEPTION 'beneficiaries of cycle % changed since its list was generated (suspended, exited, deceased, merged, or a new phone)', cycle_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Generate the list again (a re-issued payment: cancel it and re-issue it again), then approve it.';
    END IF;
    UPDATE sp.payment p SET status = 'approved', status_reason = 'cycle approved: ' || reason
    WHERE p.cycle_id = c.cycle_id AND p.status = 'created';
    previous := sp_internal.begin_change(reason);
    UPDATE sp.payment_cycle pc SET status = 'approved', approved_at = now(), approved_by = sp_internal.caller()
    WHERE pc.cycle_id = c.cycle_id
    RETURNING * INTO c;
    PERFORM sp_internal.end_change(previous);
    RETURN c;
END
$$;
COMMENT ON FUNCTION sp.approve_payment_cycle(bigint, text, integer) IS 'Approves a generated draft cycle and its payments, with a reason; with expected_version (the cycle''s version when its list was reviewed), refused (40001) if the list was generated again or changed since. Refused (42501) to anyone who generated the cycle''s list, the last time or before, as that role or from that login (four eyes); refused (55000) when the rule or provider changed, or a beneficiary was suspended, exited, died or was merged since the list was generated.';

-- A payment the caller may act on: in its area scope, else the scope-neutral not-found.
CREATE FUNCTION sp_internal.payment_in_scope(p_payment_id bigint)
    RETURNS sp.payment
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    x sp.payment;
BEGIN
    SELECT * INTO x FROM sp.payment p WHERE p.payment_id = p_payment_id;
    IF NOT FOUND OR NOT sp_internal.household_in_scope(x.household_id) THEN
        PERFORM sp_internal.raise_not_found('payment', p_payment_id);
    END IF;
    RETURN x;
END
$$;
COMMENT ON FUNCTION sp_internal.payment_in_scope(bigint) IS 'The payment, if its household is in the caller''s area scope; otherwise raises the same not-found as for a payment that does not exist.';

CREATE FUNCTION sp.cancel_payment(payment_id bigint, reason text)
    RETURNS sp.payment
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    x sp.payment;
BEGIN
    PERFORM sp_internal.require_reason(reason, 'Cancelling a payment records why.');
    x := sp_internal.payment_in_scope(cancel_payment.payment_id);
    -- the cycle first (as generation and approval lock it), then the payment
    IF (SELECT pc.status FROM sp.payment_cycle pc WHERE pc.cycle_id = x.cycle_id FOR UPDATE) = 'draft' THEN
        RAISE EXCEPTION 'payment % belongs to a draft cycle, whose list follows the registry', x.payment_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Suspend or exit the enrolment, then generate the list again: it then cancels the payment with the reason.';
    END IF;
    SELECT * INTO x FROM sp.payment p WHERE p.payment_id = cancel_payment.payment_id FOR UPDATE;
    IF x.status NOT IN ('created', 'approved', 'failed') THEN
        RAISE EXCEPTION 'payment % is % and cannot be cancelled', x.payment_id, x.status
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Payments are cancelled before they are sent, or after they failed; a paid one is reversed.';
    END IF;
    UPDATE sp.payment p SET status = 'cancelled', status_reason = reason
    WHERE p.payment_id = cancel_payment.payment_id
    RETURNING * INTO x;
    UPDATE sp.payment_cycle pc
    SET (payments, total_amount) = (SELECT t.payments, t.total_amount FROM sp_internal.payment_cycle_totals(x.cycle_id) t)
    WHERE pc.cycle_id = x.cycle_id;
    RETURN x;
END
$$;
COMMENT ON FUNCTION sp.cancel_payment(bigint, text) IS 'Cancels an approved payment not yet sent, or a failed one, with a reason; the cycle''s count and total follow. Other states, and payments of a draft cycle (whose list follows the registry when generated again), are refused (55000).';
