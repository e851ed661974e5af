/// mimalloc instead of glibc's allocator: see `common::MiMalloc`.
#[global_allocator]
static ALLOCATOR: common::MiMalloc = common::MiMalloc;

use common::config::Env;
use ingress::Ingress;
use ingress::config::IngressConfig;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init();
    let config = IngressConfig::from_env(&Env::process())?;
    let ingress = Ingress::bind(&config).await?;
    let shutdown = CancellationToken::new();
    common::http::cancel_on_signal(shutdown.clone());
    ingress.run(shutdown).await
}
