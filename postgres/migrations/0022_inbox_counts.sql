-- The inbox's counts by holder (issue 7). A tab's count read the open cases' index
-- entries up to dimos.InboxCountCap, so a manager's counts at a million cases read
-- three thousand entries on every page view, against the few hundred a small
-- municipality holds. inbox_counts keeps how many open cases each holder has, in the
-- two classes the tabs tell apart, so that the counts of every tab but "overdue"
-- (which moves with the clock, not with a write) and of no filter are sums over a few
-- rows, however many cases are open.
--
-- service_id and assignee_id are 0 for none. waiting: the case waits for the citizen
-- (the waiting tab). unclaimed: routed, or held by nobody (the service tab). A row
-- whose count falls to zero stays (at most four a holder).
--
-- Kept in the transactions that open, move and close cases (SubmitCase,
-- RecordTransition), after their rows of report_open (one lock order for every
-- writer); RebuildRollups rebuilds it; this migration fills it.
CREATE TABLE inbox_counts (
    service_id  bigint NOT NULL,
    assignee_id bigint NOT NULL,
    waiting     boolean NOT NULL,
    unclaimed   boolean NOT NULL,
    n           int NOT NULL,
    PRIMARY KEY (service_id, assignee_id, waiting, unclaimed)
);
-- An employee's rows (the mine and waiting tabs). The table holds one to four rows a
-- holder, so a municipality of a few thousand staff has thousands; a write changes
-- only n, which leaves this index alone (HOT). The all tab, and a manager's waiting
-- tab, sum every row: their cost grows with the staff, not with the cases.
CREATE INDEX inbox_counts_assignee_idx ON inbox_counts (assignee_id);

INSERT INTO inbox_counts (service_id, assignee_id, waiting, unclaimed, n)
SELECT coalesce(service_id, 0), coalesce(assignee_id, 0), stage = 'waiting_citizen',
    stage = 'routed' OR assignee_id IS NULL, count(*)
FROM cases WHERE stage NOT IN ('completed', 'rejected')
GROUP BY 1, 2, 3, 4;
