//! Content sync over real HTTP (docs/sync-protocol.md): batches, staleness, trash and deletes,
//! full-sync runs with range markers, hostile items, limits, tenancy and verification (a server
//! killed in the middle of a batch is in the CLI's tests: it kills a real `igny8 serve`).

use igny8_domain::checksum::{buckets, post_checksum};
use igny8_domain::content::{MAX_BATCH_BYTES, MAX_CONTENT_BYTES};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_error, seed_structure, Fixture, TestApp};

pub(crate) const T1: &str = "2025-11-22 10:00:00";
const T2: &str = "2025-11-22 11:00:00";

pub(crate) fn post(ty: &str, id: i64, modified: &str, status: &str, title: &str) -> Value {
    json!({"op": "upsert", "kind": "post", "type": ty, "wp_id": id, "modified_gmt": modified,
           "data": {"title": title, "slug": format!("{ty}-{id}"), "status": status,
                    "content": format!("<p>Body of {id}</p>"), "excerpt": format!("Excerpt of {id}"),
                    "author": "Ann", "date_gmt": "2025-11-20 09:00:00", "url": format!("https://blog.example/{ty}-{id}/"),
                    "parent": 0, "menu_order": 0, "featured_image": null, "terms": {"category": [3]},
                    "seo": {"title": "%title% %sep% %sitename%", "description": format!("About {id}"), "focus_keyword": "dune",
                            "canonical": null, "robots": "index, follow", "source": "yoast",
                            "raw": {"_yoast_wpseo_title": "%title% %sep% %sitename%"}},
                    "meta": {}}})
}

fn term(taxonomy: &str, id: i64, parent: i64, slug: &str) -> Value {
    json!({"op": "upsert", "kind": "term", "type": taxonomy, "wp_id": id,
           "data": {"name": slug.to_uppercase(), "slug": slug, "parent": parent, "count": 2, "description": "d"}})
}

fn delete(id: i64, modified: &str) -> Value {
    json!({"op": "delete", "kind": "post", "type": "post", "wp_id": id, "modified_gmt": modified})
}

pub(crate) fn path(fx: &Fixture, rest: &str) -> String {
    format!(
        "/api/v1/integration/integrations/{}/{rest}",
        fx.integration_id
    )
}

pub(crate) async fn send(app: &TestApp, fx: &Fixture, items: Vec<Value>) -> (StatusCode, Value) {
    app.post(
        &path(fx, "content/batch/"),
        Some(&fx.key),
        json!({"batch_id": "0b7c1a4e-5f6e-4c1a-9d2b-1f0e8a7b6c5d", "items": items}),
    )
    .await
}

async fn send_range(
    app: &TestApp,
    fx: &Fixture,
    items: Vec<Value>,
    marker: Value,
) -> (StatusCode, Value) {
    app.post(
        &path(fx, "content/batch/"),
        Some(&fx.key),
        json!({"batch_id": "b", "items": items, "full_sync": marker}),
    )
    .await
}

