-- Synced content (docs/sync-protocol.md): posts of every post type, terms of every taxonomy, and
-- each integration's sync state. Keys are WordPress's own ids, scoped to the integration.
CREATE TABLE content (
    integration_id    BIGINT NOT NULL REFERENCES site_integrations(id),
    post_type         TEXT NOT NULL,
    wp_id             BIGINT NOT NULL,
    title             TEXT NOT NULL,
    slug              TEXT NOT NULL,
    status            TEXT NOT NULL,
    body              TEXT NOT NULL,
    body_truncated    BOOLEAN NOT NULL DEFAULT FALSE,
    excerpt           TEXT NOT NULL,
    author            TEXT NOT NULL,
    url               TEXT,
    parent            BIGINT NOT NULL DEFAULT 0,
    menu_order        BIGINT NOT NULL DEFAULT 0,
    featured_image    TEXT,
    date_gmt          TEXT,
    -- WordPress's post_modified_gmt, 'YYYY-MM-DD HH:MM:SS': byte order ("C") is time order,
    -- whatever the database's collation.
    modified_gmt      TEXT COLLATE "C" NOT NULL,
    seo               JSONB NOT NULL DEFAULT 'null',
    terms             JSONB NOT NULL DEFAULT '{}',
    meta              JSONB NOT NULL DEFAULT '{}',
    checksum          BIGINT NOT NULL,
    source            TEXT NOT NULL DEFAULT 'wordpress',
    synced_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (integration_id, post_type, wp_id)
);
-- Lists are newest modification first; ids are unique across post types in WordPress.
CREATE INDEX content_newest ON content(integration_id, modified_gmt DESC, wp_id DESC);

CREATE TABLE terms (
    integration_id BIGINT NOT NULL REFERENCES site_integrations(id),
    taxonomy       TEXT NOT NULL,
    wp_id          BIGINT NOT NULL,
    name           TEXT NOT NULL,
    slug           TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    parent         BIGINT NOT NULL DEFAULT 0,
    count          BIGINT NOT NULL DEFAULT 0,
    checksum       BIGINT NOT NULL,
    synced_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (integration_id, taxonomy, wp_id)
);

-- One row per integration once anything happened: the current full-sync run and its progress,
-- the pending requests, and the last verification.
CREATE TABLE content_sync_state (
    integration_id      BIGINT PRIMARY KEY REFERENCES site_integrations(id),
    run_id              TEXT,
    run_status          TEXT,
    run_started_at      TIMESTAMPTZ,
    run_finished_at     TIMESTAMPTZ,
    run_totals          JSONB NOT NULL DEFAULT '{}',
    run_done            JSONB NOT NULL DEFAULT '{}',
    run_cursors         JSONB NOT NULL DEFAULT '{}',
    full_sync_requested BOOLEAN NOT NULL DEFAULT FALSE,
    verify_requested    BOOLEAN NOT NULL DEFAULT FALSE,
    verify_state        TEXT NOT NULL DEFAULT 'never',
    verify_differences  BIGINT NOT NULL DEFAULT 0,
    verified_at         TIMESTAMPTZ
);
