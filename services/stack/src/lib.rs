//! Runs the whole GitTix system on one machine: a `nats-server` (unless `NATS_URL` points at
//! one; the stack's own runs with one NATS user per service, each allowed only its own
//! events), every backend service (as many instances as asked), the web server and the ingress
//! in front of them all. The run command uses it, and so do the end-to-end and reliability
//! tests, which can kill and restart any process.

pub mod process;
mod specs;
mod start;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use common::bus::NatsUser;
use common::bus::access;
use common::db::{DbConfig, SignIn};

use crate::process::{Managed, Output};
use crate::start::{
    check_scale, create_folders, ingress_port, provision_databases, start_ingress, start_nats,
    start_services, start_surreal, start_web,
};

/// The backend services, in start order (`common::catalogue`).
pub const SERVICES: &[&str] = &common::catalogue::SERVICES;

/// The executable that runs each backend service and the ingress (`service <name>`): one
/// file for them all, so the machine holds its code once.
pub const SERVICE_BINARY: &str = "service";

/// How long a process may take to become ready.
const READY_LIMIT: Duration = Duration::from_secs(120);
/// How long a process may take to stop after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Where each service keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Embedded SurrealKV files under the data folder, one per service (one instance each).
    Embedded,
    /// A SurrealDB server (the workspace's `surreal` binary) that the stack starts, with a
    /// database per service that all its instances share.
    Server,
}

/// What to run and where.
#[derive(Debug, Clone)]
pub struct StackConfig {
    /// The folder with the built binaries (`service`, `surreal`, `server`).
    pub bin_dir: PathBuf,
    /// Everything persistent lives under here.
    pub data_dir: PathBuf,
    /// The ingress port; 0 picks a free one.
    pub port: u16,
    /// The address the ingress listens on.
    pub host: String,
    /// An external NATS server; `None` starts [`StackConfig::nats_servers`].
    pub nats_url: Option<String>,
    /// How many NATS servers to start: 1, or a JetStream cluster of 3 (or 5) on local ports,
    /// which keeps that many copies of every event (`NATS_STREAM_REPLICAS`).
    pub nats_servers: usize,
    pub jwt_key: String,
    /// Instances per service (default one).
    pub scale: BTreeMap<String, usize>,
    /// The web app's site folder (`target/site`); `None` runs without the web server.
    pub site_root: Option<PathBuf>,
    pub storage: Storage,
    /// The SurrealDB server's root password (`Storage::Server`).
    pub surreal_password: String,
    /// The password of each NATS user (the operator's `admin` and one per service) on the
    /// NATS server the stack starts; see `common::bus::access`.
    pub nats_passwords: BTreeMap<String, String>,
    /// Extra variables for every child (e.g. `ORDER_EXPIRATION_SECONDS`).
    pub env: Vec<(String, String)>,
    pub output: Output,
}

impl StackConfig {
    /// Defaults for a data folder: binaries next to the current executable, a random
    /// port, embedded storage, a random JWT key.
    pub fn new(data_dir: impl Into<PathBuf>) -> anyhow::Result<Self> {
        let bin_dir = std::env::current_exe()
            .context("locating the current executable")?
            .parent()
            .context("the executable has no folder")?
            .to_path_buf();
        Ok(Self {
            bin_dir,
            data_dir: data_dir.into(),
            port: 0,
            host: "127.0.0.1".to_owned(),
            nats_url: None,
            nats_servers: 1,
            jwt_key: random_key(),
            scale: BTreeMap::new(),
            site_root: None,
            storage: Storage::Embedded,
            surreal_password: random_key(),
            nats_passwords: std::iter::once(access::ADMIN)
                .chain(SERVICES.iter().copied())
                .map(|user| (user.to_owned(), random_key()))
                .collect(),
            env: Vec::new(),
            output: Output::Console,
        })
    }

    /// Defaults for a test binary (`target/<profile>/deps/<test>`), whose service binaries
    /// are one folder up; output goes to log files in the data folder.
    pub fn for_tests(data_dir: impl Into<PathBuf>) -> anyhow::Result<Self> {
        let mut config = Self::new(data_dir)?;
        if config.bin_dir.ends_with("deps") {
            config.bin_dir.pop();
        }
        for binary in [SERVICE_BINARY, "surreal"] {
            anyhow::ensure!(
                config.bin_dir.join(binary).exists(),
                "{binary} is not built in {}: run `cargo build --bins` (or `cargo test --workspace`) first",
                config.bin_dir.display()
            );
        }
        config.output = Output::Files(config.data_dir.join("logs"));
        Ok(config)
    }

