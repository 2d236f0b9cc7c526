-- The sync state is changed by read, change, write-if-unchanged: the version says "unchanged".
ALTER TABLE content_sync_state ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
