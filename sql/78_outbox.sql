-- Transactional outbox (issue 15): every change other systems may want to
-- hear of is written as an event in the same transaction as the change, so
-- no event is sent for a change that rolled back and none is lost for one
-- that committed.  Consumers (a payment platform, a ministry's programme
-- system, the HTTP gateway's notifier) claim events and acknowledge them:
-- at least once each, in commit order, per consumer; an event claimed and
-- never acknowledged (the consumer crashed) is given again once its lease
-- runs out.  Events carry identifiers and states, never personal data: a
-- consumer reads the record through the API, with its own rights.

CREATE TABLE sp.outbox_event (
    event_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- the writing transaction: events are handed out in the order of
    -- (txid, event_id), and only once every transaction that could still
    -- write an earlier one has ended
    txid            xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    -- a restored event: its txid on the server it was dumped from (its txid here is 0)
    source_txid     xid8,
    event_type      text NOT NULL CHECK (event_type IN ('REGISTER', 'UPDATE', 'NewHouseHoldMember', 'DEATH', 'ENROL', 'EXIT',
                                                        'PAYMENT', 'LINK', 'UNLINK')),
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    household_id    bigint,
    person_id       bigint,
    admin_area_code text,
    programme       text,
    -- the enrolment, payment or external beneficiary row the event is about
    ref_id          bigint,
    detail          jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX outbox_event_order_idx ON sp.outbox_event (txid, event_id);
CREATE INDEX outbox_event_register_idx ON sp.outbox_event (household_id, txid) WHERE event_type = 'REGISTER';
COMMENT ON TABLE sp.outbox_event IS 'Changes other systems may subscribe to, written by triggers in the same transaction as the change: REGISTER (a household), UPDATE (a household or person changed), NewHouseHoldMember (a person added to a household registered earlier), DEATH, ENROL, EXIT, PAYMENT (paid), LINK and UNLINK (an external beneficiary row and a registry person). Identifiers, states and versions only, no personal data. Read them with sp.outbox_claim and sp.outbox_ack.';
COMMENT ON COLUMN sp.outbox_event.txid IS 'The transaction that wrote the event: events are handed out in (txid, event_id) order, once no transaction that could write an earlier one is still running.';
COMMENT ON COLUMN sp.outbox_event.source_txid IS 'A restored event''s transaction id on the server it was dumped from (its txid here is 0); NULL for events written here. Settles restored consumers'' positions in the order the events had there.';
COMMENT ON COLUMN sp.outbox_event.detail IS 'What changed, without personal data: entity (household or person), version, status or state before and after.';

CREATE TABLE sp.outbox_consumer (
    name            text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_.-]{0,62}$'),
    consumer_role   name NOT NULL,
    event_types     text[] CHECK (event_types <@ ARRAY['REGISTER', 'UPDATE', 'NewHouseHoldMember', 'DEATH', 'ENROL', 'EXIT',
                                                       'PAYMENT', 'LINK', 'UNLINK']),
    lease           interval NOT NULL DEFAULT '5 minutes' CHECK (lease >= '0' AND lease <= '1 day'),
    -- every event up to here (in (txid, event_id) order) for this consumer is acknowledged
    acked_txid      xid8 NOT NULL DEFAULT '0',
    acked_event_id  bigint NOT NULL DEFAULT 0,
    -- a restored consumer, until its position is settled among the restored
    -- events: its acked_txid on the server it was dumped from
    source_acked_txid xid8,
    description     text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      text NOT NULL DEFAULT sp_internal.caller()
);
COMMENT ON COLUMN sp.outbox_consumer.source_acked_txid IS 'Set by a restore (the acked_txid the consumer had on the server it was dumped from) until the consumer''s first claim, acknowledgement, backlog or pruning settles its position among the restored events; then NULL.';
COMMENT ON TABLE sp.outbox_consumer IS 'A system that reads the outbox: the database role it claims as (its area scope limits the events it gets), the event types it wants (NULL: all), how long a claim holds before the events are given again, and how far it has acknowledged.';

-- Claims and acknowledgements above a consumer's acknowledged position.
CREATE TABLE sp_internal.outbox_delivery (
    consumer        text NOT NULL REFERENCES sp.outbox_consumer (name) ON DELETE CASCADE,
    event_id        bigint NOT NULL,
    txid            xid8 NOT NULL,
    claimed_until   timestamptz NOT NULL,
    attempts        integer NOT NULL DEFAULT 1,
    acked_at        timestamptz,
    -- (the event first: a lookup of a consumer's event, or of a list of them,
    -- is an index probe each, never a scan of every row of the consumer)
    PRIMARY KEY (event_id, consumer)
);
-- The acknowledgement marks and removes a consumer's rows between its old
-- and its new position: a range of this index, which starts after the dead
-- rows of earlier batches (until vacuum removes them).  The consumer comes
-- last, so that a lookup of one event goes to the primary key, never to a
-- scan of this index over the consumer's every row.
CREATE INDEX outbox_delivery_order_idx ON sp_internal.outbox_delivery (txid, event_id, consumer);
COMMENT ON TABLE sp_internal.outbox_delivery IS 'Per consumer, the events claimed or acknowledged beyond its acknowledged position; rows at or below the position are removed.';

-- ------------------------------------------------------------------------
-- Writing events
-- ------------------------------------------------------------------------
-- Restored rows come from another server, whose transaction ids mean
-- nothing here: they get txid 0, so that all come before the events written
-- after the restore, and among themselves go by event id.  Event ids and
-- commit order can disagree (a transaction that took its id first and
-- committed last), so the old transaction ids are kept beside: a restored
-- consumer's position is settled among the restored events at its first use
-- (sp_internal.outbox_settle_restored), the tables being loaded in any order.
CREATE FUNCTION sp_internal.outbox_restored()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- (called only for rows a restore loads: the triggers' WHEN tests that)
    IF TG_TABLE_NAME = 'outbox_consumer' THEN
        IF NEW.source_acked_txid IS NULL THEN
            NEW.source_acked_txid := NEW.acked_txid;
        ELSE
            -- (never settled on the server it was dumped from: its position
            -- cannot be placed among these events; all of them come again)
            NEW.source_acked_txid := '0';
            NEW.acked_event_id := 0;
        END IF;
        NEW.acked_txid := '0';
    ELSIF TG_TABLE_NAME = 'outbox_event' THEN
        NEW.source_txid := NEW.txid;
        NEW.txid := '0';
    ELSE
        NEW.txid := '0';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION sp_internal.outbox_restored() IS 'BEFORE INSERT trigger of the outbox tables, fired (by its WHEN) only for rows a restore loads: they get transaction id 0, so that they come before every event written after the restore, whatever the new server''s transaction ids; the old ones are kept in source_txid and source_acked_txid, to settle each consumer''s position at its first use.';

-- A restored consumer's position, settled among the restored events: on the
-- old server it had acknowledged every event up to (source_acked_txid,
-- acked_event_id) in (txid, event_id) order.  Here restored events go by
-- event id, so the position moves back to just before the first event that
-- came after it there, and the events between that were acknowledged there
-- are marked acknowledged (a delivery row): nothing is lost, nothing given
-- twice.  Claims and acknowledgements restored with the consumer stay.
CREATE FUNCTION sp_internal.outbox_settle_restored(p_name text)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c sp.outbox_consumer;
    first_after bigint;
BEGIN
    SELECT * INTO c FROM sp.outbox_consumer x WHERE x.name = p_name AND x.source_acked_txid IS NOT NULL FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT min(e.event_id) INTO first_after FROM sp.outbox_event e
    WHERE e.txid = '0' AND e.source_txid IS NOT NULL AND (e.source_txid, e.event_id) > (c.source_acked_txid, c.acked_event_id);
    IF first_after IS NOT NULL AND first_after <= c.acked_event_id THEN
        INSERT INTO sp_internal.outbox_delivery AS d (consumer, event_id, txid, claimed_until, acked_at)
        SELECT c.name, e.event_id, '0', clock_timestamp(), clock_timestamp() FROM sp.outbox_event e
        WHERE e.txid = '0' AND e.event_id >= first_after AND e.event_id <= c.acked_event_id
          AND (e.source_txid, e.event_id) <= (c.source_acked_txid, c.acked_event_id)
        ON CONFLICT (event_id, consumer) DO NOTHING;
        UPDATE sp.outbox_consumer x SET acked_event_id = first_after - 1, source_acked_txid = NULL WHERE x.name = c.name;
    ELSE
        UPDATE sp.outbox_consumer x SET source_acked_txid = NULL WHERE x.name = c.name;
    END IF;
END
$$;
COMMENT ON FUNCTION sp_internal.outbox_settle_restored(text) IS 'Settles a restored consumer''s position among the restored events (which go by event id here, by transaction and event id on the old server): back to just before the first event that followed its old position, with those in between it had acknowledged marked acknowledged. Called at the consumer''s first claim, acknowledgement, backlog or pruning after a restore; does nothing otherwise.';
-- (the test in WHEN runs in C: a live insert of a million events, or of a
-- claim's thousand deliveries, calls no function per row)
CREATE TRIGGER outbox_event_restored BEFORE INSERT ON sp.outbox_event FOR EACH ROW
    WHEN (sp_internal.loading_rows('sp.outbox_event'::regclass)) EXECUTE FUNCTION sp_internal.outbox_restored();
CREATE TRIGGER outbox_consumer_restored BEFORE INSERT ON sp.outbox_consumer FOR EACH ROW
    WHEN (sp_internal.loading_rows('sp.outbox_consumer'::regclass)) EXECUTE FUNCTION sp_internal.outbox_restored();
CREATE TRIGGER outbox_delivery_restored BEFORE INSERT ON sp_internal.outbox_delivery FOR EACH ROW
    WHEN (sp_internal.loading_rows('sp_internal.outbox_delivery'::regclass)) EXECUTE FUNCTION sp_internal.outbox_restored();


-- Listeners (LISTEN sp_outbox) hear of new events at commit: one
-- notification per transaction (the payload is always empty, and PostgreSQL
-- sends identical notifications of one transaction once).
CREATE FUNCTION sp_internal.outbox_notify()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_notify('sp_outbox', '');
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sp_internal.outbox_notify() IS 'Statement trigger of sp.outbox_event: NOTIFY sp_outbox with an empty payload, delivered once per transaction at its commit (never for a rolled-back change).';
CREATE TRIGGER outbox_event_notify AFTER INSERT ON sp.outbox_event FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.outbox_notify();

-- New rows: statement triggers, one INSERT of events per statement (a
-- registration batch of a million households is one statement).
CREATE FUNCTION sp_internal.outbox_insert()
    RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- a restore loads saved rows, and their events with them: nothing new happened
    IF sp_internal.loading_rows(TG_RELID) THEN
        RETURN NULL;
    END IF;
    CASE TG_TABLE_NAME
    WHEN 'household' THEN
        INSERT INTO sp.outbox_event (event_type, household_id, admin_area_code, detail)
        SELECT 'REGISTER', n.household_id, n.admin_area_code, jsonb_build_object('entity', 'household', 'version', n.version)
        FROM new_rows n ORDER BY n.household_id;
    WHEN 'person' THEN
        -- a member of a household registered in this transaction is part of
        -- its REGISTER event; one added to a household registered earlier is news
        INSERT INTO sp.outbox_event (event_type, household_id, person_id, admin_area_code, detail)
        SELECT 'NewHouseHoldMember', n.household_id, n.person_id, n.admin_area_code, jsonb_build_object('entity', 'person', 'version', n.version)
        FROM new_rows n
        WHERE NOT EXISTS (SELECT 1 FROM sp.outbox_event o
                          WHERE o.event_type = 'REGISTER' AND o.household_id = n.household_id AND o.txid = pg_current_xact_id())
        ORDER BY n.person_id;
    WHEN 'enrolment' THEN
        INSERT INTO sp.outbox_event (event_type, household_id, person_id, admin_area_code, programme, ref_id, detail)
        SELECT CASE n.state WHEN 'enrolled' THEN 'ENROL' ELSE 'EXIT' END, n.household_id, n.person_id, h.admin_area_code, n.programme,
               n.enrolment_id, jsonb_build_object('state', n.state)
        FROM new_rows n JOIN sp.household h ON h.household_id = n.household_id
        WHERE n.state IN ('enrolled', 'exited')
        ORDER BY n.enrolment_id;
    WHEN 'payment' THEN
        INSERT INTO sp.outbox_event (event_type, household_id, admin_area_code, programme, ref_id, detail)
        SELECT 'PAYMENT', n.household_id, h.admin_area_code, n.programme, n.payment_id, jsonb_build_object('cycle_id', n.cycle_id, 'status', n.status)
        FROM new_rows n JOIN sp.household h ON h.household_id = n.household_id
        WHERE n.status = 'paid'
        ORDER BY n.payment_id;
    END CASE;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sp_internal.outbox_insert() IS 'Statement trigger of inserts the outbox tells of: REGISTER for each household added; NewHouseHoldMember for a person added to a household registered in an earlier transaction; ENROL (EXIT) for an enrolment added enrolled (exited); PAYMENT for a payment added as paid. Not while a restore loads rows.';
CREATE TRIGGER household_outbox_insert AFTER INSERT ON sp.household
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.outbox_insert();
CREATE TRIGGER person_outbox_insert AFTER INSERT ON sp.person
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.outbox_insert();
CREATE TRIGGER enrolment_outbox_insert AFTER INSERT ON sp.enrolment
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.outbox_insert();
CREATE TRIGGER payment_outbox_insert AFTER INSERT ON sp.payment
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sp_internal.outbox_insert();

-- Changes are row triggers, with the test of what changed in their WHEN (run
-- in C, before any function call): joining a statement's old and new rows
-- would be planned as a nested loop over two tuplestores of a million rows.
CREATE FUNCTION sp_internal.outbox_row_update()
    RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    CASE TG_TABLE_NAME
    WHEN 'household' THEN
        INSERT INTO sp.outbox_event (event_type, household_id, admin_area_code, detail)
        VALUES ('UPDATE', NEW.household_id, NEW.admin_area_code,
                jsonb_strip_nulls(jsonb_build_object('entity', 'household', 'version', NEW.version,
                                                     'status', CASE WHEN OLD.status IS DISTINCT FROM NEW.status THEN NEW.status END,
                                                     'moved_from', CASE WHEN OLD.admin_area_code IS DISTINCT FROM NEW.admin_area_code THEN OLD.admin_area_code END)));
    WHEN 'person' THEN
        INSERT INTO sp.outbox_event (event_type, household_id, person_id, admin_area_code, detail)
        VALUES (CASE WHEN NEW.status = 'deceased' AND OLD.status IS DISTINCT FROM 'deceased' THEN 'DEATH' ELSE 'UPDATE' END,
                NEW.household_id, NEW.person_id, NEW.admin_area_code,
                jsonb_strip_nulls(jsonb_build_object('entity', 'person', 'version', NEW.version,
                                                     'status', CASE WHEN OLD.status IS DISTINCT FROM NEW.status THEN NEW.status END,
                                                     'moved_from_household', CASE WHEN OLD.household_id IS DISTINCT FROM NEW.household_id THEN OLD.household_id END)));
    WHEN 'enrolment' THEN
        INSERT INTO sp.outbox_event (event_type, household_id, person_id, admin_area_code, programme, ref_id, detail)
        SELECT CASE NEW.state WHEN 'enrolled' THEN 'ENROL' ELSE 'EXIT' END, NEW.household_id, NEW.person_id, h.admin_area_code, NEW.programme,
               NEW.enrolment_id, jsonb_build_object('state', NEW.state, 'from_state', OLD.state)
        FROM sp.household h WHERE h.household_id = NEW.household_id;
    WHEN 'payment' THEN
        INSERT INTO sp.outbox_event (event_type, household_id, admin_area_code, programme, ref_id, detail)
        SELECT 'PAYMENT', NEW.household_id, h.admin_area_code, NEW.programme, NEW.payment_id, jsonb_build_object('cycle_id', NEW.cycle_id, 'status', NEW.status)
        FROM sp.household h WHERE h.household_id = NEW.household_id;
    WHEN 'external_beneficiary' THEN
        IF OLD.link_status = 'linked' THEN
            INSERT INTO sp.outbox_event (event_type, household_id, person_id, admin_area_code, programme, ref_id, detail)
            SELECT 'UNLINK', p.household_id, p.person_id, p.admin_area_code, OLD.programme, OLD.external_beneficiary_id,
                   jsonb_build_object('linked_by', OLD.linked_by)
            FROM sp.person p WHERE p.person_id = OLD.person_id;
        END IF;
        IF NEW.link_status = 'linked' THEN
            INSERT INTO sp.outbox_event (event_type, household_id, person_id, admin_area_code, programme, ref_id, detail)
            SELECT 'LINK', p.household_id, p.person_id, p.admin_area_code, NEW.programme, NEW.external_beneficiary_id,
                   jsonb_build_object('linked_by', NEW.linked_by)
            FROM sp.person p WHERE p.person_id = NEW.person_id;
        END IF;
    END CASE;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION sp_internal.outbox_row_update() IS 'Row trigger of changes the outbox tells of (its WHEN says which): a household or person UPDATE (DEATH when a person becomes deceased), an enrolment becoming enrolled (ENROL) or exited (EXIT), a payment reported paid (PAYMENT), an external list row unlinked (UNLINK) or linked (LINK; a relink is both).';
CREATE TRIGGER household_outbox_update AFTER UPDATE ON sp.household FOR EACH ROW
    WHEN (OLD.version IS DISTINCT FROM NEW.version OR OLD.status IS DISTINCT FROM NEW.status OR OLD.admin_area_code IS DISTINCT FROM NEW.admin_area_code)
    EXECUTE FUNCTION sp_internal.outbox_row_update();
CREATE TRIGGER person_outbox_update AFTER UPDATE ON sp.person FOR EACH ROW
    WHEN (OLD.version IS DISTINCT FROM NEW.version OR OLD.status IS DISTINCT FROM NEW.status OR OLD.household_id IS DISTINCT FROM NEW.household_id)
    EXECUTE FUNCTION sp_internal.outbox_row_update();
CREATE TRIGGER enrolment_outbox_update AFTER UPDATE ON sp.enrolment FOR EACH ROW
    WHEN (NEW.state IN ('enrolled', 'exited') AND OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION sp_internal.outbox_row_update();
CREATE TRIGGER payment_outbox_update AFTER UPDATE ON sp.payment FOR EACH ROW
    WHEN (NEW.status = 'paid' AND OLD.status IS DISTINCT FROM 'paid')
    EXECUTE FUNCTION sp_internal.outbox_row_update();
CREATE TRIGGER external_beneficiary_outbox AFTER UPDATE ON sp.external_beneficiary FOR EACH ROW
    WHEN ((OLD.link_status = 'linked' OR NEW.link_status = 'linked')
          AND (OLD.link_status IS DISTINCT FROM NEW.link_status OR OLD.person_id IS DISTINCT FROM NEW.person_id))
    EXECUTE FUNCTION sp_internal.outbox_row_update();

-- ALWAYS: registration loads its rows with session_replication_role =
-- replica (no foreign-key trigger per row), and a DBA's bulk change may too;
-- neither may go untold.  (Key rotation, re-indexing and retention's own
-- stamps change no version, status, state or link: they write no event.)
ALTER TABLE sp.outbox_event ENABLE ALWAYS TRIGGER outbox_event_notify;
ALTER TABLE sp.household ENABLE ALWAYS TRIGGER household_outbox_insert;
ALTER TABLE sp.household ENABLE ALWAYS TRIGGER household_outbox_update;
ALTER TABLE sp.person ENABLE ALWAYS TRIGGER person_outbox_insert;
ALTER TABLE sp.person ENABLE ALWAYS TRIGGER person_outbox_update;
ALTER TABLE sp.enrolment ENABLE ALWAYS TRIGGER enrolment_outbox_insert;
ALTER TABLE sp.enrolment ENABLE ALWAYS TRIGGER enrolment_outbox_update;
ALTER TABLE sp.payment ENABLE ALWAYS TRIGGER payment_outbox_insert;
ALTER TABLE sp.payment ENABLE ALWAYS TRIGGER payment_outbox_update;
ALTER TABLE sp.external_beneficiary ENABLE ALWAYS TRIGGER external_beneficiary_outbox;

-- ------------------------------------------------------------------------
-- Consumers
-- ------------------------------------------------------------------------

CREATE FUNCTION sp.create_outbox_consumer(name text, consumer_role name, event_types text[] DEFAULT NULL,
                                          lease interval DEFAULT '5 minutes', description text DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    c sp.outbox_consumer;
BEGIN
    IF name IS NULL OR name !~ '^[a-z][a-z0-9_.-]{0,62}$' THEN
        RAISE EXCEPTION 'a consumer''s name is a lower-case letter, then up to 62 letters, digits, _ . or -, not "%"', coalesce(left(name, 64), 'NULL')
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'name';
    END IF;
    IF consumer_role IS NULL OR NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = consumer_role) THEN
        RAISE EXCEPTION 'role "%" does not exist', coalesce(consumer_role::text, 'NULL') USING ERRCODE = 'undefined_object', COLUMN = 'consumer_role';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = consumer_role AND r.rolsuper) THEN
        RAISE EXCEPTION 'a consumer claims as a role with its own area scope, not as a superuser'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'consumer_role';
    END IF;
    IF event_types IS NOT NULL AND (cardinality(event_types) = 0 OR NOT event_types <@ ARRAY['REGISTER', 'UPDATE', 'NewHouseHoldMember', 'DEATH',
                                                                                           'ENROL', 'EXIT', 'PAYMENT', 'LINK', 'UNLINK']) THEN
        RAISE EXCEPTION 'event_types must be NULL (all) or some of REGISTER, UPDATE, NewHouseHoldMember, DEATH, ENROL, EXIT, PAYMENT, LINK, UNLINK'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'event_types';
    END IF;
    IF lease IS NULL OR lease < '0' OR lease > '1 day' THEN
        RAISE EXCEPTION 'lease must be from 0 to 1 day, not %', coalesce(lease::text, 'NULL') USING ERRCODE = 'invalid_parameter_value', COLUMN = 'lease';
    END IF;
    -- a new consumer starts from the events written from now on
    INSERT INTO sp.outbox_consumer (name, consumer_role, event_types, lease, description, acked_txid, acked_event_id)
    SELECT create_outbox_consumer.name, create_outbox_consumer.consumer_role, create_outbox_consumer.event_types,
           create_outbox_consumer.lease, left(create_outbox_consumer.description, 1000),
           coalesce(last.txid, '0'), coalesce(last.event_id, 0)
    FROM (SELECT 1) one
    LEFT JOIN LATERAL (SELECT e.txid, e.event_id FROM sp.outbox_event e WHERE e.txid < pg_snapshot_xmin(pg_current_snapshot())
                       ORDER BY e.txid DESC, e.event_id DESC LIMIT 1) last ON true
    RETURNING * INTO c;
    RETURN to_jsonb(c) - 'acked_txid' - 'source_acked_txid';
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'outbox consumer "%" exists already', name USING ERRCODE = 'duplicate_object', COLUMN = 'name';
END
$$;
COMMENT ON FUNCTION sp.create_outbox_consumer(text, name, text[], interval, text) IS 'Registers a system that reads the outbox: its name, the role it claims as (its area scope limits the events it gets; not a superuser), the event types it wants (NULL: all), and the lease of a claim (from 0 to 1 day; an event claimed and not acknowledged within it is given again). It starts with the events written from now on. National administrators only.';

-- The consumer, locked, when the caller may act as it.
CREATE FUNCTION sp_internal.outbox_consumer_for_caller(p_name text)
    RETURNS sp.outbox_consumer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c sp.outbox_consumer;
BEGIN
    PERFORM sp_internal.outbox_settle_restored(p_name);
    SELECT * INTO c FROM sp.outbox_consumer x WHERE x.name = p_name FOR UPDATE;
    -- (a consumer the caller may not act as is answered as one that does not exist)
    IF NOT FOUND OR NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = c.consumer_role
                                AND pg_has_role(sp_internal.caller_oid(), r.oid, 'MEMBER')) THEN
        RAISE EXCEPTION 'outbox consumer "%" does not exist', coalesce(left(p_name, 64), 'NULL')
            USING ERRCODE = 'no_data_found', COLUMN = 'consumer',
                  HINT = 'A consumer is read by members of its consumer_role (sp.outbox_consumer).';
    END IF;
    RETURN c;
END
$$;
COMMENT ON FUNCTION sp_internal.outbox_consumer_for_caller(text) IS 'The outbox consumer of that name, locked for the claim or acknowledgement, when the caller is a member of its consumer_role; else no_data_found as if it did not exist.';

-- The events a consumer is to get: after its acknowledged position, of its
-- types, in the caller's area scope, written by transactions that have all
-- ended (below the snapshot's xmin, no running transaction can still write
-- an earlier one).  Written out in sp.outbox_claim and sp.outbox_ack rather
-- than as a function, so that the planner walks the (txid, event_id) index
-- from the position and stops at the batch.

CREATE FUNCTION sp.outbox_claim(consumer text, max integer DEFAULT 100)
    RETURNS TABLE (event_id bigint, event_type text, occurred_at timestamptz, household_id bigint, person_id bigint,
                   admin_area_code text, programme text, ref_id bigint, detail jsonb, attempts integer)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    c sp.outbox_consumer;
    national boolean;
    horizon xid8;
BEGIN
    IF max IS NULL OR max < 1 OR max > 10000 THEN
        RAISE EXCEPTION 'max must be from 1 to 10000, not %', coalesce(max::text, 'NULL') USING ERRCODE = 'invalid_parameter_value', COLUMN = 'max';
    END IF;
    c := sp_internal.outbox_consumer_for_caller(consumer);
    national := sp_internal.has_national_scope();
    horizon := pg_snapshot_xmin(pg_current_snapshot());
    RETURN QUERY
    WITH picked AS (
        SELECT e.* FROM sp.outbox_event e
        WHERE (e.txid, e.event_id) > (c.acked_txid, c.acked_event_id) AND e.txid < horizon
          AND (c.event_types IS NULL OR e.event_type = ANY (c.event_types))
          AND (national OR e.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code)))
          AND NOT EXISTS (SELECT 1 FROM sp_internal.outbox_delivery d
                          WHERE d.consumer = c.name AND d.event_id = e.event_id AND (d.acked_at IS NOT NULL OR d.claimed_until > clock_timestamp()))
        ORDER BY e.txid, e.event_id
        LIMIT max
    ),
    claimed AS (
        INSERT INTO sp_internal.outbox_delivery AS d (consumer, event_id, txid, claimed_until)
        SELECT c.name, p.event_id, p.txid, clock_timestamp() + c.lease FROM picked p
        ON CONFLICT (consumer, event_id) DO UPDATE SET claimed_until = EXCLUDED.claimed_until, attempts = d.attempts + 1
        RETURNING d.event_id, d.attempts
    )
    -- (the events again by their key: a join of the two CTEs, whose sizes the
    -- planner cannot know, was a nested loop of batch x batch comparisons)
    SELECT e.event_id, e.event_type, e.occurred_at, e.household_id, e.person_id, e.admin_area_code, e.programme, e.ref_id, e.detail, cl.attempts
    FROM claimed cl JOIN sp.outbox_event e ON e.event_id = cl.event_id
    ORDER BY e.txid, e.event_id;
