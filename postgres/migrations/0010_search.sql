-- Search across cases (M19). Each case keeps one tsvector over what staff search by:
-- its number and subject (weight A), its text (B), and the desired action, the
-- contact's name and the bodies of its comments, public and internal (C). The greek
-- configuration stems and folds accents and case, so 'Λακκούβα' finds 'λακκουβες';
-- the number goes through 'simple', whole and without its dash, as staff key it.

-- case_search_vector computes the vector of one case from its row and its comments.
CREATE FUNCTION case_search_vector(c cases) RETURNS tsvector
LANGUAGE sql STABLE AS $$
    SELECT setweight(to_tsvector('simple', c.number || ' ' || replace(c.number, '-', '')), 'A')
        || setweight(to_tsvector('greek', c.subject), 'A')
        || setweight(to_tsvector('greek', c.body), 'B')
        || setweight(to_tsvector('greek', concat_ws(' ', c.desired_action, c.contact_first_name, c.contact_last_name,
            (SELECT string_agg(e.body, ' ' ORDER BY e.id) FROM case_events e
              WHERE e.case_id = c.id AND e.type IN ('comment', 'citizen_comment') AND e.body <> ''))), 'C')
$$;

ALTER TABLE cases ADD COLUMN search tsvector;

-- The vector is computed before the row is written. Setting search (to anything) on
-- an UPDATE recomputes it, which is how a new comment refreshes its case.
CREATE FUNCTION cases_search_refresh() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search := case_search_vector(NEW);
    RETURN NEW;
END
$$;

CREATE TRIGGER cases_search_refresh
    BEFORE INSERT OR UPDATE OF number, subject, body, desired_action, contact_first_name, contact_last_name, search
    ON cases FOR EACH ROW EXECUTE FUNCTION cases_search_refresh();

CREATE FUNCTION case_events_search_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE cases SET search = NULL WHERE id = OLD.case_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE cases SET search = NULL WHERE id = NEW.case_id;
    END IF;
    RETURN NULL;
END
$$;

-- Only comments carry words worth finding; the other events leave the case alone.
CREATE TRIGGER case_events_search_insert
    AFTER INSERT ON case_events FOR EACH ROW
    WHEN (NEW.type IN ('comment', 'citizen_comment') AND NEW.body <> '')
    EXECUTE FUNCTION case_events_search_touch();
CREATE TRIGGER case_events_search_change
    AFTER UPDATE OR DELETE ON case_events FOR EACH ROW
    WHEN (OLD.type IN ('comment', 'citizen_comment'))
    EXECUTE FUNCTION case_events_search_touch();

-- Fill the vector of the cases already kept.
UPDATE cases SET search = NULL;
ALTER TABLE cases ALTER COLUMN search SET NOT NULL;

CREATE INDEX cases_search_idx ON cases USING gin (search);
