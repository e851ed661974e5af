use reqwest::Response;
use serde_json::Value;
use stripe_standin::StripeStandIn;

pub const API_KEY: &str = "sk_test_standin";

/// The stand-in and a client with one method per endpoint.
#[derive(Clone)]
pub struct TestStripe {
    pub stripe: StripeStandIn,
    client: reqwest::Client,
}

impl TestStripe {
    pub async fn start() -> Self {
        Self {
            stripe: StripeStandIn::start().await,
            client: reqwest::Client::new(),
        }
    }

    pub async fn charge(&self, key: Option<&str>, form: &[(&str, &str)]) -> Response {
        self.post("/v1/charges", key, form).await
    }

    pub async fn refund(&self, key: Option<&str>, form: &[(&str, &str)]) -> Response {
        self.post("/v1/refunds", key, form).await
    }

    pub async fn post(&self, path: &str, key: Option<&str>, form: &[(&str, &str)]) -> Response {
        let mut request = self
            .client
            .post(format!("{}{path}", self.stripe.url()))
            .bearer_auth(API_KEY)
            .form(form);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        request.send().await.expect("the stand-in answers")
    }

    pub async fn search(&self, query: &[(&str, &str)]) -> Response {
        self.get("/v1/charges/search", query).await
    }

    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Response {
        self.client
            .get(format!("{}{path}", self.stripe.url()))
            .bearer_auth(API_KEY)
            .query(query)
            .send()
            .await
            .expect("the stand-in answers")
    }
}

/// A charge as the payments gateway sends it.
pub fn charge_form<'a>(order_id: &'a str, token: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("amount", "1000"),
        ("currency", "usd"),
        ("source", token),
        ("description", "GitTix order"),
        ("metadata[order_id]", order_id),
    ]
}

/// The status and the JSON body.
pub async fn read(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.expect("a JSON body");
    (status, body)
}

pub fn replayed(response: &Response) -> bool {
    response
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true")
}
