//! The platform's schema registry as a real process for one test, against a fresh database,
//! and the few calls tests make of it the way Confluent clients do.

use crate::{process::RunningService, TestEnv};
use serde_json::{json, Value};

const REGISTRY_JSON: &str = "application/vnd.schemaregistry.v1+json";

pub struct SchemaRegistry {
    /// Base URL, as `SCHEMA_REGISTRY_URL`.
    pub url: String,
    pub service: RunningService,
    client: reqwest::Client,
}

/// A refusal: HTTP status and Confluent's error body.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub body: Value,
}

impl SchemaRegistry {
    /// Starts `schema-registry` on a free port with its own empty database.
    pub async fn start() -> Self {
        Self::start_on(crate::free_port()).await
    }

    /// Starts `schema-registry` on `port` (e.g. one a service was told about while nothing
    /// listened there yet) with its own empty database.
    pub async fn start_on(port: u16) -> Self {
        let env = TestEnv::get();
        let database_url = env.fresh_database().await;
        let process = crate::process::ServiceProcess::spawn(
            "schema-registry",
            &[
                ("SCHEMA_REGISTRY_ADDR", format!("127.0.0.1:{port}")),
                ("SCHEMA_REGISTRY_DATABASE_URL", database_url),
                ("JWT_SECRET", crate::TEST_JWT_SECRET.to_owned()),
                ("KAFKA_BOOTSTRAP_SERVERS", env.bootstrap.clone()),
            ],
            &env.runtime_dir,
        );
        let http = format!("http://127.0.0.1:{port}");
        crate::wait_until_ready(
            &format!("{http}/health/ready"),
            std::time::Duration::from_secs(60),
        )
        .await;
        let service = RunningService { process, http };
        Self {
            url: service.http.clone(),
            service,
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(crate::admin_token())
            .header(reqwest::header::ACCEPT, REGISTRY_JSON);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, REGISTRY_JSON)
                .body(body.to_string());
        }
        let response = request.send().await.expect("the registry answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// `POST /subjects/{subject}/versions`: the schema id, or the refusal.
    pub async fn try_register(&self, subject: &str, schema: &str) -> Result<u32, Refused> {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                &format!("/subjects/{subject}/versions"),
                Some(json!({ "schema": schema })),
            )
            .await;
        match body["id"].as_u64() {
            Some(id) if status == 200 => Ok(id as u32),
            _ => Err(Refused { status, body }),
        }
    }

    /// Registers `schema`, which must be accepted; returns its id.
    pub async fn register(&self, subject: &str, schema: &str) -> u32 {
        self.try_register(subject, schema)
            .await
            .unwrap_or_else(|e| panic!("registering under {subject}: {e:?}"))
    }

    /// `GET /subjects/{subject}/versions/latest`.
    pub async fn latest(&self, subject: &str) -> Value {
        let (status, body) = self
            .call(
                reqwest::Method::GET,
                &format!("/subjects/{subject}/versions/latest"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }
}
