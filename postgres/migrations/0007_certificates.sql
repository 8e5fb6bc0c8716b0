-- Certificate applications (M7): what the certificate is for, and how it reaches the
-- citizen.
ALTER TABLE cases
    ADD COLUMN purpose  text NOT NULL DEFAULT '',
    ADD COLUMN delivery text NOT NULL DEFAULT ''
        CHECK (delivery IN ('', 'town_hall', 'kep', 'post', 'electronic'));
