//! Admin commands: users, sites and API keys, straight on the store.

use std::io::Read;

use anyhow::{bail, Context};
use chrono::Utc;
use clap::Subcommand;
use igny8_domain::account::{parse_name, parse_signup, parse_site_url, Email};
use igny8_domain::api_key::NewApiKey;
use igny8_store::{NewApiKeyRow, NewUser, Site, Store, StoreError};
use serde_json::{json, Value};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user and their account; the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        /// Read the password from standard input (so it stays out of shell history).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// The account's name (defaults to the email).
        #[arg(long)]
        account_name: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum SiteCommand {
    /// Add a WordPress site to a user's account.
    Create {
        #[arg(long)]
        owner: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        url: String,
    },
    /// List a user's sites.
    List {
        #[arg(long)]
        owner: String,
    },
    /// Stop a site from pushing (its keys answer 403 site_inactive).
    Deactivate {
        #[arg(long)]
        site: i64,
    },
    /// Let a deactivated site push again.
    Activate {
        #[arg(long)]
        site: i64,
    },
    /// The site's API keys.
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Create an API key; it is printed once and never again.
    Create {
        #[arg(long)]
        site: i64,
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List the site's keys by prefix.
    List {
        #[arg(long)]
        site: i64,
    },
    /// Revoke a key by its prefix; requests with it then answer 403.
    Revoke {
        #[arg(long)]
        site: i64,
        #[arg(long)]
        prefix: String,
    },
}

/// Prints `value` as JSON, or the human sentence `human()` builds.
pub fn say(json_out: bool, value: Value, human: impl FnOnce() -> String) {
    if json_out {
        println!("{value}");
    } else {
        println!("{}", human());
    }
}

pub async fn user(cmd: UserCommand, store: &dyn Store, json_out: bool) -> anyhow::Result<()> {
    let UserCommand::Create {
        email,
        account_name,
        ..
    } = cmd;
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']);
    let account_name = account_name.unwrap_or_else(|| email.clone());
    let (email, password, account_name) =
        parse_signup(&email, password, &account_name).map_err(|e| anyhow::anyhow!("{e}"))?;
    let hash = igny8_server::auth::password::hash(password.expose()).await?;
    let user = match store
        .create_user_with_account(NewUser {
            email: email.as_str(),
            password_hash: &hash,
            account_name: &account_name,
        })
        .await
    {
        Err(StoreError::Conflict(_)) => {
            bail!("a user with email {} already exists", email.as_str())
        }
        other => other?,
    };
    say(
        json_out,
        json!({"success": true, "id": user.id, "account_id": user.account_id, "email": user.email}),
        || {
            format!(
                "Created user {} (id {}) with account {}.",
                user.email, user.id, user.account_id
            )
        },
    );
    Ok(())
}

async fn owner_account(store: &dyn Store, owner: &str) -> anyhow::Result<i64> {
    let email = Email::parse(owner).map_err(|e| anyhow::anyhow!("--owner {e}"))?;
    let user = store.user_by_email(email.as_str()).await?;
    Ok(user
        .with_context(|| {
            format!(
                "no user with email {}; create one with `igny8 user create`",
                email.as_str()
            )
        })?
        .account_id)
}

async fn existing_site(store: &dyn Store, id: i64) -> anyhow::Result<Site> {
    store.site(id).await?.with_context(|| {
        format!("no site with id {id}; `igny8 site list --owner EMAIL` lists them")
    })
}

fn site_line(s: &Site) -> String {
    format!(
        "{:>6}  {:<8}  {}  {}",
        s.id,
        if s.is_active { "active" } else { "inactive" },
        s.name,
        s.url
    )
}

pub async fn site(cmd: SiteCommand, store: &dyn Store, json_out: bool) -> anyhow::Result<()> {
    match cmd {
        SiteCommand::Create { owner, name, url } => {
            let account_id = owner_account(store, &owner).await?;
            let name = parse_name(&name).map_err(|e| anyhow::anyhow!("--name {e}"))?;
            let url = parse_site_url(&url).map_err(|e| anyhow::anyhow!("--url {e}"))?;
            let site = store.create_site(account_id, &name, &url).await?;
            say(
                json_out,
                json!({"success": true, "id": site.id, "site": site}),
                || {
                    format!(
                        "Created site {} (id {}). Next: `igny8 site key create --site {}`.",
                        site.name, site.id, site.id
                    )
                },
            );
        }
        SiteCommand::List { owner } => {
            let sites = store
                .sites_of_account(owner_account(store, &owner).await?)
                .await?;
            say(json_out, json!({"success": true, "sites": sites}), || {
                if sites.is_empty() {
                    "No sites yet; add one with `igny8 site create`.".into()
                } else {
                    let mut out = format!("{:>6}  {:<8}  name  url", "id", "state");
                    for s in &sites {
                        out.push('\n');
                        out.push_str(&site_line(s));
                    }
                    out
                }
            });
        }
        SiteCommand::Deactivate { site } | SiteCommand::Activate { site }
            if store.site(site).await?.is_none() =>
        {
            existing_site(store, site).await?;
        }
        SiteCommand::Deactivate { site } => {
            let site = store.set_site_active(site, false).await?;
            say(json_out, json!({"success": true, "site": site}), || {
                format!("Site {} is inactive: its pushes answer 403.", site.id)
            });
        }
        SiteCommand::Activate { site } => {
            let site = store.set_site_active(site, true).await?;
            say(json_out, json!({"success": true, "site": site}), || {
                format!("Site {} is active.", site.id)
            });
        }
        SiteCommand::Key(cmd) => key(cmd, store, json_out).await?,
    }
    Ok(())
}

async fn key(cmd: KeyCommand, store: &dyn Store, json_out: bool) -> anyhow::Result<()> {
    match cmd {
        KeyCommand::Create { site, label } => {
            let site = existing_site(store, site).await?;
            if label.chars().count() > 100 || label.chars().any(char::is_control) {
                bail!("--label must be at most 100 characters without control characters");
            }
            let new = NewApiKey::generate();
            let key = store
                .create_api_key(NewApiKeyRow {
                    site_id: site.id,
                    prefix: &new.prefix,
                    hash: &new.hash,
                    label: &label,
                })
                .await?;
            say(
                json_out,
                json!({"success": true, "key": new.secret, "prefix": key.prefix, "site": site.id}),
                || {
                    format!(
                    "API key for site {} (shown once; store it now):\n\n  {}\n\nIn WordPress: Settings → IGNY8 API → paste it with your IGNY8 email and password → Connect to IGNY8.",
                    site.id, new.secret
                )
                },
            );
        }
        KeyCommand::List { site } => {
            let site = existing_site(store, site).await?;
            let keys = store.api_keys_of_site(site.id).await?;
            say(json_out, json!({"success": true, "keys": keys}), || {
                if keys.is_empty() {
                    return format!("Site {} has no API keys.", site.id);
                }
                let mut out =
                    "prefix    state     created               last used             label"
                        .to_owned();
                for k in &keys {
                    let when = |t: Option<chrono::DateTime<Utc>>| {
                        t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                            .unwrap_or_else(|| "never".into())
                    };
                    out.push_str(&format!(
                        "\n{}  {:<8}  {}  {:<20}  {}",
                        k.prefix,
                        if k.revoked_at.is_some() {
                            "revoked"
                        } else {
                            "active"
                        },
                        k.created_at.format("%Y-%m-%d %H:%M UTC"),
                        when(k.last_used_at),
                        k.label
                    ));
                }
                out
            });
        }
        KeyCommand::Revoke { site, prefix } => {
            let site = existing_site(store, site).await?;
            let key = match store.revoke_api_key(site.id, &prefix, Utc::now()).await {
                Err(StoreError::NotFound) => bail!("site {} has no key with prefix {prefix:?}; `igny8 site key list --site {}` lists them", site.id, site.id),
                other => other?,
            };
            say(json_out, json!({"success": true, "key": key}), || {
                format!("Key {} of site {} is revoked.", key.prefix, site.id)
            });
        }
    }
    Ok(())
}
