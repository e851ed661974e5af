use std::time::Duration;

use auth::config::AuthConfig;
use auth::limits::{Limits, SignupLimits};
use auth::password::{Cost, HashLimits, Hasher};
use common::contract::routes;
use common::db::DbConfig;
use common::session::SessionKeys;
use common::testing::NatsServer;
pub use common::testing::{errors, field, message};
use reqwest::Response;
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub keys: SessionKeys,
    /// The app's hasher, to count the hashes it ran.
    pub hasher: Hasher,
    shutdown: CancellationToken,
    _nats: NatsServer,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// What a test app allows; by default, far more than any test needs.
pub struct TestSettings {
    pub cost: Cost,
    pub limits: Limits,
    pub hashing: HashLimits,
    pub signup_limits: SignupLimits,
}

impl Default for TestSettings {
    fn default() -> Self {
        Self {
            cost: Cost { log_n: 6 },
            limits: Limits {
                per_account: 1000,
                per_address: 1000,
                window: Duration::from_secs(60),
            },
            hashing: HashLimits {
                concurrency: 4,
                queue_wait: Duration::from_secs(60),
            },
            signup_limits: SignupLimits {
                per_address: 1000,
                window: Duration::from_secs(60),
            },
        }
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(TestSettings::default()).await
    }

    pub async fn spawn_with_limits(limits: Limits) -> Self {
        Self::spawn_with(TestSettings {
            limits,
            ..TestSettings::default()
        })
        .await
    }

    pub async fn spawn_with(settings: TestSettings) -> Self {
        common::telemetry::init_for_tests();
        let nats = NatsServer::start();
        let config = AuthConfig {
            service: common::testing::service_config("auth", &nats, DbConfig::memory("auth")),
            cost: settings.cost,
            limits: settings.limits,
            hashing: settings.hashing,
            signup_limits: settings.signup_limits,
        };
        let app = auth::startup::build(config).await.expect("the app builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let shutdown = app.shutdown_token();
        let hasher = app.extra().clone();
        tokio::spawn(app.run_until_stopped());
        Self {
            address,
            client: reqwest::Client::new(),
            keys: common::testing::test_session_keys(),
            hasher,
            shutdown,
            _nats: nats,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn signup(&self, body: &Value) -> Response {
        self.client
            .post(self.url(routes::SIGN_UP))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Signs up as a client at `address` (the ingress's `X-Real-IP`).
    pub async fn signup_from(&self, address: &str, body: &Value) -> Response {
        self.client
            .post(self.url(routes::SIGN_UP))
            .header("x-real-ip", address)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn signin(&self, body: &Value) -> Response {
        self.client
            .post(self.url(routes::SIGN_IN))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn signout(&self, cookie: Option<&str>) -> Response {
        let mut request = self.client.post(self.url(routes::SIGN_OUT));
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        request.send().await.unwrap()
    }

    pub async fn current_user(&self, cookie: Option<&str>) -> Value {
        let mut request = self.client.get(self.url(routes::CURRENT_USER));
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Response {
        self.client
            .post(self.url(path))
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Signs up and returns the `session=…` pair to send back as a cookie.
    pub async fn signed_up(&self, email: &str) -> String {
        let response = self
            .signup(&json!({"email": email, "password": "password"}))
            .await;
        assert_eq!(response.status(), 201);
        session_pair(&response).expect("a session cookie")
    }
}

/// The `session=<token>` part of the response's `Set-Cookie`.
pub fn session_pair(response: &Response) -> Option<String> {
    set_cookie(response).map(|c| c.split(';').next().unwrap().to_owned())
}

pub fn set_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get(SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned())
}
