-- Content lists filter by type and status and page newest first. With the filter columns in the
-- index, a deep page finds its rows with an index-only scan and reads only those from the table.
DROP INDEX content_newest;
CREATE INDEX content_newest ON content(integration_id, modified_gmt DESC, wp_id DESC, post_type, status);
