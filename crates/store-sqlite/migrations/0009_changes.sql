-- Two-way sync: the outbox of changes the platform queued for WordPress, and where each site is
-- nudged when one is queued (docs/sync-protocol.md).
CREATE TABLE changes (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id    INTEGER NOT NULL REFERENCES site_integrations(id),
    -- 1, 2, 3… per integration in the order the changes were queued.
    seq               INTEGER NOT NULL,
    op                TEXT NOT NULL,
    kind              TEXT NOT NULL,
    type              TEXT NOT NULL,
    wp_id             INTEGER,
    fields            TEXT NOT NULL,
    base              TEXT NOT NULL,
    base_modified_gmt TEXT,
    policy            TEXT NOT NULL,
    status            TEXT NOT NULL,
    attempt           INTEGER NOT NULL DEFAULT 0,
    result            TEXT,
    idempotency_key   TEXT,
    created_by        INTEGER,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    applied_at        TEXT,
    UNIQUE (integration_id, seq),
    UNIQUE (integration_id, idempotency_key)
);
-- The pending list, in order; and one object's changes.
CREATE INDEX changes_by_status ON changes (integration_id, status, seq);
CREATE INDEX changes_by_object ON changes (integration_id, kind, type, wp_id, seq);

CREATE TABLE change_receivers (
    integration_id   INTEGER PRIMARY KEY REFERENCES site_integrations(id),
    url              TEXT NOT NULL,
    secret           TEXT NOT NULL,
    registered_at    TEXT NOT NULL,
    last_nudge_at    TEXT,
    last_nudge_error TEXT
);
