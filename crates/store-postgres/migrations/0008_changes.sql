-- Two-way sync: the outbox of changes the platform queued for WordPress, and where each site is
-- nudged when one is queued (docs/sync-protocol.md).
CREATE TABLE changes (
    id                BIGSERIAL PRIMARY KEY,
    integration_id    BIGINT NOT NULL REFERENCES site_integrations(id),
    -- 1, 2, 3… per integration in the order the changes were queued.
    seq               BIGINT NOT NULL,
    op                TEXT NOT NULL,
    kind              TEXT NOT NULL,
    type              TEXT NOT NULL,
    wp_id             BIGINT,
    fields            JSONB NOT NULL,
    base              JSONB NOT NULL,
    base_modified_gmt TEXT,
    policy            TEXT NOT NULL,
    status            TEXT NOT NULL,
    attempt           BIGINT NOT NULL DEFAULT 0,
    result            JSONB,
    idempotency_key   TEXT,
    created_by        BIGINT,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    applied_at        TIMESTAMPTZ,
    UNIQUE (integration_id, seq),
    UNIQUE (integration_id, idempotency_key)
);
-- The pending list, in order; and one object's changes.
CREATE INDEX changes_by_status ON changes (integration_id, status, seq);
CREATE INDEX changes_by_object ON changes (integration_id, kind, type, wp_id, seq);

CREATE TABLE change_receivers (
    integration_id   BIGINT PRIMARY KEY REFERENCES site_integrations(id),
    url              TEXT NOT NULL,
    secret           TEXT NOT NULL,
    registered_at    TIMESTAMPTZ NOT NULL,
    last_nudge_at    TIMESTAMPTZ,
    last_nudge_error TEXT
);
