-- When the plugin read each object (its database's UTC_TIMESTAMP(6), text with six decimals): breaks
-- the tie between two versions of a post with the same one-second modified_gmt, and orders term
-- versions (docs/sync-protocol.md, "Staleness"). NULL for rows from plugins that send none.
ALTER TABLE content ADD COLUMN read_at TEXT;
ALTER TABLE terms ADD COLUMN read_at TEXT;
