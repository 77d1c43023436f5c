//! A data-plane fixture: Realms with a user, a token, the mock upstream as channel `primary`, and the
//! model `claude-test` bound to it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use app::core::admin::Admin;
use app::core::audit;
use app::core::channels::{self, ChannelSettings, NewChannel};
use app::core::models::{self, ModelInput};
use app::core::usage_log::UsageEvent;
use app::core::users;
use app::money::Prices;
use app::types::ChannelKind;
use realms::relay::RelayConfig;
use realms_mock::MockState;

use super::Server;

/// The test user's starting balance: $100.
pub const FUNDS: i64 = 100_000_000_000;

pub const UPSTREAM_KEY: &str = "sk-ant-upstream-key-0001";

pub struct Setup {
    pub s: Server,
    pub token: String,
    pub mock: MockState,
    pub mock_url: String,
    pub http: reqwest::Client,
}

impl Setup {
    pub async fn new() -> Setup {
        Setup::with(RelayConfig::default()).await
    }

    /// Realms with a user, a token, the mock upstream as channel `primary`, and the model
    /// `claude-test` bound to it as `claude-test-upstream`.
    pub async fn with(config: RelayConfig) -> Setup {
        Setup::on(None, config).await
    }

    /// [`Setup::with`] on `db` (a fresh SQLite database when `None`).
    pub async fn on(db: Option<app::core::db::Db>, config: RelayConfig) -> Setup {
        let s = super::start_on(db, config).await;
        let mock = MockState::new(vec![UPSTREAM_KEY.to_string()]);
        let addr = realms_mock::spawn("127.0.0.1:0".parse().unwrap(), mock.clone())
            .await
            .unwrap();
        let ops = Admin::cli(s.db.clone());
        let user = ops
            .create_user(
                "dev@example.com",
                None,
                "password123",
                app::types::Role::User,
            )
            .await
            .unwrap();
        ops.adjust_balance(user.id, FUNDS, "test funds")
            .await
            .unwrap();
        let token = ops.create_token(&user, "cli", None).await.unwrap().secret;
        let setup = Setup {
            s,
            token,
            mock,
            mock_url: format!("http://{addr}"),
            http: reqwest::Client::new(),
        };
        let primary = setup.channel("primary", &setup.mock_url.clone(), 0).await;
        setup.model("claude-test").await;
        setup
            .bind("claude-test", primary, "claude-test-upstream")
            .await;
        setup
    }

    /// The admin operations, as the ops CLI runs them.
    pub fn ops(&self) -> Admin {
        Admin::cli(self.s.db.clone())
    }

    pub async fn channel(&self, name: &str, base_url: &str, priority: i64) -> i64 {
        self.channel_of(
            ChannelKind::Anthropic,
            name,
            &format!("{base_url}/v1"),
            priority,
        )
        .await
    }

    /// A channel of `kind` on `base_url` (as given: with or without `/v1`) with the mock's key.
    pub async fn channel_of(
        &self,
        kind: ChannelKind,
        name: &str,
        base_url: &str,
        priority: i64,
    ) -> i64 {
        self.channel_keyed(kind, name, base_url, priority, UPSTREAM_KEY)
            .await
    }

    /// [`Setup::channel_of`] with the API key `key`.
    pub async fn channel_keyed(
        &self,
        kind: ChannelKind,
        name: &str,
        base_url: &str,
        priority: i64,
        key: &str,
    ) -> i64 {
        let c = self
            .ops()
            .create_channel(
                &self.s.state.cipher,
                NewChannel {
                    settings: ChannelSettings {
                        name: name.into(),
                        kind,
                        priority,
                        weight: 1,
                    },
                    base_urls: &[base_url.to_string()],
                    keys: &[key.to_string()],
                },
            )
            .await
            .unwrap();
        self.reload().await;
        c.id
    }

    pub async fn model(&self, id: &str) {
        self.ops()
            .create_model(&ModelInput {
                public_id: id.into(),
                display_name: None,
                prices: Some(Prices::with_derived_cache(3_000_000, 15_000_000)),
                enabled: true,
            })
            .await
            .unwrap();
        self.reload().await;
    }

    pub async fn bind(&self, model: &str, channel: i64, upstream: &str) {
        let m = models::find_by_public_id(&self.s.db, model)
            .await
            .unwrap()
            .unwrap();
        self.ops()
            .create_binding(m.id, channel, Some(upstream))
            .await
            .unwrap();
        self.reload().await;
    }

    /// The id of the `primary` channel.
    pub async fn primary(&self) -> i64 {
        channels::find_by_name(&self.s.db, "primary")
            .await
            .unwrap()
            .unwrap()
            .id
    }

    /// Creates `model` (priced) and binds it to `primary` as `upstream`.
    pub async fn on_primary(&self, model: &str, upstream: &str) {
        let primary = self.primary().await;
        self.model(model).await;
        self.bind(model, primary, upstream).await;
    }

    /// Creates `model` (priced) and binds it to the OpenAI channel `oai` as `upstream`.
    pub async fn on_openai(&self, model: &str, upstream: &str) {
        let oai = channels::find_by_name(&self.s.db, "oai")
            .await
            .unwrap()
            .unwrap()
            .id;
        self.model(model).await;
        self.bind(model, oai, upstream).await;
    }

    /// Gives back idle balance leases and waits until every charge and event is stored.
    pub async fn settled(&self) {
        self.s.relay.wallets.tidy(Duration::ZERO).await;
        self.s.relay.books.flush().await;
    }

    pub async fn user_id(&self) -> i64 {
        users::find_by_email(&self.s.db, "dev@example.com")
            .await
            .unwrap()
            .unwrap()
            .id
    }

    /// After a test wrote to the store directly (not through the admin operations): bumps the
    /// catalog revision as a change would, and reloads.
    pub async fn changed(&self) {
        audit::bump(&self.s.db).await.unwrap();
        self.reload().await;
    }

    /// Takes every change so far into this instance's routing catalog at once.
    pub async fn reload(&self) {
        self.s.state.catalog.refresh().await.unwrap();
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.s.url))
            .bearer_auth(&self.token)
    }

    pub async fn messages(&self, body: Value) -> reqwest::Response {
        self.post("/v1/messages?beta=true")
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// The usage event of the next request to settle.
    pub fn events(&self) -> tokio::sync::broadcast::Receiver<Arc<UsageEvent>> {
        self.s.relay.books.subscribe()
    }

    pub fn seen_models(&self) -> Vec<String> {
        self.mock
            .requests()
            .iter()
            .map(|r| r.body["model"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

pub async fn next(rx: &mut tokio::sync::broadcast::Receiver<Arc<UsageEvent>>) -> Arc<UsageEvent> {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("the request settles")
        .unwrap()
}

pub fn body(model: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "max_tokens": 32000,
        "stream": stream,
        "messages": [{ "role": "user", "content": "hello" }],
    })
}

pub async fn error_of(res: reqwest::Response) -> (StatusCode, String, String) {
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["type"], "error", "Anthropic's error shape: {v}");
    (
        status,
        v["error"]["type"].as_str().unwrap().to_string(),
        v["error"]["message"].as_str().unwrap().to_string(),
    )
}
