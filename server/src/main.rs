use anyhow::Context as _;

/// mimalloc instead of glibc's allocator: rendering a page makes many small allocations,
/// and under load glibc's malloc and free were the largest item in this server's CPU
/// profile (figures in BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    server::healthcheck_if_asked();
    let _telemetry = telemetry::init("web");
    let options = server::leptos_options()?;
    let backend = server::backend_from_env()?;
    let limits = server::HttpLimits::from_env()?;
    let address = options.site_addr;
    let router = server::router(options, backend, server::PAGE_DEADLINE);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    tracing::info!(%address, "web server listening");
    // Metrics on a port of their own (`METRICS_PORT`): the site's port faces the public.
    if let Some(port) = server::metrics_port()? {
        let metrics = tokio::net::TcpListener::bind((address.ip(), port))
            .await
            .with_context(|| format!("cannot listen on {}:{port}", address.ip()))?;
        tokio::spawn(telemetry::metrics::serve(
            metrics,
            limits,
            shutdown_signal(),
        ));
    }
    server::serve(listener, router, limits, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}
