//! `stack`: the whole GitTix system on one machine. See the README for its variables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use common::config::Env;
use stack::{Stack, StackConfig, Storage};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = common::telemetry::init("stack");
    let env = Env::process();
    let data_dir = PathBuf::from(env.get("GITTIX_DATA_DIR").unwrap_or_else(|| "data".into()));
    let mut config = StackConfig::new(&data_dir)?;
    config.port = env.parse_or("PORT", common::catalogue::INGRESS_DEFAULT_PORT)?;
    config.host = env.get("GITTIX_HOST").unwrap_or_else(|| "127.0.0.1".into());
    config.nats_url = env.get("NATS_URL");
    config.nats_servers = env.parse_or("GITTIX_NATS_SERVERS", 1)?;
    config.jwt_key = match env.get("JWT_KEY") {
        Some(key) => key,
        None => stored_key(&data_dir.join("jwt-key"))?,
    };
    config.scale = parse_scale(&env.get("GITTIX_SCALE").unwrap_or_default())?;
    // Several instances of a service share one database: through a SurrealDB server.
    config.storage = match env.get("GITTIX_STORAGE").as_deref() {
        Some("server") => Storage::Server,
        Some("embedded") => Storage::Embedded,
        None if config.scale.values().any(|n| *n > 1) => Storage::Server,
        None => Storage::Embedded,
        Some(other) => anyhow::bail!("GITTIX_STORAGE={other:?}: expected server or embedded"),
    };
    // The operator's NATS password stays the same across runs, for `service dead-letters`.
    let admin = common::bus::access::ADMIN;
    let admin_password = stored_key(&data_dir.join("nats-admin-password"))?;
    config
        .nats_passwords
        .insert(admin.to_owned(), admin_password);
    if config.storage == Storage::Server {
        config.surreal_password = stored_key(&data_dir.join("surreal-pass"))?;
    }
    config.site_root = env.get("GITTIX_SITE_ROOT").map(PathBuf::from);

    let mut stack = Stack::start(config).await?;
    println!();
    println!(
        "  GitTix is running at http://localhost:{}",
        stack.url().rsplit(':').next().unwrap_or_default()
    );
    println!("  data: {}   stop: Ctrl-C", data_dir.display());
    println!("  metrics (Prometheus text):");
    for (process, url) in stack.metrics_urls() {
        println!("    {process:<12} {url}");
    }
    if env.get("GITTIX_TRACE").as_deref() == Some("stdout") {
        println!("  traces: one `trace=… span=… parent=…` line per span below; grep a trace id");
    }
    if !stack.nats_servers().is_empty() {
        println!(
            "  NATS: {} (operator: NATS_PASSWORD in {})",
            stack.nats_url(),
            data_dir.join("nats-admin-password").display()
        );
    }
    println!();

    let shutdown = tokio_util::sync::CancellationToken::new();
    common::http::cancel_on_signal(shutdown.clone());
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(Duration::from_secs(1)) => {
                stack.restart_crashed().await;
            }
        }
    }
    println!("stopping…");
    stack.stop().await;
    Ok(())
}

/// `tickets=4,orders=2` → instances per service.
fn parse_scale(text: &str) -> anyhow::Result<BTreeMap<String, usize>> {
    let mut scale = BTreeMap::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (service, count) = item
            .split_once('=')
            .with_context(|| format!("GITTIX_SCALE: expected service=count, got {item:?}"))?;
        let count: usize = count
            .trim()
            .parse()
            .with_context(|| format!("GITTIX_SCALE: {count:?} is not a number"))?;
        scale.insert(service.trim().to_owned(), count);
    }
    Ok(scale)
}

/// A JWT key kept in the data folder so that sessions survive restarts of the stack.
fn stored_key(path: &Path) -> anyhow::Result<String> {
    if let Ok(key) = std::fs::read_to_string(path)
        && key.trim().len() >= 16
    {
        return Ok(key.trim().to_owned());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let key = stack::random_key();
    std::fs::write(path, &key).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_lists_are_parsed() {
        let scale = parse_scale("tickets=4, orders=2").unwrap();
        assert_eq!(scale["tickets"], 4);
        assert_eq!(scale["orders"], 2);
        assert!(parse_scale("tickets").is_err());
        assert!(parse_scale("tickets=many").is_err());
        assert!(parse_scale("").unwrap().is_empty());
    }
}
