//! The `igny8` binary: `serve` runs the platform; the other commands administer it from a shell.
//! Every command answers in plain words, or as JSON with `--json` for scripts.

mod admin;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};
use igny8_server::metrics::StoreTimings;
use igny8_server::serve::ConnectionLimits;
use igny8_server::{Metrics, Settings};
use igny8_store::Store;

/// mimalloc instead of the system allocator: a request allocates and frees hundreds of small
/// JSON values and strings, and glibc's malloc was a fifth of the server's CPU under load.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "igny8",
    version,
    about = "The IGNY8 platform: WordPress sites connect to it."
)]
struct Cli {
    /// Where data lives: sqlite://PATH (created on first start) or postgres://USER@HOST/DB.
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        default_value = "sqlite://igny8.db"
    )]
    database: String,
    /// Answer as JSON (for scripts).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the dashboard.
    Serve(ServeArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Platform users.
    #[command(subcommand)]
    User(admin::UserCommand),
    /// WordPress sites and their API keys.
    #[command(subcommand)]
    Site(admin::SiteCommand),
    /// Copy the SQLite database into FILE, consistent while the server runs.
    Backup {
        /// The backup file to write (replaced when it exists).
        #[arg(long)]
        to: PathBuf,
    },
    /// Replace the SQLite database with the backup FILE (stop `igny8 serve` first).
    Restore {
        /// The backup file to restore.
        #[arg(long)]
        from: PathBuf,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "IGNY8_ADDR", default_value = "127.0.0.1:8000")]
    addr: SocketAddr,
    /// Secret that signs tokens and sessions; by default one is generated and kept in the database.
    #[arg(long, env = "IGNY8_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// Mark session cookies Secure (set when served over https).
    #[arg(long, env = "IGNY8_SECURE_COOKIES", value_parser = BoolishValueParser::new())]
    secure_cookies: bool,
    /// Let outgoing requests (nudges to sites) reach private, loopback and link-local addresses:
    /// for self-hosting on a private network and tests. Off: such addresses are refused.
    #[arg(long, env = "IGNY8_ALLOW_PRIVATE_TARGETS", value_parser = BoolishValueParser::new())]
    allow_private_targets: bool,
    /// The platform's address as sites reach it (https://igny8.example.com), for the plugin's
    /// update information; by default the address each request came to.
    #[arg(long, env = "IGNY8_PUBLIC_URL")]
    public_url: Option<String>,
    /// Sign-in attempts allowed per email in five minutes.
    #[arg(long, env = "IGNY8_LOGIN_LIMIT_PER_EMAIL", default_value_t = 10)]
    login_limit_per_email: u32,
    /// Sign-in attempts allowed per client address in five minutes.
    #[arg(long, env = "IGNY8_LOGIN_LIMIT_PER_IP", default_value_t = 30)]
    login_limit_per_ip: u32,
    /// Request log format.
    #[arg(long, env = "IGNY8_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Password hashes run at once (each holds ~19 MiB); default: one per core.
    #[arg(long, env = "IGNY8_PASSWORD_HASHES_AT_ONCE")]
    password_hashes_at_once: Option<usize>,
    /// Seconds a client may take to send a request's head, from its first byte.
    #[arg(long, env = "IGNY8_HEADER_TIMEOUT", default_value_t = 10)]
    header_timeout: u64,
    /// Seconds a client may take to send a request's body, from the end of its head.
    #[arg(long, env = "IGNY8_BODY_TIMEOUT", default_value_t = 60)]
    body_timeout: u64,
    /// Seconds an open connection may wait for its next request.
    #[arg(long, env = "IGNY8_KEEP_ALIVE_TIMEOUT", default_value_t = 60)]
    keep_alive_timeout: u64,
    /// Connections open at once; more wait in the listen queue.
    #[arg(long, env = "IGNY8_MAX_CONNECTIONS", default_value_t = 1024)]
    max_connections: usize,
    /// Serve Prometheus metrics at http://ADDR/metrics (a private address: it has no auth).
    #[arg(long, env = "IGNY8_METRICS_ADDR")]
    metrics_addr: Option<SocketAddr>,
    /// Seconds from SIGTERM/SIGINT until the listener closes: /healthz answers 503 meanwhile, so
    /// a load balancer takes the replica out while it still serves; then requests in flight finish.
    /// A second signal stops at once.
    #[arg(long, env = "IGNY8_SHUTDOWN_DELAY", default_value_t = 3)]
    shutdown_delay: u64,
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let json = cli.json;
    if let Err(e) = run(cli).await {
        if json {
            println!(
                "{}",
                serde_json::json!({"success": false, "error": format!("{e:#}")})
            );
        } else {
            eprintln!("error: {e:#}");
        }
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let metrics = Metrics::new();
            init_logging(args.log_format, "info", Some(metrics.store_timings()));
            let store = open_store(&cli.database).await?;
            serve(args, store, metrics).await
        }
        Command::Migrate => {
            init_logging(LogFormat::Text, "warn", None);
            open_store(&cli.database).await?;
            admin::say(
                cli.json,
                serde_json::json!({"success": true, "database": redact(&cli.database)}),
                || format!("Database {} is up to date.", redact(&cli.database)),
            );
            Ok(())
        }
        Command::User(cmd) => {
            init_logging(LogFormat::Text, "warn", None);
            admin::user(cmd, open_store(&cli.database).await?.as_ref(), cli.json).await
        }
        Command::Site(cmd) => {
            init_logging(LogFormat::Text, "warn", None);
            admin::site(cmd, open_store(&cli.database).await?.as_ref(), cli.json).await
        }
        Command::Backup { to } => {
            init_logging(LogFormat::Text, "warn", None);
            let url = sqlite_only(&cli.database, "backup")?;
            let written =
                tokio::task::spawn_blocking(move || igny8_store_sqlite::backup::backup(&url, &to))
                    .await??;
            admin::say(
                cli.json,
                serde_json::json!({"success": true, "backup": written.path, "bytes": written.bytes}),
                || {
                    format!(
                        "Backed up {} to {} ({} bytes, integrity checked).",
                        redact(&cli.database),
                        written.path.display(),
                        written.bytes
                    )
                },
            );
            Ok(())
        }
        Command::Restore { from } => {
            init_logging(LogFormat::Text, "warn", None);
            let url = sqlite_only(&cli.database, "restore")?;
            let (restore_url, shown) = (url.clone(), from.clone());
            tokio::task::spawn_blocking(move || {
                igny8_store_sqlite::backup::restore(&from, &restore_url)
            })
            .await??;
            // An older backup gets the schema this version needs.
            open_store(&url).await?;
            admin::say(
                cli.json,
                serde_json::json!({"success": true, "restored": shown, "database": redact(&url)}),
                || format!("Restored {} into {}.", shown.display(), redact(&url)),
            );
            Ok(())
        }
    }
}