END
$$;
COMMENT ON FUNCTION sp.outbox_claim(text, integer) IS 'Claims up to max (1 to 10000) events for a consumer the caller is a member of: its event types, in the caller''s area scope, in commit order, neither acknowledged nor under a live claim. An event claimed and not acknowledged within the consumer''s lease is given again (attempts counts the claims): at least once per consumer. Acknowledge with sp.outbox_ack.';

CREATE FUNCTION sp.outbox_ack(consumer text, event_ids bigint[])
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    c sp.outbox_consumer;
    n_acked bigint;
    n_again bigint;
    first_open record;
    upto record;
    national boolean;
    horizon xid8;
BEGIN
    IF event_ids IS NULL OR cardinality(event_ids) > 10000 THEN
        RAISE EXCEPTION 'event_ids must be an array of at most 10000 event ids' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'event_ids';
    END IF;
    c := sp_internal.outbox_consumer_for_caller(consumer);
    national := sp_internal.has_national_scope();
    horizon := pg_snapshot_xmin(pg_current_snapshot());
    -- (a probe of the primary key per id: a range of the order index would
    -- also walk the rows of consumers ahead of this one)
    UPDATE sp_internal.outbox_delivery d SET acked_at = clock_timestamp()
    WHERE d.event_id = ANY (event_ids) AND d.consumer = c.name AND d.acked_at IS NULL;
    GET DIAGNOSTICS n_acked = ROW_COUNT;
    -- acknowledged now or before: above the position with their delivery,
    -- at or below it (their delivery is gone) if they are the consumer's
    SELECT count(*) INTO n_again
    FROM (SELECT DISTINCT u.id FROM unnest(event_ids) u (id)) x
    WHERE EXISTS (SELECT 1 FROM sp_internal.outbox_delivery d WHERE d.consumer = c.name AND d.event_id = x.id AND d.acked_at IS NOT NULL)
       OR EXISTS (SELECT 1 FROM sp.outbox_event e
                  WHERE e.event_id = x.id AND (e.txid, e.event_id) <= (c.acked_txid, c.acked_event_id)
                    AND (c.event_types IS NULL OR e.event_type = ANY (c.event_types))
                    AND (national OR e.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code))));
    -- the acknowledged position moves up to the first event of the consumer
    -- not acknowledged yet
    SELECT e.txid, e.event_id INTO first_open FROM sp.outbox_event e
    WHERE (e.txid, e.event_id) > (c.acked_txid, c.acked_event_id) AND e.txid < horizon
      AND (c.event_types IS NULL OR e.event_type = ANY (c.event_types))
      AND (national OR e.admin_area_code IN (SELECT v.code FROM sp_internal.visible_areas() v (code)))
      AND NOT EXISTS (SELECT 1 FROM sp_internal.outbox_delivery d WHERE d.consumer = c.name AND d.event_id = e.event_id AND d.acked_at IS NOT NULL)
    ORDER BY e.txid, e.event_id LIMIT 1;
    -- (two queries, so that each bound is an index bound: the last event
    -- before the first open one, or before the horizon)
    IF first_open.event_id IS NOT NULL THEN
        SELECT e.txid, e.event_id INTO upto FROM sp.outbox_event e
        WHERE (e.txid, e.event_id) > (c.acked_txid, c.acked_event_id)
          AND (e.txid, e.event_id) < (first_open.txid, first_open.event_id)
        ORDER BY e.txid DESC, e.event_id DESC LIMIT 1;
    ELSE
        SELECT e.txid, e.event_id INTO upto FROM sp.outbox_event e
        WHERE (e.txid, e.event_id) > (c.acked_txid, c.acked_event_id) AND e.txid < horizon
        ORDER BY e.txid DESC, e.event_id DESC LIMIT 1;
    END IF;
    IF upto.event_id IS NOT NULL THEN
        UPDATE sp.outbox_consumer x SET acked_txid = upto.txid, acked_event_id = upto.event_id WHERE x.name = c.name;
        DELETE FROM sp_internal.outbox_delivery d
        WHERE d.consumer = c.name AND (d.txid, d.event_id) > (c.acked_txid, c.acked_event_id)
          AND (d.txid, d.event_id) <= (upto.txid, upto.event_id);
    END IF;
    RETURN jsonb_build_object('consumer', c.name, 'acked', n_acked, 'already_acked', n_again - n_acked,
                              'unknown', (SELECT count(DISTINCT u.id) FROM unnest(event_ids) u (id)) - n_again,
                              'position', coalesce(upto.event_id, c.acked_event_id));
