-- The admins' audit log viewer (console /admin/audit) pages newest first by id, and
-- filters by employee, by action prefix and by target; each filter gets an index
-- that walks it in id order, so a page reads only the rows it shows.
CREATE INDEX audit_log_employee_idx ON audit_log (employee_id, id DESC);
CREATE INDEX audit_log_action_idx ON audit_log (action text_pattern_ops, id DESC);
CREATE INDEX audit_log_target_idx ON audit_log (target, id DESC);
