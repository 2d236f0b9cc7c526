//! docs/deploy.md cannot rot: its unit files are written as shown and checked by
//! `systemd-analyze verify`, and its `sh` blocks run in order as one script against the real binary,
//! HAProxy and PostgreSQL, with only the stand-ins the guide itself lists (paths, ports, systemctl).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use common::free_port;

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// A fenced block of the guide: its language and its lines.
struct Block {
    lang: String,
    text: String,
}

fn blocks(doc: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut open: Option<Block> = None;
    for line in doc.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(lang)) => {
                open = Some(Block {
                    lang: lang.trim().to_owned(),
                    text: String::new(),
                })
            }
            (Some(_), Some(_)) => found.extend(open.take()),
            (Some(block), None) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "an unclosed block");
    found
}

/// What the guide's unit runs, as a script: its environment, then its `ExecStart` (`%i` is the
/// script's argument).
fn launcher(unit: &str, root: &Path) -> String {
    let mut script = String::from("#!/bin/bash\nset -e\n");
    let mut exec = None;
    for line in unit.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        match key {
            "EnvironmentFile" => script.push_str(&format!(
                "set -a; . '{}'; set +a\n",
                value.trim_start_matches('-')
            )),
            "Environment" => {
                let (name, value) = value.split_once('=').expect("NAME=value");
                script.push_str(&format!("export {name}='{value}'\n"));
            }
            "StateDirectory" => {
                script.push_str(&format!("mkdir -p '{}/var/lib/{value}'\n", root.display()))
            }
            "ExecStart" => exec = Some(value.replace("%i", "$1")),
            _ => {}
        }
    }
    script.push_str(&format!("exec {}\n", exec.expect("an ExecStart")));
    script
}

