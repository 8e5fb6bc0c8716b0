-- A recording belongs to one case: a retried submit webhook finds the case it filed.
CREATE UNIQUE INDEX ivr_recordings_url_idx ON ivr_recordings (url);
