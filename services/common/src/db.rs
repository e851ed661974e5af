//! SurrealDB access. One connect function, driven by `SURREAL_URL`:
//! `surrealkv://<path>` (embedded files, the default), `mem://` (tests) or `ws://host:port`
//! (a SurrealDB server shared by several instances of a service).
//!
//! On a server each service signs in as a user of its own database ([`SignIn::Database`],
//! with the `EDITOR` role): it can read and change its own tables and schema and nothing of
//! another service's. [`provision`], run with the server's root credentials (by the stack, or
//! by `service surreal-setup` in a cluster), creates the databases and those users.

use std::future::Future;
use std::time::Duration;

use anyhow::Context as _;
use surrealdb::Surreal;
use surrealdb::engine::any::Any;
use surrealdb::opt::auth::{Database, Root};

use crate::config::{ConfigError, Env};

/// A connection to one service's database, cheap to clone.
///
/// Shared behind an `Arc` on purpose: cloning a `Surreal` handle opens a new session, which
/// on a server means signing in again (a password hash per clone, so per request once the
/// handle sits in a request's state).
pub type Db = std::sync::Arc<Surreal<Any>>;

pub use surrealdb::Error as DbError;
pub use surrealdb::types::{RecordId, RecordIdKey, SurrealValue};

/// Where a service's data lives.
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// `SURREAL_URL`, default `surrealkv://data/<service>`.
    pub url: String,
    /// `SURREAL_NS`, default `gittix`.
    pub namespace: String,
    /// `SURREAL_DB`, default the service's name: one database per service.
    pub database: String,
    /// Who signs in, on a server only.
    pub credentials: Option<SignIn>,
}

/// Credentials for a SurrealDB server.
#[derive(Clone, PartialEq, Eq)]
pub enum SignIn {
    /// A user of the configured database (`SURREAL_USER` / `SURREAL_PASS`): how services
    /// sign in. The database must exist already (see [`provision`]).
    Database { username: String, password: String },
    /// The server's root user: provisioning, operators and tests.
    Root { username: String, password: String },
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (level, username) = match self {
            Self::Database { username, .. } => ("Database", username),
            Self::Root { username, .. } => ("Root", username),
        };
        f.debug_struct(level)
            .field("username", username)
            .field("password", &"<hidden>")
            .finish()
    }
}

impl DbConfig {
    pub fn from_env(env: &Env, service: &str) -> Result<Self, ConfigError> {
        let url = env
            .get("SURREAL_URL")
            .unwrap_or_else(|| format!("surrealkv://data/{service}"));
        let scheme_ok = ["surrealkv://", "mem://", "ws://", "wss://"]
            .iter()
            .any(|scheme| url.starts_with(scheme));
        if !scheme_ok {
            return Err(ConfigError::Invalid {
                name: "SURREAL_URL".to_owned(),
                value: url,
                reason: "expected surrealkv://<path>, mem:// or ws://host:port".to_owned(),
            });
        }
        let credentials = match (env.get("SURREAL_USER"), env.get("SURREAL_PASS")) {
            (Some(username), Some(password)) => Some(SignIn::Database { username, password }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::Missing {
                    name: "SURREAL_PASS".to_owned(),
                    help: "SURREAL_USER is set, so its password is needed too".to_owned(),
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError::Missing {
                    name: "SURREAL_USER".to_owned(),
                    help: "SURREAL_PASS is set, so its user is needed too".to_owned(),
                });
            }
        };
        Ok(Self {
            url,
            namespace: env.get("SURREAL_NS").unwrap_or_else(|| "gittix".to_owned()),
            database: env.get("SURREAL_DB").unwrap_or_else(|| service.to_owned()),
            credentials,
        })
    }

    /// A fresh in-memory database, for tests.
    pub fn memory(database: &str) -> Self {
        Self {
            url: "mem://".to_owned(),
            namespace: "gittix".to_owned(),
            database: database.to_owned(),
            credentials: None,
        }
    }
}

