-- The staff inbox (issue 5): every open case carries its deadline, and each tab of
-- the inbox pages on (deadline_at, id) through an index that yields that order.
--
-- clock_deadline_at is when the completion clock runs out: the category's completion
-- target or the statutory limit, whichever is shorter, in working days of the Greek
-- calendar from submission, plus the working time the clock stood still. The clock
-- stands still while the case waits for the citizen or lies closed (clock_paused_at
-- is when it stopped) and clock_paused_us adds up the working time of the stops that
-- ended. The store computes them in Go (postgres/deadline.go) on submission, on every
-- transition and when an admin changes a category's targets; the cases kept before
-- this migration are filled in by Migrate.
ALTER TABLE cases
    ADD COLUMN clock_deadline_at timestamptz,
    ADD COLUMN clock_paused_at   timestamptz,
    ADD COLUMN clock_paused_us   bigint NOT NULL DEFAULT 0,
    -- The deadline the inbox shows and sorts by: the earlier of the due date a clerk
    -- promised and the clock's; 'infinity' (last) for a case with neither.
    ADD COLUMN deadline_at timestamptz NOT NULL
        GENERATED ALWAYS AS (coalesce(least(due_date, clock_deadline_at), 'infinity')) STORED;

-- One index per way in, each partial on open cases and ending in (deadline_at, id),
-- so that a page is an index range scan that stops after LIMIT rows, forward or
-- backward, whatever the number of cases. The INCLUDEd columns are what the other
-- conditions of a tab read (the overdue test, a clerk's "not mine"), so that the
-- counts of the tabs are index-only scans.
-- "mine" and the assignee half of a clerk's "waiting" and "overdue".
CREATE INDEX cases_inbox_assignee_idx ON cases (assignee_id, deadline_at, id) INCLUDE (clock_paused_at)
    WHERE stage NOT IN ('completed', 'rejected');
-- The service half of a clerk's "waiting" and "overdue".
CREATE INDEX cases_inbox_service_idx ON cases (service_id, deadline_at, id) INCLUDE (assignee_id, clock_paused_at)
    WHERE stage NOT IN ('completed', 'rejected');
-- "service": cases of a service that no clerk holds yet.
CREATE INDEX cases_inbox_unclaimed_idx ON cases (service_id, deadline_at, id)
    WHERE stage NOT IN ('completed', 'rejected') AND (stage = 'routed' OR assignee_id IS NULL);
-- "waiting", by assignee, by service, and across all services.
CREATE INDEX cases_inbox_waiting_assignee_idx ON cases (assignee_id, deadline_at, id)
    WHERE stage = 'waiting_citizen';
CREATE INDEX cases_inbox_waiting_service_idx ON cases (service_id, deadline_at, id) INCLUDE (assignee_id)
    WHERE stage = 'waiting_citizen';
CREATE INDEX cases_inbox_waiting_idx ON cases (deadline_at, id)
    WHERE stage = 'waiting_citizen';
-- "all" and a manager's "overdue".
CREATE INDEX cases_inbox_open_idx ON cases (deadline_at, id) INCLUDE (clock_paused_at)
    WHERE stage NOT IN ('completed', 'rejected');
-- Cases whose clock Migrate has not filled yet: none once it ran, so the check at each
-- start reads an empty index.
CREATE INDEX cases_clock_unset_idx ON cases (id) WHERE clock_deadline_at IS NULL;
