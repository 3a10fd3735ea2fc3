-- Users of one scope (the call-center agents a supervisor manages), in either sort.
CREATE INDEX users_of_scope_by_name ON users (domain_id, scope, sort_key, id);
CREATE INDEX users_of_scope_by_updated ON users (domain_id, scope, updated_at, id);
