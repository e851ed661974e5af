//! The steps of [`Stack::start`](crate::Stack::start), in the order it takes them.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use common::bus::access;
use common::catalogue;

use crate::process::{Managed, Output, Spec};
use crate::specs::{ingress_spec, nats_spec, service_spec, surreal_spec, web_spec};
use crate::{
    READY_LIMIT, SERVICES, StackConfig, Storage, absolute, free_port, random_key, root_db_config,
};

/// Creates the data folder and, with `Output::Files`, the log folder.
pub(crate) fn create_folders(config: &StackConfig) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    if let Output::Files(dir) = &config.output {
        std::fs::create_dir_all(dir)?;
    }
    Ok(())
}

/// Fails if the scale names an unknown service, or asks for several instances of one on
/// embedded storage.
pub(crate) fn check_scale(config: &StackConfig) -> anyhow::Result<()> {
    for (service, count) in &config.scale {
        anyhow::ensure!(
            SERVICES.contains(&service.as_str()),
            "cannot scale {service}: the services are {}",
            SERVICES.join(", ")
        );
        if *count > 1 && matches!(config.storage, Storage::Embedded) {
            anyhow::bail!(
                "{service} cannot run {count} instances on embedded storage: \
                 instances of a service share a SurrealDB server"
            );
        }
    }
    Ok(())
}

/// Starts the NATS server, or a cluster of `config.nats_servers` on local ports (each with
/// its own store and log), and waits until each accepts connections. Returns them with the
/// address the services get: every server's, comma-separated.
pub(crate) async fn start_nats(config: &StackConfig) -> anyhow::Result<(Vec<Managed>, String)> {
    let count = config.nats_servers;
    anyhow::ensure!(
        [1, 3, 5].contains(&count),
        "NATS runs as one server or a cluster of 3 or 5, not {count}"
    );
    let users = config.data_dir.join("nats.conf");
    write_private(&users, &nats_users(config))?;
    let users = absolute(&users)?.display().to_string();
    let ports: Vec<(u16, u16)> = (0..count)
        .map(|_| Ok((free_port()?, free_port()?)))
        .collect::<anyhow::Result<_>>()?;
    let mut servers = Vec::new();
    for index in 0..count {
        let spec = nats_spec(config, &users, &ports, index);
        let mut server = Managed::new(spec, config.output.clone());
        server.start()?;
        servers.push(server);
    }
    for server in &mut servers {
        server.wait_ready(READY_LIMIT).await?;
    }
    let url = ports
        .iter()
        .map(|(port, _)| format!("nats://127.0.0.1:{port}"))
        .collect::<Vec<_>>()
        .join(",");
    Ok((servers, url))
}

/// The users of the NATS server the stack starts, each service with its permissions.
fn nats_users(config: &StackConfig) -> String {
    access::accounts(SERVICES, |user| {
        format!("\"{}\"", config.nats_passwords[user])
    })
}

/// Writes `text` to `path`, readable by the current user only: it holds passwords.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let _ = std::fs::remove_file(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))
}

/// Starts the SurrealDB server and waits until it is ready, with `Storage::Server`.
pub(crate) async fn start_surreal(config: &StackConfig) -> anyhow::Result<Option<Managed>> {
    match config.storage {
        Storage::Embedded => Ok(None),
        Storage::Server => Ok(Some(launch(surreal_spec(config)?, &config.output).await?)),
    }
}

/// Gives each service a database on the SurrealDB server at `url`, with one user of its own
/// (a random password) to sign in as; returns each service's password.
pub(crate) async fn provision_databases(
    config: &StackConfig,
    url: &str,
) -> anyhow::Result<BTreeMap<&'static str, String>> {
    let mut passwords = BTreeMap::new();
    for service in SERVICES {
        let password = random_key();
        let root = root_db_config(url, service, &config.surreal_password);
        common::db::provision(&root, service, &password)
            .await
            .with_context(|| format!("provisioning {service}'s database"))?;
        passwords.insert(*service, password);
    }
    Ok(passwords)
}

/// The configured ingress port, or a free one for 0.
pub(crate) fn ingress_port(config: &StackConfig) -> anyhow::Result<u16> {
    if config.port == 0 {
        free_port()
    } else {
        Ok(config.port)
    }
}

/// Starts every instance of every service, then waits until each is ready. `nats_servers`
/// is how many NATS servers the stack started; `surreal_url` the SurrealDB server's address
/// and `surreal_passwords` each service's password there, with `Storage::Server`.
pub(crate) async fn start_services(
    config: &StackConfig,
    nats_url: &str,
    nats_servers: usize,
    surreal_url: Option<&str>,
    surreal_passwords: &BTreeMap<&'static str, String>,
) -> anyhow::Result<BTreeMap<&'static str, Vec<Managed>>> {
    let mut services = BTreeMap::new();
    for service in SERVICES {
        let mut instances = Vec::new();
        for index in 0..config.instances(service) {
            let surreal = surreal_url.zip(surreal_passwords.get(service).map(String::as_str));
            let spec = service_spec(config, service, index, nats_url, nats_servers, surreal)?;
            let mut instance = Managed::new(spec, config.output.clone());
            instance.start()?;
            instances.push(instance);
        }
        services.insert(*service, instances);
    }
    for instance in services.values_mut().flatten() {
        instance.wait_ready(READY_LIMIT).await?;
    }
    Ok(services)
}

