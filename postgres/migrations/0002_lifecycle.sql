-- The whole case lifecycle: protocol data, due dates, ratings, per-category clocks,
-- idempotent events and the log of notifications sent.
ALTER TABLE cases
    ADD COLUMN protocol_number text,
    ADD COLUMN protocol_date   timestamptz,
    ADD COLUMN due_date        timestamptz,
    ADD COLUMN rating          smallint CHECK (rating BETWEEN 1 AND 5),
    ADD COLUMN rating_remark   text NOT NULL DEFAULT '';
-- Protocol numbers are unique: a case never takes two, two cases never share one.
CREATE UNIQUE INDEX cases_protocol_number_idx ON cases (protocol_number) WHERE protocol_number IS NOT NULL;
-- Least-loaded clerk and workload counts: open cases per assignee.
CREATE INDEX cases_open_by_assignee_idx ON cases (assignee_id) WHERE stage NOT IN ('completed', 'rejected');

ALTER TABLE categories
    ADD COLUMN target_assign_days     numeric(6, 2) NOT NULL DEFAULT 0,
    ADD COLUMN target_response_days   numeric(6, 2) NOT NULL DEFAULT 0,
    ADD COLUMN target_completion_days numeric(6, 2) NOT NULL DEFAULT 0,
    ADD COLUMN statutory_days         numeric(6, 2) NOT NULL DEFAULT 50,
    ADD COLUMN info_reply_days        numeric(6, 2) NOT NULL DEFAULT 15,
    ADD COLUMN auto_assign            boolean NOT NULL DEFAULT false;

-- An event written by a retried activity carries the same key and is kept once.
ALTER TABLE case_events
    ADD COLUMN key        text,
    ADD COLUMN by_citizen boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX case_events_key_idx ON case_events (case_id, key) WHERE key IS NOT NULL;

-- Every notification that went out, once per event and channel.
CREATE TABLE notifications (
    key       text NOT NULL,
    channel   text NOT NULL CHECK (channel IN ('email', 'sms')),
    recipient text NOT NULL,
    sent_at   timestamptz NOT NULL,
    PRIMARY KEY (key, channel)
);
