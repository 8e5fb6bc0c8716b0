-- The open API (Open311 GeoReport v2): where a case is, and the keys of the outside
-- clients that may file cases.
ALTER TABLE cases
    ADD COLUMN lat     double precision CHECK (lat BETWEEN -90 AND 90),
    ADD COLUMN lon     double precision CHECK (lon BETWEEN -180 AND 180),
    ADD COLUMN address text NOT NULL DEFAULT '',
    ADD CONSTRAINT cases_point_check CHECK ((lat IS NULL) = (lon IS NULL));
-- GET requests of the open API: the newest cases within a date range.
CREATE INDEX cases_submitted_idx ON cases (submitted_at DESC, id DESC);

-- Keys of the open API's clients. Only the SHA-256 of a key is kept; prefix lets staff
-- tell keys apart.
CREATE TABLE api_keys (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL CHECK (name <> ''),
    prefix     text NOT NULL,
    key_hash   bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    created_at timestamptz NOT NULL,
    created_by bigint REFERENCES employees (id),
    revoked_at timestamptz,
    revoked_by bigint REFERENCES employees (id)
);