    fn instances(&self, service: &str) -> usize {
        self.scale.get(service).copied().unwrap_or(1).max(1)
    }
}

/// 52 random characters (two ULIDs, 160 random bits) for a JWT key.
pub fn random_key() -> String {
    format!("{}{}", ulid::Ulid::new(), ulid::Ulid::new())
}

/// The running system.
pub struct Stack {
    config: StackConfig,
    /// The NATS servers the stack started: none (an external one), one, or a cluster.
    nats: Vec<Managed>,
    nats_url: String,
    surreal: Option<Managed>,
    /// The password of each service's database user, with `Storage::Server`.
    surreal_passwords: BTreeMap<&'static str, String>,
    services: BTreeMap<&'static str, Vec<Managed>>,
    web: Option<Managed>,
    ingress: Managed,
}

impl Stack {
    /// Starts everything and waits until each process is ready.
    pub async fn start(config: StackConfig) -> anyhow::Result<Self> {
        create_folders(&config)?;
        check_scale(&config)?;

        let (nats, nats_url) = match &config.nats_url {
            Some(url) => (Vec::new(), url.clone()),
            None => start_nats(&config).await?,
        };

        let surreal = start_surreal(&config).await?;
        let surreal_url = surreal
            .as_ref()
            .and_then(Managed::port)
            .map(|port| format!("ws://127.0.0.1:{port}"));
        // Each service signs in as the one user of its own database.
        let surreal_passwords = match &surreal_url {
            Some(url) => provision_databases(&config, url).await?,
            None => BTreeMap::new(),
        };

        let ingress_port = ingress_port(&config)?;
        let ingress_url = format!("http://127.0.0.1:{ingress_port}");
        let services = start_services(
            &config,
            &nats_url,
            nats.len(),
            surreal_url.as_deref(),
            &surreal_passwords,
        )
        .await?;
        let web = start_web(&config, &ingress_url).await?;
        let ingress = start_ingress(&config, ingress_port, &services, web.as_ref()).await?;

        Ok(Self {
            config,
            nats,
            nats_url,
            surreal,
            surreal_passwords,
            services,
            web,
            ingress,
        })
    }

    /// The ingress URL: the one address users and tests talk to.
    pub fn url(&self) -> String {
        format!(
            "http://127.0.0.1:{}",
            self.ingress.port().unwrap_or_default()
        )
    }

    /// The NATS server's address (without credentials).
    pub fn nats_url(&self) -> &str {
        &self.nats_url
    }

    /// The NATS server's address with the operator's credentials in it, for tools and tests;
    /// the plain address for a NATS server the stack did not start.
    pub fn admin_nats_url(&self) -> String {
        match self.nats_user(access::ADMIN) {
            Some(admin) => self.nats_url.replace(
                "nats://",
                &format!("nats://{}:{}@", admin.name, admin.password),
            ),
            None => self.nats_url.clone(),
        }
    }

    /// A NATS user of the NATS server the stack started: `admin` or a service's.
    pub fn nats_user(&self, user: &str) -> Option<NatsUser> {
        self.nats.first()?;
        Some(NatsUser {
            name: user.to_owned(),
            password: self.config.nats_passwords.get(user)?.clone(),
        })
    }

    pub fn jwt_key(&self) -> &str {
        &self.config.jwt_key
    }

    /// Root's connection settings for `service`'s database on the SurrealDB server, with
    /// `Storage::Server`.
    pub fn surreal_root(&self, service: &str) -> Option<DbConfig> {
        let (url, password) = self.surreal()?;
        Some(root_db_config(&url, service, &password))
    }

    /// How `service` signs in to its database on the SurrealDB server, with
    /// `Storage::Server`.
    pub fn surreal_service(&self, service: &str) -> Option<DbConfig> {
        let (url, _) = self.surreal()?;
        Some(DbConfig {
            url,
            namespace: "gittix".to_owned(),
            database: service.to_owned(),
            credentials: Some(SignIn::Database {
                username: service.to_owned(),
                password: self.surreal_passwords.get(service)?.clone(),
            }),
        })
    }

