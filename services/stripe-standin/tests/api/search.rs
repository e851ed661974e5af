use serde_json::Value;

use crate::helpers::{TestStripe, charge_form, read};

fn ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .expect("a data array")
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn search_by_order_id_finds_exactly_the_orders_charges_newest_first() {
    let app = TestStripe::start().await;
    app.charge(None, &charge_form("o1", "tok_visa")).await;
    app.charge(None, &charge_form("o2", "tok_visa")).await;
    app.charge(None, &charge_form("o1", "tok_mastercard")).await;
    let ledger = app.stripe.charges();

    let (status, body) = read(app.search(&[("query", "metadata['order_id']:'o1'")]).await).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "search_result");
    assert_eq!(body["url"], "/v1/charges/search");
    assert_eq!(body["has_more"], false);
    assert_eq!(body["next_page"], Value::Null);
    assert_eq!(ids(&body), [ledger[2].id.clone(), ledger[0].id.clone()]);

    let (_, double_quoted) = read(
        app.search(&[("query", r#"metadata["order_id"]:"o1""#)])
            .await,
    )
    .await;
    assert_eq!(ids(&double_quoted), ids(&body));
    let (_, none) = read(app.search(&[("query", "metadata['order_id']:'o3'")]).await).await;
    assert!(ids(&none).is_empty());
}

#[tokio::test]
async fn a_declined_charge_is_found_as_failed_unless_the_query_asks_for_succeeded_ones() {
    let app = TestStripe::start().await;
    app.charge(None, &charge_form("o1", "tok_chargeDeclined"))
        .await;
    app.charge(None, &charge_form("o1", "tok_visa")).await;

    let (_, all) = read(app.search(&[("query", "metadata['order_id']:'o1'")]).await).await;
    let statuses: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["succeeded", "failed"]);

    let query = "metadata['order_id']:'o1' AND status:'succeeded'";
    let (_, succeeded) = read(app.search(&[("query", query)]).await).await;
    assert_eq!(ids(&succeeded), [app.stripe.charges()[0].id.clone()]);
}

#[tokio::test]
async fn search_pages_by_limit_and_the_next_page_cursor() {
    let app = TestStripe::start().await;
    for _ in 0..3 {
        app.charge(None, &charge_form("o1", "tok_visa")).await;
    }
    let query = ("query", "metadata['order_id']:'o1'");

    let (_, first) = read(app.search(&[query, ("limit", "2")]).await).await;
    assert_eq!(first["has_more"], true);
    assert_eq!(ids(&first).len(), 2);
    let page = first["next_page"].as_str().unwrap();
    let (_, second) = read(app.search(&[query, ("limit", "2"), ("page", page)]).await).await;

    assert_eq!(second["has_more"], false);
    let mut seen = ids(&first);
    seen.extend(ids(&second));
    let mut ledger: Vec<String> = app.stripe.charges().into_iter().map(|c| c.id).collect();
    ledger.reverse();
    assert_eq!(seen, ledger);
}

#[tokio::test]
async fn a_query_the_stand_in_does_not_understand_is_an_invalid_request() {
    let app = TestStripe::start().await;

    for query in [
        &[(
            "query",
            "metadata['order_id']:'o1' OR metadata['order_id']:'o2'",
        )][..],
        &[("query", "email:'amy@example.com'")][..],
        &[][..],
    ] {
        let (status, body) = read(app.search(query).await).await;
        assert_eq!(status, 400, "{query:?}");
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }
}