fn statuses(answer: &Value) -> Vec<&str> {
    answer["data"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect()
}

async fn listed_ids(app: &TestApp, fx: &Fixture, query: &str) -> Vec<i64> {
    let (s, b) = app
        .get(
            &path(fx, &format!("content/?page_size=500{query}")),
            Some(&fx.key),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let mut ids: Vec<i64> = b["data"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["wp_id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

async fn status(app: &TestApp, fx: &Fixture) -> Value {
    let (s, b) = app.get(&path(fx, "content/status/"), Some(&fx.key)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["data"].clone()
}

#[tokio::test]
async fn a_batch_is_answered_item_by_item_and_read_back_everywhere() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    app.push_structure(&fx, seed_structure()).await;
    let (s, b) = send(
        &app,
        &fx,
        vec![
            post("post", 12, T1, "publish", "Dune"),
            post("post", 13, T2, "draft", "Emma"),
            post("page", 2, T1, "publish", "About"),
            term("category", 3, 0, "fiction"),
            term("category", 7, 3, "sci-fi"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["success"], true);
    assert_eq!(
        b["data"]["batch_id"],
        "0b7c1a4e-5f6e-4c1a-9d2b-1f0e8a7b6c5d"
    );
    assert_eq!(statuses(&b), ["applied"; 5]);
    assert_eq!(
        (
            &b["data"]["applied"],
            &b["data"]["stale"],
            &b["data"]["rejected"]
        ),
        (&json!(5), &json!(0), &json!(0))
    );
    assert_eq!(
        b["data"]["results"][4],
        json!({"index": 4, "status": "applied"})
    );

    // The account's user reads what the site's key wrote: newest modification first.
    let jwt = app.login("ann@example.com").await;
    let (s, list) = app.get(&path(&fx, "content/"), Some(&jwt)).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list["data"]["count"], 3);
    let first = &list["data"]["results"][0];
    assert_eq!(
        (
            &first["wp_id"],
            &first["type"],
            &first["title"],
            &first["status"]
        ),
        (&json!(13), &json!("post"), &json!("Emma"), &json!("draft"))
    );
    assert_eq!(first["modified_gmt"], T2);
    assert_eq!(first["terms"], json!({"category": [3]}));
    assert_eq!(first["seo"]["focus_keyword"], "dune");
    assert_eq!(first["url"], "https://blog.example/post-13/");
    assert!(first.get("content").is_none(), "lists carry no bodies");

    let (s, item) = app.get(&path(&fx, "content/post/12/"), Some(&jwt)).await;
    assert_eq!(s, StatusCode::OK, "{item}");
    assert_eq!(item["data"]["content"], "<p>Body of 12</p>");
    assert_eq!(item["data"]["excerpt"], "Excerpt of 12");
    assert_eq!(item["data"]["author"], "Ann");
    assert_eq!(item["data"]["content_truncated"], false);
    assert_eq!(
        item["data"]["checksum"],
        json!(post_checksum(12, T1, "publish"))
    );
    let (s, b) = app.get(&path(&fx, "content/page/12/"), Some(&jwt)).await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");

    let (s, terms) = app
        .get(&path(&fx, "terms/?taxonomy=category"), Some(&fx.key))
        .await;
    assert_eq!(s, StatusCode::OK, "{terms}");
    assert_eq!(terms["data"].as_array().unwrap().len(), 2);
    assert_eq!(
        (
            &terms["data"][1]["wp_id"],
            &terms["data"][1]["parent"],
            &terms["data"][1]["slug"],
            &terms["data"][1]["name"]
        ),
        (&json!(7), &json!(3), &json!("sci-fi"), &json!("SCI-FI"))
    );

    let (s, types) = app.get(&path(&fx, "content-types/"), Some(&jwt)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(types["data"]["post_types"]["post"]["synced_count"], 2);
    assert_eq!(types["data"]["post_types"]["page"]["synced_count"], 1);
    assert_eq!(types["data"]["post_types"]["product"]["synced_count"], 0);
    assert_eq!(types["data"]["taxonomies"]["category"]["synced_count"], 2);
    assert!(types["data"]["post_types"]["post"]["last_synced_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    assert_eq!(
        types["data"]["post_types"]["product"]["last_synced_at"],
        Value::Null
    );

    let st = status(&app, &fx).await;
    assert_eq!(st["sync_status"], "success");
    assert!(st["last_sync_at"].is_string());
    assert_eq!(st["last_error"], Value::Null);
}

#[tokio::test]
async fn a_redelivered_batch_changes_nothing() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    let items = vec![
        post("post", 1, T1, "publish", "One"),
        term("category", 3, 0, "news"),
    ];
    let (_, first) = send(&app, &fx, items.clone()).await;
    let (s, again) = send(&app, &fx, items).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(statuses(&first), statuses(&again));
    assert_eq!(listed_ids(&app, &fx, "").await, vec![1]);
    let (_, terms) = app
        .get(&path(&fx, "terms/?taxonomy=category"), Some(&fx.key))
        .await;
    assert_eq!(terms["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_older_change_arriving_after_a_newer_one_is_ignored() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    send(&app, &fx, vec![post("post", 1, T2, "publish", "New title")]).await;
    let (s, b) = send(&app, &fx, vec![post("post", 1, T1, "publish", "Old title")]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(statuses(&b), ["stale"]);
    assert_eq!(b["data"]["stale"], 1);
    let (_, item) = app.get(&path(&fx, "content/post/1/"), Some(&fx.key)).await;
    assert_eq!(item["data"]["title"], "New title");
    // An older delete does not remove the newer copy either.
    let (_, b) = send(&app, &fx, vec![delete(1, T1)]).await;
    assert_eq!(statuses(&b), ["stale"]);
    assert_eq!(listed_ids(&app, &fx, "").await, vec![1]);
}

#[tokio::test]
async fn trash_and_restore_are_upserts_and_delete_is_permanent() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    app.push_structure(&fx, seed_structure()).await;
    send(
        &app,
        &fx,
        vec![
            post("post", 1, T1, "publish", "a"),
            post("post", 2, T1, "publish", "b"),
        ],
    )
    .await;
    send(&app, &fx, vec![post("post", 1, T2, "trash", "a")]).await;
    assert_eq!(listed_ids(&app, &fx, "&status=trash").await, vec![1]);
    let synced = |types: &Value| types["data"]["post_types"]["post"]["synced_count"].clone();
    let (_, types) = app.get(&path(&fx, "content-types/"), Some(&fx.key)).await;
    assert_eq!(synced(&types), 1, "trash is kept but not counted");
    send(
        &app,
        &fx,
        vec![post("post", 1, "2025-11-22 12:00:00", "publish", "a")],
    )
    .await;
    assert_eq!(listed_ids(&app, &fx, "&status=publish").await, vec![1, 2]);
    let (_, b) = send(&app, &fx, vec![delete(2, T2)]).await;
    assert_eq!(statuses(&b), ["applied"]);
    assert_eq!(listed_ids(&app, &fx, "").await, vec![1]);
    let (_, types) = app.get(&path(&fx, "content-types/"), Some(&fx.key)).await;
    assert_eq!(synced(&types), 1);
    let (_, b) = send(
        &app,
        &fx,
        vec![json!({"op": "delete", "kind": "term", "type": "category", "wp_id": 99})],
    )
    .await;
    assert_eq!(
        statuses(&b),
        ["applied"],
        "deleting what is not held is done"
    );
}

#[tokio::test]
async fn a_full_sync_run_reports_progress_and_removes_what_wordpress_no_longer_has() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    app.push_structure(&fx, seed_structure()).await;
    // What the platform held before the run: posts 1..=8, a page, a product (disabled type),
    // and a term of a disabled taxonomy.
    let mut before: Vec<Value> = (1..=8)
        .map(|id| post("post", id, T1, "publish", "x"))
        .collect();
    before.push(post("page", 20, T1, "publish", "About"));
    before.push(post("product", 30, T1, "publish", "Mug"));
    before.push(term("product_cat", 4, 0, "mugs"));
    send(&app, &fx, before).await;

    let (s, b) = app
        .post(
            &path(&fx, "content/full-sync/"),
            Some(&fx.key),
            json!({"action": "start", "run_id": "run-1", "totals": {"post:post": 5, "post:page": 1, "term:category": 0}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["full_sync"]["status"], "running");
    assert_eq!(
        b["data"]["full_sync"]["types"]["post:post"],
        json!({"done": 0, "total": 5})
    );

    // WordPress deleted 2 and 4 while the run went on; ids ascend in two batches.
    let marker = |from: i64, to: i64| json!({"run_id": "run-1", "kind": "post", "type": "post", "from_id": from, "to_id": to});
    let (s, b) = send_range(
        &app,
        &fx,
        vec![
            post("post", 1, T1, "publish", "x"),
            post("post", 3, T1, "publish", "x"),
        ],
        marker(1, 3),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        listed_ids(&app, &fx, "&type=post").await,
        vec![1, 3, 4, 5, 6, 7, 8]
    );
    assert_eq!(
        status(&app, &fx).await["full_sync"]["types"]["post:post"],
        json!({"done": 2, "total": 5})
    );
    send_range(
        &app,
        &fx,
        vec![
            post("post", 5, T1, "publish", "x"),
            post("post", 6, T1, "publish", "x"),
            post("post", 7, T1, "publish", "x"),
        ],
        marker(4, 7),
    )
    .await;
    assert_eq!(
        status(&app, &fx).await["full_sync"]["types"]["post:post"],
        json!({"done": 5, "total": 5})
    );
    send_range(
        &app,
        &fx,
        vec![post("page", 20, T1, "publish", "About")],
        json!({"run_id": "run-1", "type": "page", "from_id": 1, "to_id": 20}),
    )
    .await;

    // Finishing another run is refused and deletes nothing.
    let (s, b) = app
        .post(
            &path(&fx, "content/full-sync/"),
            Some(&fx.key),
            json!({"action": "finish", "run_id": "run-0", "max_ids": {"post:post": 7}}),
        )
        .await;
    assert_error(s, &b, StatusCode::CONFLICT, "conflict");
    assert_eq!(
        listed_ids(&app, &fx, "").await,
        vec![1, 3, 5, 6, 7, 8, 20, 30]
    );

    // Finish: 8 lies above WordPress's largest post id; products are not enabled.
    let (s, b) = app
        .post(
            &path(&fx, "content/full-sync/"),
            Some(&fx.key),
            json!({"action": "finish", "run_id": "run-1", "max_ids": {"post:post": 7, "post:page": 20}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["deleted"], 3);
    assert_eq!(b["data"]["full_sync"]["status"], "done");
    assert!(b["data"]["full_sync"]["finished_at"].is_string());
    assert_eq!(listed_ids(&app, &fx, "").await, vec![1, 3, 5, 6, 7, 20]);
    let (_, terms) = app
        .get(&path(&fx, "terms/?taxonomy=product_cat"), Some(&fx.key))
        .await;
    assert_eq!(terms["data"], json!([]));
    // A re-delivered finish is harmless.
    let (s, b) = app
        .post(
            &path(&fx, "content/full-sync/"),
            Some(&fx.key),
            json!({"action": "finish", "run_id": "run-1", "max_ids": {"post:post": 7, "post:page": 20}}),
        )
        .await;
    assert_eq!((s, &b["data"]["deleted"]), (StatusCode::OK, &json!(0)));
}

#[tokio::test]
async fn full_syncs_and_verifications_are_requested_by_users_and_seen_by_the_plugin() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    let jwt = app.login("ann@example.com").await;
    let st = status(&app, &fx).await;
    assert_eq!(
        (
            &st["full_sync"],
            &st["full_sync_requested"],
            &st["verify"]["state"]
        ),
        (&Value::Null, &json!(false), &json!("never"))
    );
    let (s, b) = app
        .post(
            &path(&fx, "content/full-sync/"),
            Some(&jwt),
            json!({"action": "request"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["full_sync_requested"], true);
    let (_, answer) = app.push_structure(&fx, seed_structure()).await;
    assert_eq!(answer["data"]["full_sync_requested"], true);
    // Users may ask; only the site's key runs a sync.
    let (s, b) = app
        .post(
            &path(&fx, "content/full-sync/"),
            Some(&jwt),
            json!({"action": "start", "run_id": "r"}),
        )
        .await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "forbidden");
    let (s, b) = app
        .post(
            &path(&fx, "content/batch/"),
            Some(&jwt),
            json!({"items": []}),
        )
        .await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "forbidden");
    app.post(
        &path(&fx, "content/full-sync/"),
        Some(&fx.key),
        json!({"action": "start", "run_id": "r"}),
    )
    .await;
    assert_eq!(status(&app, &fx).await["full_sync_requested"], false);
    // The plugin's queue overflowed.
    let (s, b) = app
        .post(
            &path(&fx, "content/resync-request/"),
            Some(&fx.key),
            json!({"reason": "queue_overflow"}),
        )
        .await;
    assert_eq!(
        (s, &b["data"]["full_sync_requested"]),
        (StatusCode::OK, &json!(true))
    );
    let (s, b) = app
        .post(
            &path(&fx, "content/verify/"),
            Some(&jwt),
            json!({"action": "request"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (
            &b["data"]["verify_requested"],
            &b["data"]["verify"]["state"]
        ),
        (&json!(true), &json!("checking"))
    );
    let (s, b) = app
        .post(
            &path(&fx, "content/full-sync/"),
            Some(&jwt),
            json!({"action": "pause"}),
        )
        .await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    assert!(b["errors"]["action"].is_array());
}

#[tokio::test]
async fn hostile_items_are_rejected_one_by_one_while_the_rest_applies() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    let markup = "<script>alert(\"x\")</script> \\ '; DROP TABLE content; --";
    let mut huge = post("post", 2, T1, "publish", "Huge");
    huge["data"]["content"] = json!("x".repeat(5 * 1024 * 1024));
    let mut truncated = post("post", 3, T1, "publish", "Cut");
    truncated["data"]["content"] = json!("y".repeat(MAX_CONTENT_BYTES));
    truncated["data"]["content_truncated"] = json!(true);
    let mut wrong_type = post("post", 4, T1, "publish", "x");
    wrong_type["data"]["title"] = json!({"rendered": "x"});
    let mut nul = post("post", 5, T1, "publish", "x");
    nul["data"]["excerpt"] = json!("a\u{0}b");
    let mut bad_time = post("post", 6, "yesterday", "publish", "x");
    bad_time["data"]["status"] = json!("Publish!");
    let items = vec![
        post("post", 1, T1, "publish", markup),
        huge,
        post("post", 3, T1, "draft", "Cut later"),
        wrong_type,
        post("Bad Type", 7, T1, "publish", "x"),
        post("post", -8, T1, "publish", "x"),
        nul,
        bad_time,
        json!("not an item"),
        json!({"op": "upsert", "kind": "term", "type": "<script>", "wp_id": 9, "data": {"name": "n", "slug": "s"}}),
        post("post", 10, T1, "draft", "Fine"),
    ];
    let (s, b) = send(&app, &fx, items).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "{}",
        &b.to_string()[..500.min(b.to_string().len())]
    );
    assert_eq!(
        statuses(&b),
        [
            "applied", "rejected", "applied", "rejected", "rejected", "rejected", "rejected",
            "rejected", "rejected", "rejected", "applied"
        ]
    );
    let reason = |i: usize| {
        b["data"]["results"][i]["reason"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(reason(1).starts_with("data.content: must be at most 4194304 bytes"));
    assert_eq!(reason(3), "data.title: must be a string");
    assert_eq!(
        reason(4),
        "type: may hold only lowercase letters, digits, '_' and '-'"
    );
    assert_eq!(reason(5), "wp_id: must be a positive whole number");
    assert_eq!(reason(6), "data.excerpt: must not contain NUL characters");
    assert!(reason(7).contains("modified_gmt: must be a GMT time"));
    assert!(reason(7).contains("data.status: must be a post status"));
    assert_eq!(reason(8), ": must be an object");
    assert_eq!(b["data"]["rejected"], 8);
    assert_eq!(status(&app, &fx).await["sync_status"], "partial");
    assert_eq!(listed_ids(&app, &fx, "").await, vec![1, 3, 10]);
    // A body cut to the limit by the plugin, flagged, is kept (a batch of its own: 8 MiB).
    let (_, b) = send(&app, &fx, vec![truncated]).await;
    assert_eq!(statuses(&b), ["applied"]);

    // Markup and SQL are stored verbatim and answered as JSON strings.
    let response = app
        .client
        .get(app.url(&path(&fx, "content/post/1/")))
        .bearer_auth(&fx.key)
        .send()
        .await
        .unwrap();
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let raw = response.text().await.unwrap();
    assert!(raw.contains(r#"<script>alert(\"x\")</script> \\ '; DROP TABLE content; --"#));
    let item: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(item["data"]["title"], markup);
    let (_, cut) = app.get(&path(&fx, "content/post/3/"), Some(&fx.key)).await;
    assert_eq!(cut["data"]["content_truncated"], true);
    assert_eq!(
        cut["data"]["content"].as_str().unwrap().len(),
        MAX_CONTENT_BYTES
    );

    // The integration shows the last rejection, also after later clean batches.
    let st = status(&app, &fx).await;
    assert_eq!(st["sync_status"], "success");
    assert_eq!(
        st["last_error"].as_str(),
        Some(format!("Rejected item 9: {}", reason(9)).as_str())
    );
}

#[tokio::test]
async fn batches_over_the_limits_are_refused_whole() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    let items: Vec<Value> = (1..=501)
        .map(|id| post("post", id, T1, "publish", "x"))
        .collect();
    let (s, b) = send(&app, &fx, items).await;
    assert_error(s, &b, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    let mut big = post("post", 1, T1, "publish", "x");
    big["data"]["content"] = json!("x".repeat(MAX_BATCH_BYTES / 2));
    let (s, b) = send(&app, &fx, vec![big.clone(), big]).await;
    assert_error(s, &b, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    let (s, b) = app
        .send(
            app.client
                .post(app.url(&path(&fx, "content/batch/")))
                .header("content-type", "application/json")
                .body("{\"items\": [ {\"op\": "),
            Some(&fx.key),
        )
        .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "malformed_json");
    let (s, b) = app
        .post(
            &path(&fx, "content/batch/"),
            Some(&fx.key),
            json!({"items": {"0": {}}, "full_sync": {"type": "post", "from_id": 5, "to_id": 1}}),
        )
        .await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    assert!(b["errors"]["items"].is_array() && b["errors"]["full_sync.to_id"].is_array());
    assert_eq!(listed_ids(&app, &fx, "").await, Vec::<i64>::new());
}

#[tokio::test]
async fn another_tenant_sees_nothing_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let ann = app.fixture("ann@example.com").await;
    let bob = app.fixture("bob@example.com").await;
    send(&app, &ann, vec![post("post", 1, T1, "publish", "Ann's")]).await;
    let bob_jwt = app.login("bob@example.com").await;
    for token in [bob.key.as_str(), bob_jwt.as_str()] {
        for read in [
            "content/",
            "content/post/1/",
            "content/status/",
            "terms/?taxonomy=category",
        ] {
            let (s, b) = app.get(&path(&ann, read), Some(token)).await;
            assert_error(s, &b, StatusCode::FORBIDDEN, "forbidden");
            assert!(!b.to_string().contains("Ann's"));
        }
        for (write, body) in [
            (
                "content/batch/",
                json!({"items": [post("post", 1, T2, "trash", "Bob was here")]}),
            ),
            ("content/full-sync/", json!({"action": "request"})),
            ("content/verify/", json!({"action": "request"})),
            ("content/resync-request/", json!({})),
        ] {
            let (s, b) = app.post(&path(&ann, write), Some(token), body).await;
            assert_error(s, &b, StatusCode::FORBIDDEN, "forbidden");
        }
    }
    // Bob's own integration holds nothing of Ann's.
    assert_eq!(listed_ids(&app, &bob, "").await, Vec::<i64>::new());
    let (_, item) = app
        .get(&path(&ann, "content/post/1/"), Some(&ann.key))
        .await;
    assert_eq!(item["data"]["title"], "Ann's");
    let (s, b) = app.get(&path(&ann, "content/"), None).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "not_authenticated");
}

#[tokio::test]
async fn an_inactive_site_cannot_push_content_but_can_be_read() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    send(&app, &fx, vec![post("post", 1, T1, "publish", "a")]).await;
    app.store.set_site_active(fx.site.id, false).await.unwrap();
    let (s, b) = send(&app, &fx, vec![post("post", 2, T1, "publish", "b")]).await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "site_inactive");
    let (s, b) = app
        .post(
            &path(&fx, "content/full-sync/"),
            Some(&fx.key),
            json!({"action": "start", "run_id": "r"}),
        )
        .await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "site_inactive");
    assert_eq!(listed_ids(&app, &fx, "").await, vec![1]);
}

#[tokio::test]
async fn lists_are_paged_and_filtered_and_bad_queries_are_named() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    let items: Vec<Value> = (1..=7)
        .map(|id| {
            post(
                if id % 2 == 0 { "page" } else { "post" },
                id,
                &format!("2025-11-2{id} 10:00:00"),
                "publish",
                "x",
            )
        })
        .collect();
    send(&app, &fx, items).await;
    let (_, b) = app
        .get(&path(&fx, "content/?page=2&page_size=3"), Some(&fx.key))
        .await;
    let ids: Vec<i64> = b["data"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["wp_id"].as_i64().unwrap())
        .collect();
    assert_eq!((b["data"]["count"].as_i64(), ids), (Some(7), vec![4, 3, 2]));
    assert_eq!(listed_ids(&app, &fx, "&type=page").await, vec![2, 4, 6]);
    for (query, field) in [
        ("content/?page_size=501", "page_size"),
        ("content/?page=0", "page"),
        ("content/?type=Bad%20Type", "type"),
        ("terms/", "taxonomy"),
        ("terms/?taxonomy=%3Cscript%3E", "taxonomy"),
    ] {
        let (s, b) = app.get(&path(&fx, query), Some(&fx.key)).await;
        assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
        assert!(b["errors"][field].is_array(), "{query}: {b}");
    }
    for missing in ["content/post/99/", "content/post/abc/", "content/Bad/1/"] {
        let (s, b) = app.get(&path(&fx, missing), Some(&fx.key)).await;
        assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
    }
}

#[tokio::test]
async fn verification_finds_differences_repairs_them_and_then_proves_the_copy_equal() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    let jwt = app.login("ann@example.com").await;
    // The platform holds 1..=5 and 10_007; WordPress has 1..=5 (3 edited since) and 6.
    let held: Vec<Value> = (1..=5)
        .chain([10_007])
        .map(|id| post("post", id, T1, "publish", "x"))
        .collect();
    send(&app, &fx, held).await;
    // A deletion of 6 reached the platform, yet WordPress has 6: verification must win over it.
    send(
        &app,
        &fx,
        vec![
            json!({"op": "delete", "kind": "post", "type": "post", "wp_id": 6, "modified_gmt": T2}),
        ],
    )
    .await;
    let wordpress: Vec<(i64, &str)> = vec![(1, T1), (2, T1), (3, T2), (4, T1), (5, T1), (6, T1)];
    let sums: Vec<(i64, u32)> = wordpress
        .iter()
        .map(|(id, t)| (*id, post_checksum(*id, t, "publish")))
        .collect();
    let wp_buckets = buckets(sums.clone(), 10_000);
    let verify = |body: Value| {
        let app = &app;
        let fx = &fx;
        async move {
            app.post(&path(fx, "content/verify/"), Some(&fx.key), body)
                .await
        }
    };

    app.post(
        &path(&fx, "content/verify/"),
        Some(&jwt),
        json!({"action": "request"}),
    )
    .await;
    assert_eq!(status(&app, &fx).await["verify"]["state"], "checking");
    let (s, b) = verify(
        json!({"action": "buckets", "kind": "post", "type": "post", "bucket_size": 10_000,
        "buckets": wp_buckets}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let differing: Vec<i64> = b["data"]["differing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["start"].as_i64().unwrap())
        .collect();
    assert_eq!(differing, vec![0, 10_000]);
    // Each differing bucket is answered with what the platform holds of it.
    let ours = (1..=5)
        .chain([10_007])
        .map(|id| (id, post_checksum(id, T1, "publish")));
    assert_eq!(b["data"]["differing"], json!(buckets(ours, 10_000)));
    assert_eq!(
        status(&app, &fx).await["verify_requested"],
        false,
        "the plugin took the request"
    );

    let items: Vec<Value> = sums
        .iter()
        .map(|(id, sum)| json!({"wp_id": id, "checksum": sum}))
        .collect();
    let (s, b) =
        verify(json!({"action": "items", "type": "post", "start": 0, "items": items})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (&b["data"]["resend"], &b["data"]["delete"]),
        (&json!([3, 6]), &json!([]))
    );
    let (_, b) =
        verify(json!({"action": "items", "type": "post", "start": 10_000, "items": []})).await;
    assert_eq!(
        (&b["data"]["resend"], &b["data"]["delete"]),
        (&json!([]), &json!([10_007]))
    );
    assert_eq!(listed_ids(&app, &fx, "").await, vec![1, 2, 3, 4, 5]);
    let (s, b) = verify(json!({"action": "done"})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["data"]["verify"]["state"], "out_of_sync");
    assert_eq!(b["data"]["verify"]["differences"], 5);

    // The plugin re-sends what was asked (6's tombstone was forgotten by the items step); the
    // next verification finds nothing.
    send(
        &app,
        &fx,
        vec![
            post("post", 3, T2, "publish", "x"),
            post("post", 6, T1, "publish", "x"),
        ],
    )
    .await;
    let (_, b) = verify(json!({"action": "buckets", "type": "post", "buckets": wp_buckets})).await;
    assert_eq!(b["data"]["differing"], json!([]));
    let (_, b) = verify(json!({"action": "done"})).await;
    assert_eq!(b["data"]["verify"]["state"], "in_sync");
    assert_eq!(b["data"]["result"], "in_sync");
    assert!(b["data"]["verify"]["verified_at"].is_string());

    let (s, b) = verify(json!({"action": "items", "type": "post", "start": 0, "items": [{"wp_id": 20_000, "checksum": 1}]})).await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    assert!(b["errors"]["items.0.wp_id"].is_array(), "{b}");
}

/// `items` names one bucket by its first id; any other start would reach ids the bucket check
/// never compared, and delete them.
#[tokio::test]
async fn verifying_items_from_the_middle_of_a_bucket_is_refused_and_deletes_nothing() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    let held: Vec<Value> = (1..=20)
        .map(|id| post("post", id, T1, "publish", "x"))
        .collect();
    send(&app, &fx, held).await;
    for (start, size) in [(5, 10), (1, 10_000), (15, 10)] {
        let (s, b) = app
            .post(
                &path(&fx, "content/verify/"),
                Some(&fx.key),
                json!({"action": "items", "type": "post", "bucket_size": size, "start": start, "items": []}),
            )
            .await;
        assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
        assert!(b["errors"]["start"].is_array(), "{b}");
    }
    assert_eq!(
        listed_ids(&app, &fx, "").await,
        (1..=20).collect::<Vec<_>>()
    );
    // A bucket's own first id is fine: bucket [10, 19] without 10..=19 deletes those.
    let (s, b) = app
        .post(
            &path(&fx, "content/verify/"),
            Some(&fx.key),
            json!({"action": "items", "type": "post", "bucket_size": 10, "start": 10, "items": []}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        listed_ids(&app, &fx, "").await,
        vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 20]
    );
}

#[tokio::test]
async fn a_resync_request_that_is_not_an_object_is_refused() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    for body in [json!([]), json!("queue_overflow"), json!(7), json!(null)] {
        let (s, b) = app
            .post(&path(&fx, "content/resync-request/"), Some(&fx.key), body)
            .await;
        assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    }
    assert_eq!(status(&app, &fx).await["full_sync_requested"], false);
    let (s, _) = app
        .post(
            &path(&fx, "content/resync-request/"),
            Some(&fx.key),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}
