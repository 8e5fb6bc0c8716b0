-- Citizens' accounts (M1–M4). Personal columns are nullable or empty so that an
-- erased account keeps its row (and the statistics of its cases) without its person.
CREATE TABLE citizens (
    id                        bigserial PRIMARY KEY,
    -- stored lowercase, so that one name is one account whatever its case
    username                  text UNIQUE CHECK (username = lower(username)),
    first_name                text NOT NULL DEFAULT '',
    last_name                 text NOT NULL DEFAULT '',
    email                     text,
    mobile_phone              text NOT NULL DEFAULT '',
    phone                     text NOT NULL DEFAULT '',
    address                   text NOT NULL DEFAULT '',
    phone_access_code         text,
    afm                       text,
    lang                      text NOT NULL DEFAULT 'el',
    password_hash             text NOT NULL DEFAULT '',
    pin_hash                  text NOT NULL DEFAULT '',
    activated_at              timestamptz,
    verified_at               timestamptz,
    verified_by               bigint REFERENCES employees (id),
    verification_doc          text NOT NULL DEFAULT '' CHECK (verification_doc IN ('', 'id_card', 'passport')),
    verification_doc_number   text NOT NULL DEFAULT '',
    verification_requested_at timestamptz,
    created_at                timestamptz NOT NULL,
    erased_at                 timestamptz
);
-- One account per e-mail address, whatever its case; erased accounts hold none.
CREATE UNIQUE INDEX citizens_email_idx ON citizens (lower(email));
-- The IVR recognises callers by their mobile number (M17).
CREATE INDEX citizens_mobile_idx ON citizens (mobile_phone) WHERE erased_at IS NULL;
-- The IVR user name (seed 000) names one account.
CREATE UNIQUE INDEX citizens_access_code_idx ON citizens (phone_access_code);
-- The desks' queue: citizens waiting to be verified in person (M3).
CREATE INDEX citizens_verification_queue_idx ON citizens (verification_requested_at)
    WHERE verified_at IS NULL AND verification_requested_at IS NOT NULL;

-- Activation links, sessions and password resets: only the SHA-256 of a token is kept.
CREATE TABLE citizen_tokens (
    hash       bytea PRIMARY KEY,
    citizen_id bigint NOT NULL REFERENCES citizens (id),
    kind       text NOT NULL CHECK (kind IN ('activation', 'session', 'reset')),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
-- Ending all sessions of an account; exporting its tokens.
CREATE INDEX citizen_tokens_citizen_idx ON citizen_tokens (citizen_id, kind);
-- Sweeping expired tokens.
CREATE INDEX citizen_tokens_expires_idx ON citizen_tokens (expires_at);

-- A case filed by a signed-in citizen is theirs (M15); erasure sets it back to NULL.
ALTER TABLE cases ADD COLUMN citizen_id bigint REFERENCES citizens (id);
-- "My cases", newest first.
CREATE INDEX cases_citizen_idx ON cases (citizen_id, submitted_at DESC);
