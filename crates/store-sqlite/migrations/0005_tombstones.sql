-- Deleted posts, remembered for a while so a late re-delivery of an older upsert stays deleted
-- (igny8_store::tombstones).
CREATE TABLE content_tombstones (
    integration_id INTEGER NOT NULL REFERENCES site_integrations(id),
    post_type      TEXT NOT NULL,
    wp_id          INTEGER NOT NULL,
    -- The deletion's time as WordPress sent it ('YYYY-MM-DD HH:MM:SS').
    modified_gmt   TEXT NOT NULL,
    deleted_at     TEXT NOT NULL,
    PRIMARY KEY (integration_id, post_type, wp_id)
);