END
$$;
COMMENT ON FUNCTION sp.outbox_ack(text, bigint[]) IS 'Acknowledges events a consumer claimed (idempotent: an event acknowledged twice counts once; ids not claimed are counted as unknown), and moves its acknowledged position up to the first event not acknowledged. Returns the counts and the position.';

CREATE FUNCTION sp.outbox_backlog()
    RETURNS TABLE (consumer text, consumer_role name, event_types text[], lease interval, acked_position bigint,
                   claimed bigint, lease_expired bigint, after_position bigint, oldest_after_position timestamptz)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- (after a restore, positions are settled first: else they would count restored events wrongly)
    PERFORM sp_internal.outbox_settle_restored(c.name) FROM sp.outbox_consumer c WHERE c.source_acked_txid IS NOT NULL;
    RETURN QUERY
    SELECT c.name, c.consumer_role, c.event_types, c.lease, c.acked_event_id,
           (SELECT count(*) FROM sp_internal.outbox_delivery d WHERE d.consumer = c.name AND d.acked_at IS NULL AND d.claimed_until > now()),
           (SELECT count(*) FROM sp_internal.outbox_delivery d WHERE d.consumer = c.name AND d.acked_at IS NULL AND d.claimed_until <= now()),
           x.n, x.oldest
    FROM sp.outbox_consumer c
    CROSS JOIN LATERAL (SELECT count(*) AS n, min(e.occurred_at) AS oldest FROM sp.outbox_event e
                        WHERE (e.txid, e.event_id) > (c.acked_txid, c.acked_event_id)
                          AND (c.event_types IS NULL OR e.event_type = ANY (c.event_types))) x
    ORDER BY c.name;
