-- Staging copies and moved sites (docs/sync-protocol.md, "Copies and moves"): the address the site's
-- plugin reports (X-Igny8-Site-Url; the first one reported, or the one the owner moved the site to), and
-- the last other address a copy of the site reported, with when: refused until the owner chooses.
ALTER TABLE site_integrations ADD COLUMN site_url TEXT;
ALTER TABLE site_integrations ADD COLUMN site_url_mismatch TEXT;
ALTER TABLE site_integrations ADD COLUMN site_url_mismatch_at TEXT;
