-- What the platform holds per type (content-types, the dashboard) is counted from this index alone,
-- without reading a row: on a site with 300,000 posts that is milliseconds instead of a table scan.
CREATE INDEX content_type_counts ON content(integration_id, post_type, status, synced_at);