/// How log lines are written: for people, or for a log collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// One line of words per event.
    Text,
    /// One JSON object per event.
    Json,
}

/// Logs to stderr at `IGNY8_LOG` (else `default_level`); with `store_timings`, every store
/// operation is also timed for the metrics, whatever the log level.
fn init_logging(format: LogFormat, default_level: &str, store_timings: Option<StoreTimings>) {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::Layer as _;
    let filter = tracing_subscriber::EnvFilter::try_from_env("IGNY8_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    // Colours only for a terminal: a log file or a collector gets plain text.
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let fmt = match format {
        LogFormat::Json => fmt.json().with_filter(filter).boxed(),
        LogFormat::Text => fmt.with_filter(filter).boxed(),
    };
    let timings = store_timings.map(|t| {
        t.with_filter(tracing_subscriber::filter::filter_fn(|meta| {
            meta.is_span() && meta.target().starts_with("igny8_store")
        }))
    });
    tracing_subscriber::registry()
        .with(fmt)
        .with(timings)
        .init();
}

/// Backups and restores are SQLite's; a PostgreSQL database has its own tools (`pg_dump`).
fn sqlite_only(url: &str, what: &str) -> anyhow::Result<String> {
    if url.starts_with("sqlite:") {
        Ok(url.to_owned())
    } else {
        anyhow::bail!(
            "igny8 {what} works on the embedded SQLite database; for {} use PostgreSQL's own tools (pg_dump, pg_restore)",
            redact(url)
        )
    }
}

/// The database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Opens and migrates the store the URL names.
async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if url.starts_with("sqlite:") {
        Arc::new(
            igny8_store_sqlite::SqliteStore::open(url)
                .await
                .with_context(|| format!("opening {}", redact(url)))?,
        )
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Arc::new(
            igny8_store_postgres::PostgresStore::open(url)
                .await
                .with_context(|| format!("opening {}", redact(url)))?,
        )
    } else {
        anyhow::bail!(
            "--database must start with sqlite:// or postgres://, got {}",
            redact(url)
        );
    };
    store.migrate().await.context("migrating the database")?;
    Ok(store)
}

