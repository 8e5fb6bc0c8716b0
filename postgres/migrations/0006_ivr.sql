-- Where the telephony provider keeps a caller's recorded message (M17), until an
-- activity has fetched it and attached it to the case. One recording per case.
CREATE TABLE ivr_recordings (
    case_id    bigint PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
    url        text NOT NULL CHECK (url <> ''),
    created_at timestamptz NOT NULL
);
