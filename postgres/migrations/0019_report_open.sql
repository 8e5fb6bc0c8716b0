-- The delay report's backlog and overdue-now (issue 7) counted without reading the
-- open cases: at a million cases the report's aggregate over the open cases' index
-- (0016) read 48,000 index entries for a year and judged each one's clock, which grows
-- with the cases kept open. report_open counts the open cases by the day they were
-- submitted, their holder, category, channel and kind, and the Athens day on which
-- they become overdue, so that overdue now is the sum over the days before today; only
-- the cases that become overdue today are read, through cases_open_overdue_idx.
--
-- cases.report_overdue_at is the instant after which an open case is overdue: its due
-- date, or when its clock (working time since submission, less the stops for the
-- citizen) passes its category's statutory limit, whichever is first; 'infinity'
-- while nothing can make it overdue (its clock stopped short of the limit, no due
-- date). NULL for a closed case. overdue_day is its Athens date ('infinity' too).
--
-- Kept in the transactions that open, move, close and reopen cases (SubmitCase,
-- RecordTransition), change a due date (ApplyChange) or a category's statutory limit
-- (SetCategoryTargets, UpdateCategory), after the rows of report_rollups and
-- report_rollups_weekly (one lock order for every writer); RebuildRollups rebuilds
-- it; Migrate fills it in this migration's transaction (rebuildOpenCounts).
ALTER TABLE cases ADD COLUMN report_overdue_at timestamptz;
CREATE TABLE report_open (
    day           date NOT NULL,
    service_id    bigint NOT NULL,
    employee_id   bigint NOT NULL,
    category_code text NOT NULL,
    channel       text NOT NULL,
    kind          text NOT NULL,
    overdue_day   date NOT NULL,
    n             int NOT NULL,
    PRIMARY KEY (day, service_id, employee_id, category_code, channel, kind, overdue_day)
);
DROP INDEX cases_open_report_idx;
CREATE INDEX cases_open_overdue_idx ON cases (report_overdue_at)
    INCLUDE (submitted_at, service_id, assignee_id, category_code, channel, kind)
    WHERE stage NOT IN ('completed', 'rejected');
