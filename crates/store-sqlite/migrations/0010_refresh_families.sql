-- Refresh token families (one per sign-in): the current token of each, so a spent token used again
-- is recognised and ends its family. Kept until the family's last token expires.
CREATE TABLE refresh_families (
    family     TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    current_token TEXT NOT NULL,
    ended      BOOLEAN NOT NULL DEFAULT FALSE,
    -- Unix time in milliseconds.
    expires_ms INTEGER NOT NULL
);
CREATE INDEX refresh_families_by_expiry ON refresh_families(expires_ms);
