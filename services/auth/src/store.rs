//! The `user` table: email (unique, lower-case) and scrypt hash.

use common::db::{Db, DbError};
use common::outbox::{Outbox, Tx};
use surrealdb::types::SurrealValue;

use crate::domain::Email;

pub const SCHEMA: &str = "
DEFINE TABLE IF NOT EXISTS user SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS email ON user TYPE string;
DEFINE FIELD IF NOT EXISTS password_hash ON user TYPE string;
DEFINE FIELD IF NOT EXISTS created_at ON user TYPE datetime DEFAULT time::now();
DEFINE INDEX IF NOT EXISTS user_email ON user FIELDS email UNIQUE;
";

#[derive(Debug, SurrealValue)]
pub struct StoredUser {
    pub id: String,
    pub email: String,
    pub password_hash: String,
}

pub async fn find_by_email(db: &Db, email: &Email) -> Result<Option<StoredUser>, DbError> {
    db.query(
        "SELECT record::id(id) AS id, email, password_hash FROM user WHERE email = $email LIMIT 1",
    )
    .bind(("email", email.as_str().to_owned()))
    .await?
    .take(0)
}

/// Inserts a user; fails with a duplicate error when the email is taken.
pub async fn insert(
    outbox: &Outbox,
    id: &str,
    email: &Email,
    password_hash: String,
) -> Result<(), DbError> {
    // Two sign-ups for one email at once: the loser sees a conflict, and on retry the
    // unique index's duplicate error, which the caller turns into "Email in use".
    let create = || {
        outbox.commit(
            Tx::new()
                .statement(
                    "CREATE type::record('user', $id) \
                     CONTENT { email: $email, password_hash: $password_hash }",
                )
                .bind("id", id.to_owned())
                .bind("email", email.as_str().to_owned())
                .bind("password_hash", password_hash.clone()),
        )
    };
    common::db::retry_while(create, common::db::is_conflict).await
}
