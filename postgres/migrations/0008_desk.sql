-- The desk's search of citizens by the start of their last name.
CREATE INDEX citizens_last_name_idx ON citizens (lower(last_name) text_pattern_ops) WHERE erased_at IS NULL;