END
$$;
COMMENT ON FUNCTION sp.outbox_backlog() IS 'Per consumer: its acknowledged position, events under a live claim, claims whose lease ran out (to be given again), and the events after its position (of its types, whatever their area) with the oldest one''s time: how far behind it is. For administrators and auditors.';

-- Events every consumer has acknowledged, older than the age given, go.
CREATE FUNCTION sp.prune_outbox(older_than interval DEFAULT '30 days')
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    IF older_than IS NULL OR older_than < '1 hour' THEN
        RAISE EXCEPTION 'older_than must be at least 1 hour' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'older_than';
    END IF;
    -- (a restored consumer's position is settled first: before, it may stand past events it never got)
    PERFORM sp_internal.outbox_settle_restored(c.name) FROM sp.outbox_consumer c WHERE c.source_acked_txid IS NOT NULL;
    DELETE FROM sp.outbox_event e
    WHERE e.occurred_at < now() - older_than
      AND NOT EXISTS (SELECT 1 FROM sp.outbox_consumer c WHERE (e.txid, e.event_id) > (c.acked_txid, c.acked_event_id));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION sp.prune_outbox(interval) IS 'Deletes the events older than older_than (at least 1 hour; default 30 days) that every consumer has acknowledged; returns how many. Run it from pg_cron.';
