/// mimalloc instead of glibc's allocator: see `common::MiMalloc`.
#[global_allocator]
static ALLOCATOR: common::MiMalloc = common::MiMalloc;

use common::config::Env;
use orders::config::OrdersConfig;
use orders::startup::Application;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    healthcheck::run_if_asked("PORT", orders::config::DEFAULT_PORT);
    common::telemetry::init();
    let config = OrdersConfig::from_env(&Env::process())?;
    let app = Application::build(config).await?;
    common::http::cancel_on_signal(app.shutdown_token());
    app.run_until_stopped().await
}
