//! One executable for every backend service and the local ingress:
//!
//! ```text
//! service tickets               # runs the tickets service
//! service tickets healthcheck   # exits 0 when the running tickets service is healthy
//! GITTIX_SERVICE=tickets service [healthcheck]   # the same (how the container images run)
//! ```
//!
//! and the operators' view of the events consumers set aside (see `common::deadletter`), on the
//! NATS server in `NATS_URL`, signed in as `NATS_USER` (default `admin`) with `NATS_PASSWORD`:
//!
//! ```text
//! service dead-letters list                         # one line per set-aside event
//! service dead-letters show <seq>                   # everything recorded about one
//! service dead-letters replay <seq>                 # publish it again, then drop it
//! service dead-letters replay --all [--service <name>]
//! ```
//!
//! Each service still runs as its own process with its own data; they share only the file
//! they start from. Every service links SurrealDB's engine, much of each process's resident
//! code (BENCHMARKS.md); from one executable the kernel keeps those pages once for all the
//! processes on a machine instead of once per service.

/// mimalloc instead of glibc's allocator: see `common::MiMalloc`.
#[global_allocator]
static ALLOCATOR: common::MiMalloc = common::MiMalloc;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use common::bus::Bus;
use common::catalogue;
use common::config::Env;
use common::deadletter;
use tokio_util::sync::CancellationToken;

/// What the executable can run (every backend service of `common::catalogue`, then the
/// ingress), with the port each listens on when `PORT` is unset.
fn programs() -> impl Iterator<Item = (&'static str, u16)> {
    catalogue::BACKENDS
        .into_iter()
        .map(|backend| (backend.name, backend.default_port))
        .chain([(catalogue::INGRESS, catalogue::INGRESS_DEFAULT_PORT)])
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    /// Run the program.
    Run(&'static str),
    /// Probe the running program's health, on its port.
    Healthcheck(u16),
    /// Look at or replay the events consumers set aside.
    DeadLetters(DeadLetters),
    /// Create each service's database and database user on a SurrealDB server.
    ProvisionDatabases,
}

/// What `service dead-letters` is asked to do.
#[derive(Debug, PartialEq, Eq)]
enum DeadLetters {
    List,
    Show(u64),
    Replay(u64),
    /// Replay every set-aside event, or only those this service set aside.
    ReplayAll {
        service: Option<String>,
    },
}

/// How long the dead-letter commands wait for NATS before giving up.
const NATS_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads `[<program>] [healthcheck]`, the program's name coming from `GITTIX_SERVICE`
/// (`from_env`) when the first argument is not one, or `dead-letters <verb> ...`; anything else
/// is refused with the reason.
fn parse(args: &[String], from_env: Option<&str>) -> Result<Command, String> {
    if let Some((first, rest)) = args.split_first()
        && first == "dead-letters"
    {
        return parse_dead_letters(rest).map(Command::DeadLetters);
    }
    if let [only] = args
        && only == "provision-databases"
    {
        return Ok(Command::ProvisionDatabases);
    }
    let known = |named: &str| programs().find(|(name, _)| *name == named);
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

/// Reads `list`, `show <seq>`, `replay <seq>` or `replay --all [--service <name>]`.
fn parse_dead_letters(args: &[String]) -> Result<DeadLetters, String> {
    match args {
        [verb] if verb == "list" => Ok(DeadLetters::List),
        [verb, sequence] if verb == "show" => Ok(DeadLetters::Show(parse_sequence(sequence)?)),
        [verb] if verb == "show" => Err("show which? give its sequence number".to_owned()),
        [verb, rest @ ..] if verb == "replay" => parse_replay(rest),
        [] => Err("dead-letters: list, show or replay?".to_owned()),
        [unexpected, ..] => Err(format!("unexpected argument: {unexpected:?}")),
    }
}

/// Reads `<seq>` or `--all [--service <name>]`, in any order.
fn parse_replay(args: &[String]) -> Result<DeadLetters, String> {
    let (mut all, mut service, mut sequence) = (false, None, None);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--all" => all = true,
            "--service" => {
                let name = args.next().ok_or("--service needs a service name")?;
                let usable = !name.is_empty()
                    && !name.contains(|c: char| c.is_whitespace() || ".*>".contains(c));
                if !usable {
                    return Err(format!("not a service name: {name:?}"));
                }
                service = Some(name.clone());
            }
            other if sequence.is_none() && !other.starts_with('-') => {
                sequence = Some(parse_sequence(other)?);
            }
            other => return Err(format!("unexpected argument: {other:?}")),
        }
    }
    match (sequence, all, service) {
        (Some(sequence), false, None) => Ok(DeadLetters::Replay(sequence)),
        (None, true, service) => Ok(DeadLetters::ReplayAll { service }),
        (Some(_), true, _) => Err("replay one sequence number or --all, not both".to_owned()),
        (Some(_), false, Some(_)) => Err("--service goes with --all".to_owned()),
        (None, false, _) => Err("replay which? give its sequence number, or --all".to_owned()),
    }
}

