-- Signing out ends every session and refresh token of the user: tokens carry the epoch they were
-- issued in, and sign-out moves it on.
ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
