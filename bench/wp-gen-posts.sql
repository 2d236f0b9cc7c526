-- Bulk content straight in SQL (MariaDB SEQUENCE engine), for bench/wp-structure-bench.sh.
-- usage: mariadb DB -e "SET @n=100000, @nt=2000, @ptype='post', @tax='category'; SOURCE bench/wp-gen-posts.sql;"
-- @n published items of @ptype, @nt terms of @tax (a tenth of them parents), each item in one term.
-- After running it, delete the '<tax>_children' option (WordPress caches the hierarchy there).
SET @now = NOW(), @base_t = (SELECT COALESCE(MAX(term_id), 0) FROM wp_terms);
SET @parents = GREATEST(1, @nt DIV 10);
INSERT INTO wp_terms (term_id, name, slug, term_group)
  SELECT @base_t + seq, CONCAT('Bench term ', seq), CONCAT('bench-term-', @base_t + seq), 0 FROM seq_1_to_1000000 WHERE seq <= @nt;
INSERT INTO wp_term_taxonomy (term_id, taxonomy, description, parent, count)
  SELECT @base_t + seq, @tax, '', IF(seq <= @parents, 0, @base_t + 1 + ((seq - 1) MOD @parents)), 0 FROM seq_1_to_1000000 WHERE seq <= @nt;
SET @base_p = (SELECT COALESCE(MAX(ID), 0) FROM wp_posts);
INSERT INTO wp_posts (ID, post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, post_status,
    comment_status, ping_status, post_name, to_ping, pinged, post_modified, post_modified_gmt, post_content_filtered,
    post_parent, guid, menu_order, post_type, comment_count)
  SELECT @base_p + seq, 1, @now - INTERVAL seq*10 MINUTE, UTC_TIMESTAMP() - INTERVAL seq*10 MINUTE,
    CONCAT('<!-- wp:paragraph --><p>Bench body ', seq, ' ', REPEAT('lorem ipsum ', 20), '</p><!-- /wp:paragraph -->'),
    CONCAT('Bench ', @ptype, ' ', seq), '', IF(seq MOD 20 = 0, 'draft', 'publish'), 'open', 'open',
    CONCAT('bench-', @ptype, '-', @base_p + seq), '', '',
    @now, UTC_TIMESTAMP(), '', 0, CONCAT('http://example.invalid/?p=', @base_p + seq), 0, @ptype, 0
  FROM seq_1_to_1000000 WHERE seq <= @n;
INSERT INTO wp_term_relationships (object_id, term_taxonomy_id, term_order)
  SELECT p.ID, tt.term_taxonomy_id, 0 FROM wp_posts p
  JOIN wp_term_taxonomy tt ON tt.taxonomy = @tax AND tt.term_id = @base_t + 1 + ((p.ID - @base_p) MOD @nt)
  WHERE p.ID > @base_p;
UPDATE wp_term_taxonomy tt SET count = (SELECT COUNT(*) FROM wp_term_relationships tr WHERE tr.term_taxonomy_id = tt.term_taxonomy_id)
  WHERE tt.taxonomy = @tax;