    /// The SurrealDB server's address and root password, with `Storage::Server`.
    pub fn surreal(&self) -> Option<(String, String)> {
        let port = self.surreal.as_ref()?.port()?;
        Some((
            format!("ws://127.0.0.1:{port}"),
            self.config.surreal_password.clone(),
        ))
    }

    /// The instances of a service.
    pub fn instances(&mut self, service: &str) -> &mut [Managed] {
        self.services
            .get_mut(service)
            .map(Vec::as_mut_slice)
            .unwrap_or_default()
    }

    /// Every running process the stack manages (NATS and the SurrealDB server included), by
    /// name, with its process id.
    pub fn processes(&self) -> Vec<(String, u32)> {
        self.nats
            .iter()
            .chain(self.surreal.iter())
            .chain(self.services.values().flatten())
            .chain(self.web.iter())
            .chain(std::iter::once(&self.ingress))
            .filter_map(|p| Some((p.name().to_owned(), p.pid()?)))
            .collect()
    }

    /// Where each process serves its Prometheus metrics, by process name: every service
    /// instance, the web server and the ingress.
    pub fn metrics_urls(&self) -> Vec<(String, String)> {
        self.services
            .values()
            .flatten()
            .chain(self.web.iter())
            .chain(std::iter::once(&self.ingress))
            .filter_map(|p| Some((p.name().to_owned(), p.metrics_url()?)))
            .collect()
    }

    /// The (first) NATS server the stack started, if it started one.
    pub fn nats(&mut self) -> Option<&mut Managed> {
        self.nats.first_mut()
    }

    /// The SurrealDB server the stack started (`Storage::Server`).
    pub fn surreal_server(&mut self) -> Option<&mut Managed> {
        self.surreal.as_mut()
    }

    /// Every NATS server the stack started; the cluster's servers are named `nats-1`,
    /// `nats-2`, … (also their JetStream server names).
    pub fn nats_servers(&mut self) -> &mut [Managed] {
        &mut self.nats
    }

    /// Restarts whatever exited on its own (crashed); returns the names restarted.
    pub async fn restart_crashed(&mut self) -> Vec<String> {
        let mut restarted = Vec::new();
        let all = self
            .nats
            .iter_mut()
            .chain(self.surreal.iter_mut())
            .chain(self.services.values_mut().flatten())
            .chain(self.web.iter_mut())
            .chain(std::iter::once(&mut self.ingress));
        for process in all {
            if let Some(status) = process.exited() {
                tracing::warn!(process = process.name(), %status, "exited; restarting");
                if process.start().is_ok() {
                    restarted.push(process.name().to_owned());
                }
            }
        }
        restarted
    }

    /// Stops everything: the ingress first, NATS last.
    pub async fn stop(mut self) {
        self.ingress.stop(STOP_GRACE).await;
        if let Some(web) = self.web.as_mut() {
            web.stop(STOP_GRACE).await;
        }
        let stops = self
            .services
            .values_mut()
            .flatten()
            .map(|instance| instance.stop(STOP_GRACE));
        futures_join_all(stops).await;
        if let Some(surreal) = self.surreal.as_mut() {
            surreal.stop(STOP_GRACE).await;
        }
        futures_join_all(self.nats.iter_mut().map(|nats| nats.stop(STOP_GRACE))).await;
    }
}

async fn futures_join_all<F: std::future::Future<Output = ()>>(
    futures: impl IntoIterator<Item = F>,
) {
    let mut set = Vec::new();
    for future in futures {
        set.push(Box::pin(future));
    }
    for future in set {
        future.await;
    }
}

/// The server's root user on `service`'s database.
fn root_db_config(url: &str, service: &str, password: &str) -> DbConfig {
    DbConfig {
        url: url.to_owned(),
        namespace: "gittix".to_owned(),
        database: service.to_owned(),
        credentials: Some(SignIn::Root {
            username: "root".to_owned(),
            password: password.to_owned(),
        }),
    }
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    if path.is_absolute() {
        Ok(path.to_path_buf())
    } else {
        Ok(std::env::current_dir()?.join(path))
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(common::http::free_port()?)
}
