-- Deleted posts, remembered for a while so a late re-delivery of an older upsert stays deleted
-- (igny8_store::tombstones).
CREATE TABLE content_tombstones (
    integration_id BIGINT NOT NULL REFERENCES site_integrations(id),
    post_type      TEXT NOT NULL,
    wp_id          BIGINT NOT NULL,
    -- The deletion's time as WordPress sent it ('YYYY-MM-DD HH:MM:SS'): byte order is time order.
    modified_gmt   TEXT COLLATE "C" NOT NULL,
    deleted_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (integration_id, post_type, wp_id)
);