/// Starts the web server and waits until it is ready, if there is a site to serve.
pub(crate) async fn start_web(
    config: &StackConfig,
    ingress_url: &str,
) -> anyhow::Result<Option<Managed>> {
    let Some(site_root) = &config.site_root else {
        return Ok(None);
    };
    let spec = web_spec(config, site_root, ingress_url)?;
    Ok(Some(launch(spec, &config.output).await?))
}

/// Starts the ingress on `port` in front of the services' instances and the web server,
/// and waits until it accepts connections.
pub(crate) async fn start_ingress(
    config: &StackConfig,
    port: u16,
    services: &BTreeMap<&'static str, Vec<Managed>>,
    web: Option<&Managed>,
) -> anyhow::Result<Managed> {
    let spec = ingress_spec(config, port, upstreams(services, web))?;
    launch(spec, &config.output).await
}

/// The ingress's upstream variables: each service's instances, and the web server if it
/// runs.
fn upstreams(
    services: &BTreeMap<&'static str, Vec<Managed>>,
    web: Option<&Managed>,
) -> Vec<(String, String)> {
    let mut upstreams: Vec<(String, String)> = services
        .iter()
        .map(|(service, instances)| {
            let list = instances
                .iter()
                .filter_map(Managed::port)
                .map(|port| format!("http://127.0.0.1:{port}"))
                .collect::<Vec<_>>()
                .join(",");
            (catalogue::upstream_variable(service), list)
        })
        .collect();
    if let Some(port) = web.and_then(Managed::port) {
        upstreams.push((
            catalogue::upstream_variable(catalogue::WEB),
            format!("http://127.0.0.1:{port}"),
        ));
    }
    upstreams
}

/// How often a process that exits before it is ready is started again.
const START_ATTEMPTS: usize = 3;

/// Starts a process and waits until it is ready. One that exits on its way up (several
/// instances of a service starting against one database at once have been seen to) is
/// started again, as a supervisor would, up to [`START_ATTEMPTS`] times in all; the error
/// it gave is logged.
async fn launch(spec: Spec, output: &Output) -> anyhow::Result<Managed> {
    let mut process = Managed::new(spec, output.clone());
    let mut attempt = 1;
    loop {
        process.start()?;
        match process.wait_ready(READY_LIMIT).await {
            Ok(()) => return Ok(process),
            Err(error) if attempt < START_ATTEMPTS && process.exited().is_some() => {
                tracing::warn!(
                    process = process.name(),
                    attempt,
                    error = format!("{error:#}"),
                    "exited while starting; starting it again"
                );
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A process that fails on its first start (printing an error as a service does) and
    /// serves on its port on the second.
    fn flaky_spec(dir: &Path, port: u16) -> Spec {
        let marker = dir.join("started-once");
        Spec {
            name: "flaky".to_owned(),
            program: "sh".into(),
            args: vec![
                "-c".to_owned(),
                format!(
                    "if [ -e {m} ]; then exec python3 -m http.server {port} --bind 127.0.0.1; \
                     else touch {m}; echo 'Error: applying the schema'; echo 'Stack backtrace:'; \
                     echo '  0: frame'; exit 1; fi",
                    m = marker.display()
                ),
            ],
            env: Vec::new(),
            port: Some(port),
            ready_path: None,
        }
    }

    #[tokio::test]
    async fn a_process_that_exits_while_starting_is_started_again() {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port().unwrap();
        let output = Output::Files(dir.path().join("logs"));
        std::fs::create_dir_all(dir.path().join("logs")).unwrap();
        let mut process = launch(flaky_spec(dir.path(), port), &output)
            .await
            .expect("ready on the second start");
        assert!(process.is_running());
        process.kill().await;
    }

    #[tokio::test]
    async fn an_early_exit_is_reported_with_the_error_it_printed() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir_all(&logs).unwrap();
        let mut spec = flaky_spec(dir.path(), free_port().unwrap());
        // Never gets past the failing branch.
        spec.args[1] = "echo 'Error: applying the schema'; echo 'Stack backtrace:'; \
                        echo '  0: frame'; exit 1"
            .to_owned();
        let Err(error) = launch(spec, &Output::Files(logs)).await else {
            panic!("a process that always fails was reported ready");
        };
        let text = format!("{error:#}");
        assert!(text.contains("Error: applying the schema"), "{text}");
        assert!(!text.contains("0: frame"), "{text}");
    }
}
