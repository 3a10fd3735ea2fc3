-- The audit log's filters by action and by actor each walk an index in id order, which
-- is time order (ids are UUIDv7); a date range is a range of ids within any of them.
CREATE INDEX audit_log_of_domain_by_action ON audit_log (domain_id, action, id);
CREATE INDEX audit_log_of_domain_by_actor ON audit_log (domain_id, actor, id);
