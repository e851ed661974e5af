//! The auth service through HTTP on a random port, with a real nats-server and an
//! in-memory SurrealDB.

mod currentuser;
mod helpers;
mod overload;
mod robustness;
mod signin;
mod signout;
mod signup;
