-- The admins' pages (console /admin): services can be withdrawn like categories and
-- employees, since cases and the audit log refer to them; categories have response
-- templates, prepared answers a clerk adapts to the case.
ALTER TABLE services ADD COLUMN active boolean NOT NULL DEFAULT true;

CREATE TABLE response_templates (
    id            bigserial PRIMARY KEY,
    category_code text NOT NULL REFERENCES categories (code),
    title         text NOT NULL CHECK (title <> ''),
    body_el       text NOT NULL CHECK (body_el <> ''),
    body_en       text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- The case page lists its category's templates by title.
CREATE INDEX response_templates_category_idx ON response_templates (category_code, title);

-- The employees page filters by service (employees_service_idx) and by role.
CREATE INDEX employees_role_idx ON employees (role, id);
