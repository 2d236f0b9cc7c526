//! The plugin is offered by the platform: a zip WordPress can install, and the update information
//! its `update_plugins_{hostname}` filter reads (installing it in a real WordPress is in wp-e2e).

use igny8_domain::checksum::crc32;
use igny8_server::Settings;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;

/// The entries of a zip of stored files, each checked against its CRC-32.
fn entries(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    let u16_at = |i: usize| u16::from_le_bytes([zip[i], zip[i + 1]]) as usize;
    let u32_at = |i: usize| u32::from_le_bytes([zip[i], zip[i + 1], zip[i + 2], zip[i + 3]]);
    while u32_at(at) == 0x0403_4b50 {
        assert_eq!(u16_at(at + 8), 0, "stored");
        let crc = u32_at(at + 14);
        let size = u32_at(at + 18) as usize;
        let name_len = u16_at(at + 26);
        let extra = u16_at(at + 28);
        let name = String::from_utf8(zip[at + 30..at + 30 + name_len].to_vec()).unwrap();
        let start = at + 30 + name_len + extra;
        let data = zip[start..start + size].to_vec();
        assert_eq!(crc32(&data), crc, "{name}");
        out.push((name, data));
        at = start + size;
    }
    assert_eq!(
        u32_at(at),
        0x0201_4b50,
        "the central directory follows the entries"
    );
    out
}

#[tokio::test]
async fn the_plugin_zip_is_the_plugin_without_its_tests() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/downloads/igny8-wp-plugin.zip"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.contains(&format!(
            "igny8-wp-plugin-{}.zip",
            igny8_server::downloads::PLUGIN_VERSION
        )),
        "{disposition}"
    );
    let zip = response.bytes().await.unwrap();
    let files = entries(&zip);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"igny8-wp-plugin/igny8-wp-plugin.php"),
        "{names:?}"
    );
    assert!(names.contains(&"igny8-wp-plugin/uninstall.php"));
    assert!(
        names.iter().all(|n| n.starts_with("igny8-wp-plugin/")
            && !n.contains("/tests/")
            && !n.contains("..")),
        "{names:?}"
    );
    let main = &files
        .iter()
        .find(|(n, _)| n == "igny8-wp-plugin/igny8-wp-plugin.php")
        .unwrap()
        .1;
    let on_disk = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../igny8-wp-plugin/igny8-wp-plugin.php"
    ))
    .unwrap();
    assert_eq!(
        main, &on_disk,
        "the zip holds the plugin this binary was built with"
    );
}

#[tokio::test]
async fn the_update_information_names_the_version_and_the_package() {
    let app = TestApp::spawn().await;
    let (status, info) = app.get("/downloads/igny8-wp-plugin.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let header = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../igny8-wp-plugin/igny8-wp-plugin.php"
    ))
    .unwrap();
    let version = info["version"].as_str().unwrap();
    assert!(
        header.contains(&format!("Version:           {version}")),
        "{info}"
    );
    assert!(!info["requires"].as_str().unwrap().is_empty());
    assert!(!info["requires_php"].as_str().unwrap().is_empty());
    assert!(!info["tested"].as_str().unwrap().is_empty());
    assert_eq!(
        info["package"],
        Value::from(app.url("/downloads/igny8-wp-plugin.zip"))
    );
    // A forged Host header cannot point the package anywhere odd.
    let forged: Value = app
        .client
        .get(app.url("/downloads/igny8-wp-plugin.json"))
        .header("Host", "evil.example/\"><script>")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(forged["package"], Value::Null);
    let configured = TestApp::spawn_with(Settings {
        public_url: Some("https://igny8.example.com/".into()),
        ..Settings::default()
    })
    .await;
    let (_, info) = configured
        .get("/downloads/igny8-wp-plugin.json", None)
        .await;
    assert_eq!(
        info["package"],
        "https://igny8.example.com/downloads/igny8-wp-plugin.zip"
    );
}