/// The stand-ins the guide lists, defined before its blocks run.
const STAND_INS: &str = r#"
useradd() { :; }
runuser() {
  if [ "$1" = -u ] && [ "$3" = -- ]; then shift 3; "$@"; else command runuser "$@"; fi
}
systemctl() {
  local action=$1; shift
  case $action in
    daemon-reload) ;;
    enable) if [ "$1" = --now ]; then shift; systemctl start "$@"; fi ;;
    start|stop|restart|reload) for unit in "$@"; do unit_action "$action" "$unit"; done ;;
    *) echo "systemctl stand-in: $action?" >&2; return 1 ;;
  esac
}
unit_action() {
  local action=$1 unit=$2
  if [ "$unit" = haproxy ]; then haproxy_action "$action"; return; fi
  local pidfile=$ROOT/run/$unit.pid
  if [ "$action" = stop ] || [ "$action" = restart ]; then
    if [ -f "$pidfile" ]; then
      local pid; pid=$(cat "$pidfile"); rm -f "$pidfile"
      kill -TERM "$pid"
      # As systemd sees it: a graceful stop exits 0.
      wait "$pid" || { echo "$unit exited with $? on SIGTERM" >&2; return 1; }
    fi
  fi
  if [ "$action" != stop ]; then
    local template=$unit instance=
    if [[ $unit == *@* ]]; then template=${unit%%@*}@; instance=${unit#*@}; fi
    "$ROOT/units/$template.service.sh" "$instance" >>"$ROOT/run/$unit.log" 2>&1 </dev/null &
    echo $! > "$pidfile"
  fi
}
haproxy_action() {
  local pidfile=$ROOT/run/haproxy.pid old=()
  if [ -f "$pidfile" ]; then old=(-sf $(cat "$pidfile")); fi
  if [ "$1" = stop ]; then
    [ -f "$pidfile" ] && kill -TERM $(cat "$pidfile"); rm -f "$pidfile"; return 0
  fi
  # Its output to a file: a daemon holding the script's pipes would hold the test until it exits.
  haproxy -D -n 2000 -p "$pidfile" -f "$ROOT/etc/haproxy/haproxy.cfg" "${old[@]}" \
    >>"$ROOT/run/haproxy.log" 2>&1
  # Replaced ones finish their connections on their own; the test ends them all.
  cat "$pidfile" >> "$ROOT/run/haproxy-started.pid"
}
"#;

/// The scratch directory, and everything the guide started, gone when dropped.
struct Scratch {
    root: PathBuf,
    admin: String,
    suffix: String,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(pids) = std::fs::read_dir(self.root.join("run")) {
            for file in pids.flatten() {
                if file.path().extension().is_some_and(|e| e == "pid") {
                    let pids = std::fs::read_to_string(file.path()).unwrap_or_default();
                    for pid in pids.split_whitespace() {
                        let _ = Command::new("kill")
                            .args(["-KILL", pid])
                            .stderr(Stdio::null())
                            .status();
                    }
                }
            }
        }
        for sql in [
            format!(
                "DROP DATABASE IF EXISTS igny8_platform{} WITH (FORCE)",
                self.suffix
            ),
            format!("DROP ROLE IF EXISTS igny8_app{}", self.suffix),
        ] {
            let _ = Command::new("psql")
                .args([self.admin.as_str(), "-qAtc", &sql])
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[test]
fn every_command_of_the_deploy_guide_runs() {
    assert!(
        Command::new("haproxy").arg("-v").output().is_ok(),
        "haproxy is installed (scripts/test.sh installs it: apt-get install haproxy)"
    );
    let admin = std::env::var("IGNY8_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let db_host = admin
        .split_once('@')
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(host, _)| host.to_owned())
        .expect("postgres://USER@HOST:PORT/DB");
    let root = std::env::temp_dir().join(format!("igny8-deploy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let scratch = Scratch {
        root: root.clone(),
        admin: admin.clone(),
        suffix: format!("_{}", std::process::id()),
    };
    for dir in ["run", "units", "etc/systemd/system"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }

    let bin = env!("CARGO_BIN_EXE_igny8");
    let r = root.display().to_string();
    let mut replacements: Vec<(String, String)> = vec![
        ("/usr/local/bin/igny8".into(), bin.into()),
        ("/etc/".into(), format!("{r}/etc/")),
        ("/var/lib/igny8".into(), format!("{r}/var/lib/igny8")),
        (
            "/var/backups/igny8".into(),
            format!("{r}/var/backups/igny8"),
        ),
        (
            "postgres://postgres@db.internal:5432/postgres".into(),
            admin.clone(),
        ),
        ("db.internal:5432".into(), db_host),
        ("igny8_app".into(), format!("igny8_app{}", scratch.suffix)),
        (
            "igny8_platform".into(),
            format!("igny8_platform{}", scratch.suffix),
        ),
    ];
    for port in ["8000", "8001", "8002", "8080", "8443", "9100"] {
        replacements.push((port.into(), free_port().to_string()));
    }
    let mut doc = std::fs::read_to_string(format!("{REPO}/docs/deploy.md")).unwrap();
    for (from, to) in &replacements {
        doc = doc.replace(from, to);
    }

    let blocks = blocks(&doc);
    let mut units = BTreeMap::new();
    let mut script = format!("set -euo pipefail\n{STAND_INS}\n");
    for block in &blocks {
        match block.lang.as_str() {
            "ini" => {
                let path = block
                    .text
                    .lines()
                    .next()
                    .and_then(|l| l.strip_prefix("# "))
                    .expect("a unit block starts with `# PATH`");
                std::fs::write(path, &block.text).unwrap();
                units.insert(PathBuf::from(path), block.text.clone());
            }
            "sh" => script.push_str(&block.text),
            other => panic!("a block the test does not run: ```{other}"),
        }
    }
    assert_eq!(units.len(), 2, "the single unit and the replicas' template");
    assert!(script.contains("igny8 migrate") && script.contains("backup --to"));

    for (path, text) in &units {
        let name = path.file_name().unwrap().to_str().unwrap();
        std::fs::write(
            root.join("units").join(format!("{name}.sh")),
            launcher(text, &root),
        )
        .unwrap();
        // A template is verified through an instance of it.
        let verified = path.with_file_name(name.replace("@.", "@8001."));
        if Command::new("systemd-analyze")
            .arg("--version")
            .output()
            .is_ok()
        {
            let out = Command::new("systemd-analyze")
                .arg("verify")
                .arg(&verified)
                .output()
                .unwrap();
            let said = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && !said.contains(name.trim_end_matches(".service")),
                "systemd-analyze verify {name}: {said}"
            );
        } else {
            eprintln!("systemd-analyze is not installed: {name} is only run, not verified");
        }
    }
    Command::new("chmod")
        .arg("+x")
        .args(
            std::fs::read_dir(root.join("units"))
                .unwrap()
                .map(|e| e.unwrap().path()),
        )
        .status()
        .unwrap();

    let path = format!(
        "{}:{}",
        Path::new(bin).parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(REPO)
        .env("PATH", path)
        .env("ROOT", &root)
        .env("ADMIN_PASSWORD", "correct horse battery")
        .env("IGNY8_DB_PASSWORD", "a-password-for-the-test")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let logs: String = std::fs::read_dir(root.join("run"))
        .unwrap()
        .flatten()
        .filter(|f| f.path().extension().is_some_and(|e| e == "log"))
        .map(|f| {
            format!(
                "--- {}\n{}",
                f.path().display(),
                std::fs::read_to_string(f.path()).unwrap_or_default()
            )
        })
        .collect();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the guide's commands failed:\n{}\n{stdout}\n{logs}",
        String::from_utf8_lossy(&out.stderr)
    );
    // What the blocks showed: the cookie is Secure, the backup checked ok, the restored database
    // holds the site, the metrics were there.
    assert!(stdout.contains("; Secure"), "{stdout}");
    assert!(
        stdout.lines().any(|l| l == "ok"),
        "integrity_check: {stdout}"
    );
    assert!(stdout.contains("https://blog.example.com"), "{stdout}");
    assert!(stdout.contains("igny8_http_requests_total{"), "{stdout}");
    drop(scratch);
}
