-- Files attached to cases by staff and citizens (M12), kept out of workflow histories.
CREATE TABLE attachments (
    id           bigserial PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES cases (id),
    name         text NOT NULL,
    content_type text NOT NULL,
    size         bigint NOT NULL CHECK (size > 0),
    sha256       text NOT NULL CHECK (length(sha256) = 64),
    data         bytea NOT NULL,
    uploaded_by  bigint REFERENCES employees (id),
    by_citizen   boolean NOT NULL DEFAULT false,
    public       boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL,
    UNIQUE (case_id, sha256)
);

-- The citizen's key to their own case (comment, attach, rate, reopen) until accounts
-- take over: only its SHA-256 is kept.
ALTER TABLE cases ADD COLUMN access_key_hash bytea;

-- A category's open cases, told when an admin changes the category's clocks.
CREATE INDEX cases_open_by_category_idx ON cases (category_code) WHERE stage NOT IN ('completed', 'rejected');
