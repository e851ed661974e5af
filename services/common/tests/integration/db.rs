use common::db::{self, DbConfig};
use common::outbox::{self, Outbox, Tx};

const SCHEMA: &str = "
DEFINE TABLE IF NOT EXISTS account SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS email ON account TYPE string;
DEFINE FIELD IF NOT EXISTS version ON account TYPE int;
DEFINE INDEX IF NOT EXISTS account_email ON account FIELDS email UNIQUE;
";

async fn database() -> Outbox {
    let db = db::connect_with_schema(
        &DbConfig::memory("db_test"),
        &format!("{SCHEMA}{}", outbox::SCHEMA),
    )
    .await
    .unwrap();
    Outbox::new(db)
}

fn create(id: &str, email: &str) -> Tx {
    Tx::new()
        .statement("CREATE type::record('account', $id) CONTENT { email: $email, version: 0 }")
        .bind("id", id.to_owned())
        .bind("email", email.to_owned())
}

#[tokio::test]
async fn applying_the_schema_twice_is_harmless() {
    let outbox = database().await;
    outbox.db().query(SCHEMA).await.unwrap().check().unwrap();
}

#[tokio::test]
async fn a_unique_index_violation_is_recognised() {
    let outbox = database().await;
    outbox.commit(create("a", "x@y.co")).await.unwrap();
    let err = outbox.commit(create("b", "x@y.co")).await.unwrap_err();
    assert!(db::is_duplicate(&err), "{err:?}");
    assert!(!db::is_conflict(&err), "{err:?}");
}

#[tokio::test]
async fn a_duplicate_record_id_is_recognised() {
    let outbox = database().await;
    outbox.commit(create("a", "x@y.co")).await.unwrap();
    let err = outbox.commit(create("a", "z@y.co")).await.unwrap_err();
    assert!(db::is_duplicate(&err), "{err:?}");
}

#[tokio::test]
async fn concurrent_inserts_of_one_unique_value_let_exactly_one_win() {
    let outbox = database().await;
    let attempts = (0..20).map(|i| {
        let outbox = outbox.clone();
        tokio::spawn(async move {
            db::retry_conflicts(|| outbox.commit(create(&format!("acc{i}"), "race@y.co"))).await
        })
    });
    let results = futures::future::join_all(attempts).await;
    let won = results
        .iter()
        .filter(|r| r.as_ref().unwrap().is_ok())
        .count();
    assert_eq!(won, 1);
    for result in results {
        if let Err(err) = result.unwrap() {
            assert!(db::is_duplicate(&err), "{err:?}");
        }
    }
}

#[tokio::test]
async fn a_version_guard_lets_only_one_of_two_writers_apply() {
    let outbox = database().await;
    outbox.commit(create("a", "x@y.co")).await.unwrap();
    let bump = |email: &str| {
        Tx::new()
            .guarded("UPDATE type::record('account', 'a') SET version = 1, email = $email WHERE version = 0 RETURN AFTER")
            .bind("email", email.to_owned())
    };
    let (first, second) = tokio::join!(
        db::retry_conflicts(|| outbox.commit(bump("first@y.co"))),
        db::retry_conflicts(|| outbox.commit(bump("second@y.co")))
    );
    let applied = [&first, &second].iter().filter(|r| r.is_ok()).count();
    assert_eq!(applied, 1, "{first:?} {second:?}");
    let loser = if first.is_err() { first } else { second };
    assert!(outbox::is_stale(&loser.unwrap_err()));
    let version: Option<i64> = outbox
        .db()
        .query("SELECT VALUE version FROM ONLY type::record('account', 'a')")
        .await
        .unwrap()
        .take(0)
        .unwrap();
    assert_eq!(version, Some(1));
}
