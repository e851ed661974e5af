//! `surreal`: SurrealDB's server, the same 3.x line as the SDK the services use, built from
//! the `surrealdb-server` crate so that nothing has to be downloaded. The stack starts it
//! when a service runs as several instances:
//!
//! ```sh
//! surreal start --bind 127.0.0.1:8000 --user root --pass secret surrealkv://data/surreal
//! ```

// Release builds of SurrealDB's query engine need more than the default 128.
#![recursion_limit = "256"]

fn main() -> std::process::ExitCode {
    surrealdb_server::init(surrealdb_server::core::CommunityComposer())
}