async fn serve(args: ServeArgs, store: Arc<dyn Store>, metrics: Metrics) -> anyhow::Result<()> {
    let defaults = Settings::default();
    let settings = Settings {
        jwt_secret: args.jwt_secret,
        secure_cookies: args.secure_cookies,
        allow_private_targets: args.allow_private_targets,
        public_url: args.public_url,
        login_limit_per_email: args.login_limit_per_email,
        login_limit_per_ip: args.login_limit_per_ip,
        password_hashes_at_once: args
            .password_hashes_at_once
            .unwrap_or(defaults.password_hashes_at_once),
        connections: ConnectionLimits {
            header_timeout: Duration::from_secs(args.header_timeout),
            body_timeout: Duration::from_secs(args.body_timeout),
            keep_alive_timeout: Duration::from_secs(args.keep_alive_timeout),
            max_connections: args.max_connections,
        },
        shutdown_delay: Duration::from_secs(args.shutdown_delay),
        ..defaults
    };
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("binding {}: is another server running there?", args.addr))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "igny8 listening: open http://{addr}/");
    let metrics_listener = match args.metrics_addr {
        Some(at) => {
            let listener = tokio::net::TcpListener::bind(at)
                .await
                .with_context(|| format!("binding the metrics address {at}"))?;
            let at = listener.local_addr()?;
            tracing::info!(%at, "metrics at http://{at}/metrics");
            Some(listener)
        }
        None => None,
    };
    igny8_server::launch(
        settings,
        store,
        metrics,
        listener,
        metrics_listener,
        shutdown_signal(),
    )
    .await?;
    tracing::info!("igny8 stopped");
    Ok(())
}

/// The first Ctrl-C or SIGTERM starts the drain (`--shutdown-delay`, then requests in flight
/// finish); a second one stops the process at once, for someone at a terminal who will not wait.
async fn shutdown_signal() {
    stop_signal().await;
    tracing::info!(
        "shutting down: finishing requests in flight (a second Ctrl-C or SIGTERM stops at once)"
    );
    tokio::spawn(async {
        stop_signal().await;
        // As safe as a kill: every write is a transaction, a batch cut short was never acknowledged.
        tracing::warn!("second stop signal: exiting now; requests in flight are cut off");
        std::process::exit(1);
    });
}

/// Ctrl-C (SIGINT) or SIGTERM.
async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Cli, Command, LogFormat};

    fn log_format(args: &[&str]) -> Result<LogFormat, clap::Error> {
        let cli = Cli::try_parse_from([&["igny8", "serve"], args].concat())?;
        match cli.command {
            Command::Serve(serve) => Ok(serve.log_format),
            _ => unreachable!("serve parses as serve"),
        }
    }

    #[test]
    fn the_log_format_is_text_or_json_and_nothing_else() {
        assert_eq!(log_format(&[]).unwrap(), LogFormat::Text);
        assert_eq!(
            log_format(&["--log-format", "json"]).unwrap(),
            LogFormat::Json
        );
        assert_eq!(
            log_format(&["--log-format", "text"]).unwrap(),
            LogFormat::Text
        );
        let refused = log_format(&["--log-format", "xml"]).unwrap_err();
        assert_eq!(refused.kind(), clap::error::ErrorKind::InvalidValue);
    }

    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("sqlite://igny8.db"), "sqlite://igny8.db");
    }
}