/// Opens the database and selects the service's namespace and database. Signed in as root
/// (or embedded), it first creates them if they are missing.
pub async fn connect(config: &DbConfig) -> anyhow::Result<Db> {
    if let Some(path) = config.url.strip_prefix("surrealkv://") {
        std::fs::create_dir_all(path)
            .with_context(|| format!("creating the data folder {path}"))?;
    }
    let db = surrealdb::engine::any::connect(config.url.as_str())
        .await
        .with_context(|| format!("connecting to SurrealDB at {}", config.url))?;
    match &config.credentials {
        Some(SignIn::Database { username, password }) => {
            db.signin(Database {
                namespace: config.namespace.clone(),
                database: config.database.clone(),
                username: username.clone(),
                password: password.clone(),
            })
            .await
            .with_context(|| {
                format!(
                    "signing in to SurrealDB as {username} of database {} (is it provisioned?)",
                    config.database
                )
            })?;
        }
        Some(SignIn::Root { username, password }) => {
            db.signin(Root {
                username: username.clone(),
                password: password.clone(),
            })
            .await
            .context("signing in to SurrealDB as root")?;
            define_database(&db, config).await?;
        }
        None => define_database(&db, config).await?,
    }
    db.use_ns(config.namespace.as_str())
        .use_db(config.database.as_str())
        .await
        .context("selecting the namespace and database")?;
    Ok(std::sync::Arc::new(db))
}

/// Creates the namespace and database if they are missing; several services (or instances)
/// may do so at the same moment.
async fn define_database(db: &Surreal<Any>, config: &DbConfig) -> anyhow::Result<()> {
    let (ns, name) = (ident(&config.namespace)?, ident(&config.database)?);
    retry_conflicts(|| async {
        db.query(format!(
            "DEFINE NAMESPACE IF NOT EXISTS {ns}; USE NS {ns}; DEFINE DATABASE IF NOT EXISTS {name};"
        ))
        .await
        .and_then(|r| r.check())
        .map(drop)
    })
    .await
    .context("creating the namespace and database")
}

/// With root credentials in `root` (whose `database` is the service's), creates the
/// service's database and (again) its user `username` with `password`, role `EDITOR`:
/// everything within that database, nothing outside it.
pub async fn provision(root: &DbConfig, username: &str, password: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        matches!(root.credentials, Some(SignIn::Root { .. })),
        "provisioning needs the server's root credentials"
    );
    anyhow::ensure!(
        password.len() >= 16 && password.chars().all(|c| !c.is_control()),
        "the password of {username} must be at least 16 characters, without control characters"
    );
    let db = connect(root).await?;
    let user = ident(username)?;
    let password = serde_json::to_string(password)?;
    retry_conflicts(|| async {
        db.query(format!(
            "DEFINE USER OVERWRITE {user} ON DATABASE PASSWORD {password} ROLES EDITOR;"
        ))
        .await
        .and_then(|r| r.check())
        .map(drop)
    })
    .await
    .with_context(|| format!("defining the database user {username}"))
}

/// Connects and applies the service's schema (idempotent `DEFINE … IF NOT EXISTS` /
/// `OVERWRITE` statements), retrying while other instances apply it at the same time.
pub async fn connect_with_schema(config: &DbConfig, schema: &str) -> anyhow::Result<Db> {
    let db = connect(config).await?;
    retry_conflicts(|| async {
        db.query(schema).await?.check()?;
        Ok::<_, DbError>(())
    })
    .await
    .context("applying the schema")?;
    Ok(db)
}

fn ident(name: &str) -> anyhow::Result<&str> {
    anyhow::ensure!(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
        "database and namespace names may hold only letters, digits, '_' and '-': {name:?}"
    );
    Ok(name)
}

/// The count a `SELECT count() AS n FROM … GROUP ALL` query answers (0 for no rows), with
/// `$value` bound to `value` if given.
pub async fn count(db: &Db, sql: &str, value: Option<&str>) -> Result<u64, DbError> {
    #[derive(surrealdb::types::SurrealValue)]
    struct Count {
        n: i64,
    }
    let mut query = db.query(sql);
    if let Some(value) = value {
        query = query.bind(("value", value.to_owned()));
    }
    let rows: Vec<Count> = query.await?.take(0)?;
    Ok(rows
        .first()
        .map_or(0, |row| u64::try_from(row.n).unwrap_or(0)))
}

/// Whether the error is a transaction conflict that can be retried.
pub fn is_conflict(error: &DbError) -> bool {
    if error
        .query_details()
        .is_some_and(|d| matches!(d, surrealdb::types::QueryError::TransactionConflict))
    {
        return true;
    }
    let message = error.message().to_ascii_lowercase();
    message.contains("transaction conflict")
        || message.contains("read or write conflict")
        || message.contains("can be retried")
}

