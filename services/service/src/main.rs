//! One executable for every backend service and the local ingress:
//!
//! ```text
//! service tickets               # runs the tickets service
//! service tickets healthcheck   # exits 0 when the running tickets service is healthy
//! GITTIX_SERVICE=tickets service [healthcheck]   # the same (how the container images run)
//! ```
//!
//! Each service still runs as its own process with its own data; they share only the file
//! they start from. Every service links SurrealDB's engine, about 29 MiB of code resident
//! per process; from one executable the kernel keeps those pages once for all the processes
//! on a machine instead of once per service.

/// mimalloc instead of glibc's allocator: see `common::MiMalloc`.
#[global_allocator]
static ALLOCATOR: common::MiMalloc = common::MiMalloc;

use std::process::ExitCode;

use common::config::Env;
use tokio_util::sync::CancellationToken;

/// What the executable can run, with the port each listens on when `PORT` is unset.
const PROGRAMS: &[(&str, u16)] = &[
    ("auth", auth::config::DEFAULT_PORT),
    ("tickets", tickets::config::DEFAULT_PORT),
    ("orders", orders::config::DEFAULT_PORT),
    ("expiration", expiration::config::DEFAULT_PORT),
    ("payments", payments::config::DEFAULT_PORT),
    ("ingress", ingress::config::DEFAULT_PORT),
];

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    /// Run the program.
    Run(&'static str),
    /// Probe the running program's health, on its port.
    Healthcheck(u16),
}

/// Reads `[<program>] [healthcheck]`, the program's name coming from `GITTIX_SERVICE`
/// (`from_env`) when the first argument is not one; anything else is refused with the reason.
fn parse(args: &[String], from_env: Option<&str>) -> Result<Command, String> {
    let known = |named: &str| PROGRAMS.iter().copied().find(|(name, _)| *name == named);
    let (program, rest) = match args.split_first() {
        Some((first, rest)) if let Some(program) = known(first) => (program, rest),
        _ => match from_env {
            Some(named) => (
                known(named)
                    .ok_or_else(|| format!("GITTIX_SERVICE names no program: {named:?}"))?,
                args,
            ),
            None => return Err("which program? name one, or set GITTIX_SERVICE".to_owned()),
        },
    };
    match rest {
        [] => Ok(Command::Run(program.0)),
        [only] if only == "healthcheck" => Ok(Command::Healthcheck(program.1)),
        [unexpected, ..] => Err(format!("unexpected argument: {unexpected:?}")),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = match parse(&args, std::env::var("GITTIX_SERVICE").ok().as_deref()) {
        Ok(Command::Run(name)) => name,
        Ok(Command::Healthcheck(default_port)) => {
            healthcheck::exit_with_health("PORT", default_port)
        }
        Err(reason) => {
            let names: Vec<&str> = PROGRAMS.iter().map(|(name, _)| *name).collect();
            eprintln!(
                "service: {reason}\nusage: service <{}> [healthcheck] (or the name in GITTIX_SERVICE)",
                names.join("|")
            );
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("starting the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(name)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{name}: {error:?}");
            ExitCode::FAILURE
        }
    }
}

/// Builds a service's `Application` from its configuration and runs it until it is told to
/// stop; every service has the same lifecycle.
macro_rules! serve {
    ($service:ident, $config:expr) => {{
        let app = $service::startup::Application::build($config?).await?;
        common::http::cancel_on_signal(app.shutdown_token());
        app.run_until_stopped().await
    }};
}

/// Runs one program until SIGTERM or Ctrl-C.
async fn run(name: &str) -> anyhow::Result<()> {
    common::telemetry::init();
    let env = Env::process();
    match name {
        "auth" => serve!(auth, auth::config::AuthConfig::from_env(&env)),
        "tickets" => serve!(tickets, tickets::config::from_env(&env)),
        "orders" => serve!(orders, orders::config::OrdersConfig::from_env(&env)),
        "expiration" => serve!(expiration, expiration::config::from_env(&env)),
        "payments" => serve!(payments, payments::config::PaymentsConfig::from_env(&env)),
        "ingress" => {
            let ingress =
                ingress::Ingress::bind(&ingress::config::IngressConfig::from_env(&env)?).await?;
            let shutdown = CancellationToken::new();
            common::http::cancel_on_signal(shutdown.clone());
            ingress.run(shutdown).await
        }
        other => anyhow::bail!("no program named {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::{Command, parse};

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn the_program_comes_from_the_first_argument_or_else_the_environment() {
        assert_eq!(parse(&args("tickets"), None), Ok(Command::Run("tickets")));
        assert_eq!(
            parse(&args("ingress"), Some("auth")),
            Ok(Command::Run("ingress"))
        );
        assert_eq!(parse(&args(""), Some("orders")), Ok(Command::Run("orders")));
        assert_eq!(
            parse(&args("tickets healthcheck"), None),
            Ok(Command::Healthcheck(tickets::config::DEFAULT_PORT))
        );
        assert_eq!(
            parse(&args("healthcheck"), Some("payments")),
            Ok(Command::Healthcheck(payments::config::DEFAULT_PORT))
        );
    }

    #[test]
    fn anything_else_is_refused() {
        assert!(parse(&args(""), None).is_err());
        assert!(parse(&args("web"), None).is_err());
        assert!(parse(&args(""), Some("web")).is_err());
        assert!(parse(&args("tickets extra"), None).is_err());
        assert!(parse(&args("tickets healthcheck now"), None).is_err());
        assert!(parse(&args("healthcheck"), None).is_err());
    }

    #[test]
    fn a_refusal_says_what_was_wrong() {
        assert!(
            parse(&args(""), Some("web"))
                .unwrap_err()
                .contains("\"web\"")
        );
        assert!(
            parse(&args("tickets extra"), None)
                .unwrap_err()
                .contains("\"extra\"")
        );
        assert!(
            parse(&args(""), None)
                .unwrap_err()
                .contains("GITTIX_SERVICE")
        );
    }
}
