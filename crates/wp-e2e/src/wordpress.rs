//! A real WordPress for one test, brought up by scripts/wp-up.sh with the plugin active, and PHP run
//! inside it (what `wp eval` would do). Its web server stops when dropped; files and database go with
//! the test's `Scratch`.

use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Reads PHP code from argv[2] and runs it inside WordPress loaded from argv[1].
const EVAL_PHP: &str = r#"<?php
$_SERVER['HTTP_HOST'] = '127.0.0.1'; $_SERVER['SERVER_NAME'] = '127.0.0.1';
$_SERVER['REQUEST_URI'] = '/'; $_SERVER['REQUEST_METHOD'] = 'GET';
require rtrim($argv[1], '/') . '/wp-load.php';
eval($argv[2]);
"#;

pub struct WordPress {
    pub dir: PathBuf,
    pub url: String,
    port: u16,
}

impl WordPress {
    /// Brings up WordPress in `dir` on a free port with the plugin active, cron spawning off (tests
    /// call wp-cron.php themselves) and local HTTP allowed (the igny8 server is on 127.0.0.1).
    pub fn up(dir: &Path) -> Result<WordPress> {
        let port = crate::free_port()?;
        serve(dir, port)?;
        std::fs::write(dir.join(".wp-up/e2e-eval.php"), EVAL_PHP)?;
        Ok(WordPress {
            dir: dir.to_owned(),
            url: format!("http://127.0.0.1:{port}"),
            port,
        })
    }

    /// Kills the `php -S` server and its workers at once (SIGKILL to its process group), as a crash
    /// would: a request in progress dies mid-way.
    pub fn kill_server(&self) -> Result<()> {
        let pid_file = self.dir.join(".wp-up/server.pid");
        let pid = std::fs::read_to_string(&pid_file)?.trim().to_owned();
        let status = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .status()?;
        if !status.success() {
            bail!("kill -KILL -{pid} failed");
        }
        // Until its parent reaps it, the killed server is a zombie that `kill -0` still finds: wait
        // for it to go (or be a zombie), then forget it as wp-down.sh does, so wp-up.sh starts a new one.
        let stat = format!("/proc/{pid}/stat");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while let Ok(line) = std::fs::read_to_string(&stat) {
            let state = line
                .rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().next());
            if state == Some("Z") || std::time::Instant::now() > deadline {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = std::fs::remove_file(&pid_file);
        let _ = std::fs::remove_file(self.dir.join(".wp-up/server.port"));
        Ok(())
    }

    /// Starts the web server again on the same address (after `kill_server`).
    pub fn restart_server(&self) -> Result<()> {
        serve(&self.dir, self.port)
    }

    /// Runs PHP inside this WordPress (a separate process, like a cron run or `wp eval`); returns stdout.
    pub fn php(&self, code: &str) -> Result<String> {
        let out = Command::new("php")
            .arg(self.dir.join(".wp-up/e2e-eval.php"))
            .arg(&self.dir)
            .arg(code)
            .output()
            .context("running php")?;
        if !out.status.success() {
            bail!(
                "php failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8(out.stdout)?)
    }

    /// Runs PHP that echoes JSON; returns it parsed.
    pub fn php_json(&self, code: &str) -> Result<Value> {
        let out = self.php(code)?;
        serde_json::from_str(&out).with_context(|| format!("php did not print JSON: {out}"))
    }

    /// Every `igny8_` option as stored: {name: [value, autoload]}.
    pub fn igny8_options(&self) -> Result<Value> {
        self.php_json(
            r#"global $wpdb;
            $rows = $wpdb->get_results($wpdb->prepare("SELECT option_name, option_value, autoload FROM {$wpdb->options} WHERE option_name LIKE %s ORDER BY option_name", $wpdb->esc_like('igny8_') . '%'));
            $out = new stdClass();
            foreach ($rows as $r) { $out->{$r->option_name} = [$r->option_value, $r->autoload]; }
            echo json_encode($out);"#,
        )
    }

    /// Public post types and taxonomies with counts, as WordPress's own API reports them (not the plugin's).
    pub fn counts_by_wordpress(&self) -> Result<Value> {
        self.php_json(
            r#"$out = ['post_types' => new stdClass(), 'taxonomies' => new stdClass()];
            foreach (get_post_types(['public' => true]) as $pt) { if ($pt !== 'attachment') { $out['post_types']->$pt = (int) wp_count_posts($pt)->publish; } }
            foreach (get_taxonomies(['public' => true]) as $tx) { if ($tx !== 'post_format') { $out['taxonomies']->$tx = (int) wp_count_terms(['taxonomy' => $tx, 'hide_empty' => false]); } }
            echo json_encode($out);"#,
        )
    }

    /// When the plugin's cron events run next (null = not scheduled).
    pub fn scheduled_syncs(&self) -> Result<Value> {
        self.php_json(
            r#"echo json_encode(['daily' => wp_next_scheduled('igny8_sync_site_structure') ?: null, 'soon' => wp_next_scheduled('igny8_sync_site_structure_soon') ?: null]);"#,
        )
    }

    /// Makes the named WP-Cron events due now (as if their time had come) and runs WP-Cron over HTTP
    /// (GET wp-cron.php, as a system cron would), waiting until it has run them.
    pub async fn run_cron(&self, hooks: &[&str]) -> Result<()> {
        self.make_due(hooks)?;
        let res = reqwest::get(format!("{}/wp-cron.php", self.url)).await?;
        let status = res.status();
        res.text().await?;
        if !status.is_success() {
            bail!("wp-cron.php -> {status}");
        }
        Ok(())
    }

    /// Makes the named WP-Cron events due now, as if their time had come.
    pub fn make_due(&self, hooks: &[&str]) -> Result<()> {
        let hooks = serde_json::to_string(hooks)?;
        self.php(&format!(
            r#"foreach (json_decode('{hooks}') as $hook) {{
                $at = wp_next_scheduled($hook);
                if (!$at) {{ continue; }}
                $schedule = wp_get_schedule($hook);
                wp_unschedule_event($at, $hook);
                if ($schedule) {{ wp_schedule_event(time() - 1, $schedule, $hook); }} else {{ wp_schedule_single_event(time() - 1, $hook); }}
            }}"#
        ))?;
        Ok(())
    }

    /// Writes a must-use plugin (loaded on every request, no activation needed).
    pub fn write_mu_plugin(&self, name: &str, code: &str) -> Result<()> {
        std::fs::write(self.dir.join("wp-content/mu-plugins").join(name), code)?;
        Ok(())
    }
}

impl Drop for WordPress {
    fn drop(&mut self) {
        let _ = Command::new(crate::repo_root().join("scripts/wp-down.sh"))
            .arg(&self.dir)
            .output();
    }
}

/// scripts/wp-up.sh for `dir` on `port`: installs on first use, (re)starts `php -S` when it is not running.
fn serve(dir: &Path, port: u16) -> Result<()> {
    let root = crate::repo_root();
    let out = Command::new(root.join("scripts/wp-up.sh"))
        .arg(dir)
        .arg(port.to_string())
        .env("WP_PLUGINS", root.join("igny8-wp-plugin"))
        .env("WP_DISABLE_CRON", "1")
        .env("WP_ALLOW_LOCAL_HTTP", "1")
        .env("WP_DEBUG", "true")
        .output()
        .context("running scripts/wp-up.sh")?;
    if !out.status.success() {
        bail!(
                "scripts/wp-up.sh {} {port} failed ({}); it needs root and Debian's wordpress, php and mariadb packages:\n{}{}",
                dir.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
    }
    Ok(())
}
