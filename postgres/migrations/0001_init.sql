-- The organisation: services (departments), their staff, and the categories that
-- decide which service is responsible for a case.
CREATE TABLE services (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    name_el     text NOT NULL,
    name_en     text NOT NULL,
    email       text NOT NULL DEFAULT '',
    director_id bigint
);

CREATE TABLE employees (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (username = lower(username)),
    full_name     text NOT NULL,
    email         text NOT NULL,
    phone         text NOT NULL DEFAULT '',
    service_id    bigint REFERENCES services (id),
    role          text NOT NULL CHECK (role IN ('clerk', 'director', 'desk', 'manager', 'admin')),
    password_hash text NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX employees_service_idx ON employees (service_id);

ALTER TABLE services
    ADD CONSTRAINT services_director_fk FOREIGN KEY (director_id) REFERENCES employees (id);

CREATE TABLE categories (
    code       text PRIMARY KEY CHECK (code ~ '^[a-z0-9][a-z0-9-]*$'),
    name_el    text NOT NULL,
    name_en    text NOT NULL,
    kinds      text[] NOT NULL,
    service_id bigint NOT NULL REFERENCES services (id),
    sort       int NOT NULL DEFAULT 0,
    active     boolean NOT NULL DEFAULT true
);

-- Case numbers are YYYY-NNNNNN from one counter per year.
CREATE TABLE case_numbers (
    year int PRIMARY KEY,
    last int NOT NULL
);

CREATE TABLE cases (
    id                  bigserial PRIMARY KEY,
    number              text NOT NULL UNIQUE,
    kind                text NOT NULL,
    category_code       text NOT NULL REFERENCES categories (code),
    channel             text NOT NULL,
    subject             text NOT NULL,
    body                text NOT NULL,
    desired_action      text NOT NULL DEFAULT '',
    anonymous           boolean NOT NULL,
    contact_first_name  text NOT NULL DEFAULT '',
    contact_last_name   text NOT NULL DEFAULT '',
    contact_email       text NOT NULL DEFAULT '',
    contact_phone       text NOT NULL DEFAULT '',
    lang                text NOT NULL DEFAULT 'el',
    stage               text NOT NULL,
    status              text NOT NULL,
    stage_seq           int NOT NULL DEFAULT 1,
    service_id          bigint REFERENCES services (id),
    assignee_id         bigint REFERENCES employees (id),
    answer              text NOT NULL DEFAULT '',
    submitted_at        timestamptz NOT NULL,
    completed_at        timestamptz,
    workflow_started_at timestamptz
);
-- The inbox: my cases, newest first.
CREATE INDEX cases_assignee_idx ON cases (assignee_id, submitted_at DESC);
-- The workflow starter: accepted cases whose workflow does not exist yet.
CREATE INDEX cases_awaiting_workflow_idx ON cases (submitted_at, id) WHERE workflow_started_at IS NULL;

-- The timeline of a case.
CREATE TABLE case_events (
    id          bigserial PRIMARY KEY,
    case_id     bigint NOT NULL REFERENCES cases (id),
    at          timestamptz NOT NULL,
    type        text NOT NULL,
    actor_id    bigint REFERENCES employees (id),
    employee_id bigint REFERENCES employees (id),
    service_id  bigint REFERENCES services (id),
    public      boolean NOT NULL DEFAULT false,
    body        text NOT NULL DEFAULT ''
);
CREATE INDEX case_events_case_idx ON case_events (case_id, at, id);

-- One row per visit of a case to a stage; the delay reports read these.
CREATE TABLE stage_timings (
    case_id     bigint NOT NULL REFERENCES cases (id),
    seq         int NOT NULL CHECK (seq > 0),
    stage       text NOT NULL,
    service_id  bigint REFERENCES services (id),
    employee_id bigint REFERENCES employees (id),
    entered_at  timestamptz NOT NULL,
    left_at     timestamptz,
    PRIMARY KEY (case_id, seq),
    CHECK (left_at IS NULL OR left_at >= entered_at)
);

-- Staff sessions, by the SHA-256 of the token the browser holds.
CREATE TABLE staff_sessions (
    token_hash   bytea PRIMARY KEY,
    employee_id  bigint NOT NULL REFERENCES employees (id),
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX staff_sessions_expires_idx ON staff_sessions (expires_at);

-- Every staff action. Append-only: the trigger below refuses updates and deletes.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL,
    employee_id bigint REFERENCES employees (id),
    action      text NOT NULL,
    target      text NOT NULL DEFAULT '',
    detail      text NOT NULL DEFAULT '',
    ip          text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- Failed sign-in and PIN attempts, counted per key within a window.
CREATE TABLE throttle_failures (
    key text NOT NULL,
    at  timestamptz NOT NULL
);
CREATE INDEX throttle_failures_key_idx ON throttle_failures (key, at);