fn parse_sequence(text: &str) -> Result<u64, String> {
    text.parse()
        .ok()
        .filter(|&sequence| sequence > 0)
        .ok_or_else(|| format!("not a sequence number: {text:?}"))
}

fn usage() -> String {
    let names: Vec<&str> = programs().map(|(name, _)| name).collect();
    format!(
        "usage: service <{}> [healthcheck]   (or the name in GITTIX_SERVICE)\n       \
         service dead-letters list|show <seq>|replay <seq>|replay --all [--service <name>]\n       \
         service provision-databases",
        names.join("|")
    )
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse(&args, std::env::var("GITTIX_SERVICE").ok().as_deref()) {
        Ok(Command::Healthcheck(default_port)) => {
            healthcheck::exit_with_health("PORT", default_port)
        }
        Ok(command) => command,
        Err(reason) => {
            eprintln!("service: {reason}\n{}", usage());
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
    let failure = match command {
        Command::Run(name) => runtime
            .block_on(run(name))
            .map_err(|error| format!("{name}: {error:?}")),
        // An operator's command: the causes on one line, no backtrace.
        Command::DeadLetters(what) => runtime
            .block_on(dead_letters(what))
            .map_err(|error| format!("dead-letters: {error:#}")),
        Command::ProvisionDatabases => runtime
            .block_on(provision_databases())
            .map_err(|error| format!("provision-databases: {error:#}")),
        Command::Healthcheck(_) => unreachable!("the health check exits above"),
    };
    match failure {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Creates every service's database on the SurrealDB server in `SURREAL_URL` (namespace
/// `SURREAL_NS`, default `gittix`), signed in with its root credentials
/// (`SURREAL_ROOT_USER`, `SURREAL_ROOT_PASS`), with one user per database named after its
/// service, whose password is in `SURREAL_PASS_<SERVICE>` (as the service's `SURREAL_PASS`).
/// Run again, it sets the passwords anew and changes nothing else.
async fn provision_databases() -> anyhow::Result<()> {
    let env = Env::process();
    let username = env.required("SURREAL_ROOT_USER", "the SurrealDB server's root user")?;
    let password = env.required("SURREAL_ROOT_PASS", "the SurrealDB server's root password")?;
    for service in catalogue::SERVICES {
        let mut root = common::db::DbConfig::from_env(&env, service)?;
        anyhow::ensure!(
            root.url.starts_with("ws://") || root.url.starts_with("wss://"),
            "SURREAL_URL must name a SurrealDB server (ws:// or wss://)"
        );
        root.credentials = Some(common::db::SignIn::Root {
            username: username.clone(),
            password: password.clone(),
        });
        let variable = format!("SURREAL_PASS_{}", service.to_uppercase());
        let service_password = env.required(&variable, "the password of the service's user")?;
        common::db::provision(&root, service, &service_password).await?;
        println!(
            "{service}: database {} and its user are ready",
            root.database
        );
    }
    Ok(())
}

/// Lists, shows or replays set-aside events on the NATS server in `NATS_URL`, printing what
/// it found or did.
async fn dead_letters(what: DeadLetters) -> anyhow::Result<()> {
    let env = Env::process();
    let url = env.required("NATS_URL", "the NATS server, e.g. nats://127.0.0.1:4222")?;
    // Replaying publishes any service's events: only the operator's user may.
    let user = common::config::nats_user(&env, common::bus::access::ADMIN);
    let connect = Bus::connect_as(&url, "service dead-letters", user.as_ref(), 1);
    let bus = tokio::time::timeout(NATS_TIMEOUT, connect)
        .await
        .with_context(|| format!("NATS at {url} did not answer within {NATS_TIMEOUT:?}"))??;
    let answer = async {
        match what {
            DeadLetters::List => {
                let letters = deadletter::list(&bus).await?;
                if letters.is_empty() {
                    eprintln!("no events are set aside");
                }
                for letter in letters {
                    println!("{}", letter.summary());
                }
            }
            DeadLetters::Show(sequence) => {
                println!("{}", deadletter::show(&bus, sequence).await?.details());
            }
            DeadLetters::Replay(sequence) => {
                let letter = deadletter::replay(&bus, sequence).await?;
                println!("{}", replayed(&letter));
            }
            DeadLetters::ReplayAll { service } => {
                let letters = deadletter::replay_all(&bus, service.as_deref()).await?;
                for letter in &letters {
                    println!("{}", replayed(letter));
                }
                eprintln!("replayed {} set-aside events", letters.len());
            }
        }
        anyhow::Ok(())
    };
    tokio::time::timeout(NATS_TIMEOUT * 6, answer)
        .await
        .with_context(|| format!("NATS at {url} stopped answering"))?
}

/// What a replay did, on one line.
fn replayed(letter: &deadletter::DeadLetter) -> String {
    format!(
        "replayed {} ({} set it aside) to {} as {}",
        letter.sequence,
        letter.service,
        letter.subject,
        letter.replay_id()
    )
}

/// Builds a service's `Application` from its configuration and runs it until it is told to
/// stop; every service has the same lifecycle.
macro_rules! serve {
    ($service:ident, $config:expr) => {{
        let app = $service::startup::build($config?).await?;
        common::http::cancel_on_signal(app.shutdown_token());
        app.run_until_stopped().await
    }};
}

/// Runs one program until SIGTERM or Ctrl-C.
async fn run(name: &str) -> anyhow::Result<()> {
    // One process runs one program: its name labels its traces and metrics for good.
    let process: &'static str = Box::leak(name.to_owned().into_boxed_str());
    let _telemetry = common::telemetry::init(process);
    let env = Env::process();
    match name {
        "auth" => serve!(auth, auth::config::AuthConfig::from_env(&env)),
        "tickets" => serve!(tickets, tickets::config::TicketsConfig::from_env(&env)),
        "orders" => serve!(orders, orders::config::OrdersConfig::from_env(&env)),
        "expiration" => serve!(
            expiration,
            expiration::config::ExpirationConfig::from_env(&env)
        ),
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
    use super::{Command, DeadLetters, parse};

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
            parse(&args("provision-databases"), Some("orders")),
            Ok(Command::ProvisionDatabases)
        );
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
        assert!(parse(&args("provision-databases now"), None).is_err());
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

    #[test]
    fn dead_letters_are_listed_shown_and_replayed_one_or_all() {
        let dead_letters = |line: &str| parse(&args(line), None);
        assert_eq!(
            dead_letters("dead-letters list"),
            Ok(Command::DeadLetters(DeadLetters::List))
        );
        assert_eq!(
            dead_letters("dead-letters show 12"),
            Ok(Command::DeadLetters(DeadLetters::Show(12)))
        );
        assert_eq!(
            dead_letters("dead-letters replay 12"),
            Ok(Command::DeadLetters(DeadLetters::Replay(12)))
        );
        assert_eq!(
            dead_letters("dead-letters replay --all"),
            Ok(Command::DeadLetters(DeadLetters::ReplayAll {
                service: None
            }))
        );
        let orders = Ok(Command::DeadLetters(DeadLetters::ReplayAll {
            service: Some("orders".to_owned()),
        }));
        assert_eq!(
            dead_letters("dead-letters replay --all --service orders"),
            orders
        );
        assert_eq!(
            dead_letters("dead-letters replay --service orders --all"),
            orders
        );
    }

    #[test]
    fn dead_letters_is_a_command_even_when_the_environment_names_a_program() {
        assert_eq!(
            parse(&args("dead-letters list"), Some("tickets")),
            Ok(Command::DeadLetters(DeadLetters::List))
        );
    }

    #[test]
    fn a_dead_letters_command_that_does_not_make_sense_is_refused() {
        for line in [
            "dead-letters",
            "dead-letters purge",
            "dead-letters list extra",
            "dead-letters show",
            "dead-letters show twelve",
            "dead-letters show 0",
            "dead-letters show -3",
            "dead-letters show 1 2",
            "dead-letters replay",
            "dead-letters replay 1 2",
            "dead-letters replay 1 --all",
            "dead-letters replay 1 --service orders",
            "dead-letters replay --service orders",
            "dead-letters replay --all --service",
            "dead-letters replay --all --service events.>",
            "dead-letters replay --all --force",
            "tickets dead-letters list",
        ] {
            assert!(parse(&args(line), None).is_err(), "{line} was accepted");
        }
        assert!(
            parse(&args("dead-letters show twelve"), None)
                .unwrap_err()
                .contains("\"twelve\"")
        );
    }

    #[test]
    fn the_usage_names_the_dead_letters_verbs() {
        let usage = super::usage();
        for verb in [
            "dead-letters",
            "list",
            "show <seq>",
            "replay <seq>",
            "--all",
            "--service",
        ] {
            assert!(usage.contains(verb), "{usage}");
        }
    }
}
