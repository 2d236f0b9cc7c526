-- Synced content (docs/sync-protocol.md): posts of every post type, terms of every taxonomy, and
-- each integration's sync state. Keys are WordPress's own ids, scoped to the integration.
CREATE TABLE content (
    integration_id    INTEGER NOT NULL REFERENCES site_integrations(id),
    post_type         TEXT NOT NULL,
    wp_id             INTEGER NOT NULL,
    title             TEXT NOT NULL,
    slug              TEXT NOT NULL,
    status            TEXT NOT NULL,
    body              TEXT NOT NULL,
    body_truncated    INTEGER NOT NULL DEFAULT 0,
    excerpt           TEXT NOT NULL,
    author            TEXT NOT NULL,
    url               TEXT,
    parent            INTEGER NOT NULL DEFAULT 0,
    menu_order        INTEGER NOT NULL DEFAULT 0,
    featured_image    TEXT,
    date_gmt          TEXT,
    -- WordPress's post_modified_gmt, 'YYYY-MM-DD HH:MM:SS': text order is time order.
    modified_gmt      TEXT NOT NULL,
    seo               TEXT NOT NULL DEFAULT 'null',
    terms             TEXT NOT NULL DEFAULT '{}',
    meta              TEXT NOT NULL DEFAULT '{}',
    checksum          INTEGER NOT NULL,
    source            TEXT NOT NULL DEFAULT 'wordpress',
    synced_at         TEXT NOT NULL,
    PRIMARY KEY (integration_id, post_type, wp_id)
);
-- Lists are newest modification first; ids are unique across post types in WordPress.
CREATE INDEX content_newest ON content(integration_id, modified_gmt DESC, wp_id DESC);

CREATE TABLE terms (
    integration_id INTEGER NOT NULL REFERENCES site_integrations(id),
    taxonomy       TEXT NOT NULL,
    wp_id          INTEGER NOT NULL,
    name           TEXT NOT NULL,
    slug           TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    parent         INTEGER NOT NULL DEFAULT 0,
    count          INTEGER NOT NULL DEFAULT 0,
    checksum       INTEGER NOT NULL,
    synced_at      TEXT NOT NULL,
    PRIMARY KEY (integration_id, taxonomy, wp_id)
);

-- One row per integration once anything happened: the current full-sync run and its progress,
-- the pending requests, and the last verification.
CREATE TABLE content_sync_state (
    integration_id      INTEGER PRIMARY KEY REFERENCES site_integrations(id),
    run_id              TEXT,
    run_status          TEXT,
    run_started_at      TEXT,
    run_finished_at     TEXT,
    run_totals          TEXT NOT NULL DEFAULT '{}',
    run_done            TEXT NOT NULL DEFAULT '{}',
    run_cursors         TEXT NOT NULL DEFAULT '{}',
    full_sync_requested INTEGER NOT NULL DEFAULT 0,
    verify_requested    INTEGER NOT NULL DEFAULT 0,
    verify_state        TEXT NOT NULL DEFAULT 'never',
    verify_differences  INTEGER NOT NULL DEFAULT 0,
    verified_at         TEXT
);
