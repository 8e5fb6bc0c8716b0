-- Delay reports (M18) read per-day rollups instead of the cases, so that a report
-- costs in proportion to groups × days however many cases the municipality keeps.
-- RecordTransition and SubmitCase keep them current in the transaction that closes a
-- stage visit; RebuildRollups recomputes them from stage_timings (after a COPY load).
--
-- One row per Athens civil day, measure and group:
--   'case_received'  cases submitted that day, counted under their current holder
--                    (moved to the new holder when a case changes hands);
--   'case_closed'    cases that reached completed or rejected that day, under the
--                    holder that closed them, with the completion time;
--   <stage name>     visits to that (non-final) stage that ended that day, with their length.
-- service_id and employee_id are 0 for "none". Histograms are sparse int arrays
-- indexed by bucket: days_hist[b] counts durations of b/10 ≤ working days < (b+1)/10,
-- hours_hist[b] those of b ≤ hours < b+1; the last bucket holds everything longer.
-- Counts and maxima are exact; medians and p90 read to a bucket.
CREATE TABLE report_rollups (
    day              date NOT NULL,
    measure          text NOT NULL,
    service_id       bigint NOT NULL,
    employee_id      bigint NOT NULL,
    category_code    text NOT NULL,
    channel          text NOT NULL,
    kind             text NOT NULL,
    n                int NOT NULL,
    within_target    int NOT NULL DEFAULT 0,
    within_statutory int NOT NULL DEFAULT 0,
    max_days         double precision NOT NULL DEFAULT 0,
    max_hours        double precision NOT NULL DEFAULT 0,
    days_hist        int[] NOT NULL DEFAULT '{}',
    hours_hist       int[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (day, measure, service_id, employee_id, category_code, channel, kind)
);

-- The services and clerks a case passed through, in order, consecutive repeats
-- folded: the ping-pong list reads the cases whose holders came back (returns > 0).
CREATE TABLE case_holders (
    case_id   bigint NOT NULL REFERENCES cases (id),
    dimension text NOT NULL CHECK (dimension IN ('service', 'employee')),
    holders   bigint[] NOT NULL,
    returns   int NOT NULL DEFAULT 0,
    PRIMARY KEY (case_id, dimension)
);
CREATE INDEX case_holders_bounced_idx ON case_holders (case_id) WHERE returns > 0;

-- Backlog and overdue-now read the open cases received in the period. (The exports'
-- case list walks cases_submitted_idx of 0005 backwards.)
CREATE INDEX cases_open_submitted_idx ON cases (submitted_at) WHERE stage NOT IN ('completed', 'rejected');
