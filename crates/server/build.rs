//! Builds the WordPress plugin's zip into the binary: `GET /downloads/igny8-wp-plugin.zip` serves
//! exactly the plugin this build was made with. The zip holds `igny8-wp-plugin/…` (what WordPress's
//! Plugins → Add New → Upload expects), without the plugin's tests; entries are stored, sorted and
//! dated 1980-01-01 so the same sources give the same bytes.

use std::fs;
use std::path::{Path, PathBuf};

const LEFT_OUT: &[&str] = &["tests", "phpunit.xml.dist", ".phpunit.result.cache"];

fn main() {
    let plugin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../igny8-wp-plugin");
    println!("cargo:rerun-if-changed={}", plugin.display());
    let mut files = Vec::new();
    collect(&plugin, &plugin, &mut files);
    files.sort();
    let mut entries = Vec::new();
    for rel in &files {
        println!("cargo:rerun-if-changed={}", plugin.join(rel).display());
        let data = fs::read(plugin.join(rel)).expect("plugin file readable");
        let name = format!(
            "igny8-wp-plugin/{}",
            rel.to_string_lossy().replace('\\', "/")
        );
        entries.push((name, data));
    }
    let zip = write_zip(&entries);
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    fs::write(out.join("igny8-wp-plugin.zip"), zip).unwrap();

    let header = fs::read_to_string(plugin.join("igny8-wp-plugin.php")).unwrap();
    let readme = fs::read_to_string(plugin.join("readme.txt")).unwrap_or_default();
    for (env, text, field) in [
        ("IGNY8_PLUGIN_VERSION", &header, "Version"),
        ("IGNY8_PLUGIN_REQUIRES", &header, "Requires at least"),
        ("IGNY8_PLUGIN_REQUIRES_PHP", &header, "Requires PHP"),
        ("IGNY8_PLUGIN_TESTED", &readme, "Tested up to"),
    ] {
        println!("cargo:rustc-env={env}={}", header_field(text, field));
    }
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    let mut items: Vec<_> = fs::read_dir(dir).unwrap().flatten().collect();
    items.sort_by_key(|e| e.file_name());
    for item in items {
        let path = item.path();
        let rel = path.strip_prefix(root).unwrap().to_owned();
        let name = item.file_name().to_string_lossy().into_owned();
        if (dir == root && LEFT_OUT.contains(&name.as_str())) || name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, out);
        } else {
            out.push(rel);
        }
    }
}

/// `Version: 0.1.0` → `0.1.0` (WordPress's file header format), empty when missing.
fn header_field(text: &str, field: &str) -> String {
    text.lines()
        .find_map(|line| {
            let line = line.trim_start_matches([' ', '*', '\t', '/', '#']);
            line.strip_prefix(field)
                .and_then(|rest| rest.trim_start().strip_prefix(':'))
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default()
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A zip of stored (uncompressed) entries: local headers, data, central directory, end record.
fn write_zip(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    const DOS_DATE: u16 = (1 << 5) | 1; // 1980-01-01
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let offset = out.len() as u32;
        let crc = crc32(data);
        let size = data.len() as u32;
        let name = name.as_bytes();
        // Local file header.
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&10u16.to_le_bytes()); // version needed
        out.extend_from_slice(&0x0800u16.to_le_bytes()); // UTF-8 names
        out.extend_from_slice(&0u16.to_le_bytes()); // stored
        out.extend_from_slice(&0u16.to_le_bytes()); // time
        out.extend_from_slice(&DOS_DATE.to_le_bytes());
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name);
        out.extend_from_slice(data);
        // Its central directory record.
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&((3 << 8) | 20u16).to_le_bytes()); // made by: Unix, 2.0
        central.extend_from_slice(&10u16.to_le_bytes());
        central.extend_from_slice(&0x0800u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&DOS_DATE.to_le_bytes());
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&(name.len() as u16).to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes()); // extra
        central.extend_from_slice(&0u16.to_le_bytes()); // comment
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        central.extend_from_slice(&(0o100644u32 << 16).to_le_bytes()); // -rw-r--r--
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name);
    }
    let central_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}
