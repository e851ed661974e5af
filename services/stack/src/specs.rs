//! How each process of the stack is started: its program, arguments, environment and the
//! port it is ready on.

use std::path::Path;

use crate::process::Spec;
use crate::{SERVICE_BINARY, StackConfig, Storage, absolute, free_port};

/// NATS server `index` of `ports` (each server's client and route port): one server, or a
/// JetStream cluster routed through every route port; its users in the `users` file, its
/// store and log in the data folder.
pub(crate) fn nats_spec(
    config: &StackConfig,
    users: &str,
    ports: &[(u16, u16)],
    index: usize,
) -> Spec {
    let (port, route_port) = ports[index];
    let name = if ports.len() == 1 {
        "nats".to_owned()
    } else {
        format!("nats-{}", index + 1)
    };
    let mut args = vec![
        "-c".into(),
        users.to_owned(),
        "-js".into(),
        "-a".into(),
        "127.0.0.1".into(),
        "-p".into(),
        port.to_string(),
        "-sd".into(),
        config.data_dir.join(&name).display().to_string(),
        // Its own log file: the console is for the services.
        "-l".into(),
        config
            .data_dir
            .join(format!("{name}.log"))
            .display()
            .to_string(),
    ];
    if ports.len() > 1 {
        let routes: Vec<String> = ports
            .iter()
            .map(|(_, route)| format!("nats://127.0.0.1:{route}"))
            .collect();
        args.extend([
            "-n".into(),
            name.clone(),
            "--cluster_name".into(),
            "gittix".into(),
            "--cluster".into(),
            format!("nats://127.0.0.1:{route_port}"),
            "--routes".into(),
            routes.join(","),
        ]);
    }
    Spec {
        name,
        program: common::bus::nats_server_binary(),
        args,
        env: Vec::new(),
        port: Some(port),
        ready_path: None,
    }
}

/// The SurrealDB server on a free port, with root's password and its data in the data
/// folder (`Storage::Server`).
pub(crate) fn surreal_spec(config: &StackConfig) -> anyhow::Result<Spec> {
    let port = free_port()?;
    let data = absolute(&config.data_dir.join("surreal"))?;
    Ok(Spec {
        name: "surrealdb".to_owned(),
        program: config.bin_dir.join("surreal"),
        args: vec![
            "start".into(),
            "--bind".into(),
            format!("127.0.0.1:{port}"),
            "--user".into(),
            "root".into(),
            "--pass".into(),
            config.surreal_password.clone(),
            "--log".into(),
            "warn".into(),
            format!("surrealkv://{}", data.display()),
        ],
        env: Vec::new(),
        port: Some(port),
        ready_path: Some("/health"),
    })
}

/// Instance `index` of `service` on a free port. `nats_servers` is how many NATS servers
/// the stack started (0 for an external one): with its own, the instance signs in as the
/// service's NATS user. `surreal` is the SurrealDB server's address and the service's
/// database password, with `Storage::Server`.
pub(crate) fn service_spec(
    config: &StackConfig,
    service: &str,
    index: usize,
    nats_url: &str,
    nats_servers: usize,
    surreal: Option<(&str, &str)>,
) -> anyhow::Result<Spec> {
    let port = free_port()?;
    let name = if config.instances(service) > 1 {
        format!("{service}-{}", index + 1)
    } else {
        service.to_owned()
    };
    // Plain http on one machine, and the sandbox unless STRIPE_KEY is given (it wins).
    let mut env = vec![
        ("COOKIE_SECURE".to_owned(), "false".to_owned()),
        ("PAYMENTS_SANDBOX".to_owned(), "true".to_owned()),
    ];
    env.extend(config.env.iter().cloned());
    env.extend([
        ("PORT".to_owned(), port.to_string()),
        ("HOST".to_owned(), "127.0.0.1".to_owned()),
        ("NATS_URL".to_owned(), nats_url.to_owned()),
        ("JWT_KEY".to_owned(), config.jwt_key.clone()),
    ]);
    match (config.storage, surreal) {
        (Storage::Server, Some((url, password))) => env.extend([
            ("SURREAL_URL".to_owned(), url.to_owned()),
            ("SURREAL_USER".to_owned(), service.to_owned()),
            ("SURREAL_PASS".to_owned(), password.to_owned()),
        ]),
        _ => env.push((
            "SURREAL_URL".to_owned(),
            format!(
                "surrealkv://{}",
                absolute(&config.data_dir.join(service))?.display()
            ),
        )),
    }
    if nats_servers > 0 {
        env.extend([
            ("NATS_STREAM_REPLICAS".to_owned(), nats_servers.to_string()),
            ("NATS_USER".to_owned(), service.to_owned()),
            (
                "NATS_PASSWORD".to_owned(),
                config.nats_passwords[service].clone(),
            ),
        ]);
    }
    Ok(Spec {
        name,
        program: config.bin_dir.join(SERVICE_BINARY),
        args: vec![service.into()],
        env,
        port: Some(port),
        ready_path: Some("/readyz"),
    })
}

/// The web server on a free port, serving `site_root` and sending the browser's API calls
/// to the ingress.
pub(crate) fn web_spec(
    config: &StackConfig,
    site_root: &Path,
    ingress_url: &str,
) -> anyhow::Result<Spec> {
    let port = free_port()?;
    let mut env = config.env.clone();
    env.extend([
        ("LEPTOS_SITE_ADDR".to_owned(), format!("127.0.0.1:{port}")),
        (
            "LEPTOS_SITE_ROOT".to_owned(),
            absolute(site_root)?.display().to_string(),
        ),
        ("INGRESS_URL".to_owned(), ingress_url.to_owned()),
        ("METRICS_PORT".to_owned(), free_port()?.to_string()),
    ]);
    Ok(Spec {
        name: "web".to_owned(),
        program: config.bin_dir.join("server"),
        args: Vec::new(),
        env,
        port: Some(port),
        ready_path: Some("/healthz"),
    })
}

/// The ingress on `port` and the configured host, in front of `upstreams` (each upstream
/// variable with its comma-separated addresses).
pub(crate) fn ingress_spec(
    config: &StackConfig,
    port: u16,
    upstreams: Vec<(String, String)>,
) -> anyhow::Result<Spec> {
    let mut env = config.env.clone();
    env.extend(upstreams);
    env.push(("PORT".into(), port.to_string()));
    env.push(("HOST".into(), config.host.clone()));
    // Its metrics on a port of their own: the ingress's port is the public one.
    env.push(("METRICS_PORT".into(), free_port()?.to_string()));
    Ok(Spec {
        name: "ingress".to_owned(),
        program: config.bin_dir.join(SERVICE_BINARY),
        args: vec!["ingress".into()],
        env,
        port: Some(port),
        ready_path: None,
    })
}
