-- SEO fields for the posts bench/wp-gen-posts.sql made, for bench/wp-content-bench.sh: a third with Yoast
-- (title with template variables, description, focus keyword), a third with Rank Math (description,
-- robots), a third with none. Run after wp-gen-posts.sql on the same database.
INSERT INTO wp_postmeta (post_id, meta_key, meta_value)
  SELECT ID, '_yoast_wpseo_title', '%%title%% %%sep%% %%sitename%%' FROM wp_posts WHERE post_name LIKE 'bench-%' AND ID MOD 3 = 0
  UNION ALL SELECT ID, '_yoast_wpseo_metadesc', CONCAT('Yoast description of bench post ', ID) FROM wp_posts WHERE post_name LIKE 'bench-%' AND ID MOD 3 = 0
  UNION ALL SELECT ID, '_yoast_wpseo_focuskw', CONCAT('keyword ', ID MOD 97) FROM wp_posts WHERE post_name LIKE 'bench-%' AND ID MOD 3 = 0
  UNION ALL SELECT ID, 'rank_math_description', CONCAT('Rank Math description of bench post ', ID) FROM wp_posts WHERE post_name LIKE 'bench-%' AND ID MOD 3 = 1
  UNION ALL SELECT ID, 'rank_math_robots', 'a:2:{i:0;s:5:"index";i:1;s:8:"nofollow";}' FROM wp_posts WHERE post_name LIKE 'bench-%' AND ID MOD 3 = 1;