/// Whether the error is a unique index violation ("Database index `…` already contains …")
/// or a record id that already exists.
pub fn is_duplicate(error: &DbError) -> bool {
    error.is_already_exists()
        || (error.message().starts_with("Database index")
            && error.message().contains("already contains"))
}

/// Runs `op` again while it fails with a transaction conflict or a stale version guard,
/// with a short jittered backoff, up to a bound; any other error is returned at once. `op`
/// must read what it decides on afresh each time (optimistic concurrency).
pub async fn retry_conflicts<T, E, F, Fut>(op: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: AsConflict,
{
    retry_while(op, E::is_conflict).await
}

/// Runs `op` again while its error satisfies `retryable`, with the backoff and bound of
/// [`retry_conflicts`]. With [`is_conflict`] it retries storage conflicts only, for
/// statements whose version guards must not be retried.
pub async fn retry_while<T, E, F, Fut>(mut op: F, retryable: impl Fn(&E) -> bool) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    const ATTEMPTS: u32 = 12;
    let mut attempt = 0;
    loop {
        match op().await {
            Err(err) if attempt + 1 < ATTEMPTS && retryable(&err) => {
                attempt += 1;
                let jitter = u64::from(ulid::Ulid::new().random() as u16 % 20);
                tokio::time::sleep(Duration::from_millis(5 * u64::from(attempt) + jitter)).await;
            }
            other => return other,
        }
    }
}

/// Errors that can say whether they are a retryable transaction conflict.
pub trait AsConflict {
    fn is_conflict(&self) -> bool;
}

impl AsConflict for DbError {
    /// A storage-level conflict, or a version guard that found the row changed since it
    /// was read (see [`crate::outbox::Tx::guarded`]): both mean "read again and retry".
    fn is_conflict(&self) -> bool {
        is_conflict(self) || crate::outbox::is_stale(self)
    }
}

impl AsConflict for anyhow::Error {
    fn is_conflict(&self) -> bool {
        self.chain()
            .filter_map(|e| e.downcast_ref::<DbError>())
            .any(AsConflict::is_conflict)
    }
}

/// The string key of a record id (`ticket:⟨01J…⟩` → `01J…`).
pub fn key_of(id: &RecordId) -> String {
    match &id.key {
        RecordIdKey::String(key) => key.clone(),
        RecordIdKey::Number(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

/// A new sortable unique id (ULID, lower-case) for a record or an event. Ids made by one
/// process are strictly increasing, so events staged in one transaction keep their order.
pub fn new_id() -> String {
    static GENERATOR: std::sync::Mutex<ulid::Generator> =
        std::sync::Mutex::new(ulid::Generator::new());
    GENERATOR
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .generate()
        .unwrap_or_else(|_| ulid::Ulid::new())
        .to_string()
        .to_ascii_lowercase()
}

/// Whether `id` looks like an id [`new_id`] made, so that a path segment can be checked
/// before it reaches a query ([`contract::ids::is_well_formed`]).
pub fn is_valid_id(id: &str) -> bool {
    contract::ids::is_well_formed(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_valid_and_unique() {
        let a = new_id();
        let b = new_id();
        assert!(is_valid_id(&a) && is_valid_id(&b));
        assert_ne!(a, b);
        assert!(!is_valid_id("ticket:1"));
        assert!(!is_valid_id("../../etc/passwd"));
        assert!(!is_valid_id(""));
    }

    #[test]
    fn url_scheme_is_checked() {
        let env = Env::from_pairs([("SURREAL_URL", "postgres://x")]);
        assert!(DbConfig::from_env(&env, "auth").is_err());
        let env = Env::from_pairs([("SURREAL_URL", "ws://127.0.0.1:8000")]);
        assert_eq!(
            DbConfig::from_env(&env, "auth").unwrap().url,
            "ws://127.0.0.1:8000"
        );
    }

    #[test]
    fn credentials_come_in_pairs() {
        let env = Env::from_pairs([("SURREAL_USER", "root")]);
        let err = DbConfig::from_env(&env, "auth").unwrap_err();
        assert!(err.to_string().contains("SURREAL_PASS"));
    }
}
