-- Sign-in attempts per key (a hash of the email or of the client address), so the limits hold
-- across every process sharing the database.
CREATE TABLE login_attempts (
    key   TEXT NOT NULL,
    -- Unix time in milliseconds.
    at_ms INTEGER NOT NULL
);
CREATE INDEX login_attempts_by_key ON login_attempts(key, at_ms);
