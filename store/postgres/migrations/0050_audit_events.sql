-- The audit trail (store.AuditEvent): one row per event, never updated. The id starts with
-- the event's time (16 hex digits of Unix nanoseconds), so id order is time order and
-- time ranges are id ranges. Rows go when expires_at (the retention) has passed, in
-- GarbageCollect.
CREATE TABLE audit_events (
    id         text COLLATE "C" PRIMARY KEY,
    type       text COLLATE "C" NOT NULL,
    actor      text COLLATE "C" NOT NULL,
    user_id    text COLLATE "C" NOT NULL,
    expires_at timestamptz,
    data       json NOT NULL
);
CREATE INDEX audit_events_user ON audit_events (user_id, id) WHERE user_id <> '';
CREATE INDEX audit_events_actor ON audit_events (actor, id) WHERE actor <> '';
CREATE INDEX audit_events_expiry ON audit_events (expires_at) WHERE expires_at IS NOT NULL;
