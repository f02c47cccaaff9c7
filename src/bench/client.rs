//! The benchmark's client of the Outhook API: provisioning (tenant, event types, endpoints,
//! secrets) and ingest, over one pooled `reqwest` client. Only the fields the benchmark reads are
//! deserialised, so answering costs the load generator as little as possible.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::bench::BenchError;
use crate::domain::secret::SigningSecret;

/// Each request's timeout: generous, because a slow answer is a result to report, not an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Deleting a tenant with a large backlog removes every row it owns in one statement.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Deserialize)]
struct Created {
    id: String,
}

#[derive(Deserialize)]
struct Batch {
    data: Vec<Created>,
}

#[derive(Deserialize)]
struct Secret {
    key: String,
}

/// A response body whose status was as expected.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Answer {
    fn parse<T: for<'de> Deserialize<'de>>(self, operation: &'static str) -> Result<T, BenchError> {
        serde_json::from_slice(&self.body).map_err(|error| BenchError::Api {
            operation,
            status: self.status,
            body: format!("unexpected answer ({error}): {}", String::from_utf8_lossy(&self.body)),
        })
    }
}

/// An authenticated client of one Outhook server.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base_url: String,
    token: String,
}

impl ApiClient {
    /// A client keeping up to `connections` idle keep-alive connections, so `connections`
    /// concurrent senders never reconnect.
    pub fn new(base_url: &str, token: &str, connections: usize) -> Result<Self, BenchError> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(REQUEST_TIMEOUT)
            .pool_max_idle_per_host(connections)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { http, base_url: base_url.trim_end_matches('/').to_owned(), token: token.to_owned() })
    }

    async fn send(
        &self,
        operation: &'static str,
        request: reqwest::RequestBuilder,
        expected: &[u16],
    ) -> Result<Answer, BenchError> {
        let response = request.bearer_auth(&self.token).send().await?;
        let status = response.status().as_u16();
        let body = response.bytes().await?.to_vec();
        if expected.contains(&status) {
            Ok(Answer { status, body })
        } else {
            Err(BenchError::Api { operation, status, body: String::from_utf8_lossy(&body).into_owned() })
        }
    }

    async fn post_json<T: for<'de> Deserialize<'de>>(
        &self,
        operation: &'static str,
        path: &str,
        body: &Value,
    ) -> Result<T, BenchError> {
        let request = self.http.post(format!("{}{path}", self.base_url)).json(body);
        let answer = self.send(operation, request, &[200, 201, 202]).await?;
        answer.parse(operation)
    }

    /// Creates a tenant with an ingest limit far above anything the benchmark sends, so the
    /// target's default per-tenant limit does not throttle the measurement.
    pub async fn create_tenant(&self, uid: &str) -> Result<(), BenchError> {
        let body = json!({
            "uid": uid,
            "name": "outhook bench",
            "ingest_rate_limit": { "per_second": 1_000_000, "burst": 10_000_000 },
        });
        self.post_json::<Created>("create tenant", "/v1/tenants", &body).await.map(drop)
    }

    /// Creates an event type; one that already exists (from an earlier run) is fine.
    pub async fn ensure_event_type(&self, name: &str) -> Result<(), BenchError> {
        let body = json!({ "name": name, "description": "outhook bench" });
        let request = self.http.post(format!("{}/v1/event-types", self.base_url)).json(&body);
        self.send("create event type", request, &[201, 409]).await.map(drop)
    }

    /// Creates an endpoint from a full request body and returns its id and signing secret.
    pub async fn create_endpoint(&self, tenant: &str, body: &Value) -> Result<(String, SigningSecret), BenchError> {
        let created: Created =
            self.post_json("create endpoint", &format!("/v1/tenants/{tenant}/endpoints"), body).await?;
        let path = format!("{}/v1/tenants/{tenant}/endpoints/{}/secret", self.base_url, created.id);
        let secret: Secret = self.send("get endpoint secret", self.http.get(path), &[200]).await?.parse("secret")?;
        let secret = SigningSecret::parse(&secret.key).map_err(|error| BenchError::Api {
            operation: "get endpoint secret",
            status: 200,
            body: error.to_string(),
        })?;
        Ok((created.id, secret))
    }

    /// Submits one event (a ready-made JSON body) and returns its id, the `webhook-id` of its
    /// deliveries.
    pub async fn post_event(&self, tenant: &str, body: String) -> Result<String, BenchError> {
        let request = self
            .http
            .post(format!("{}/v1/tenants/{tenant}/events", self.base_url))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        let created: Created = self.send("create event", request, &[202]).await?.parse("create event")?;
        Ok(created.id)
    }

    /// Submits a batch body and returns the event ids in submission order.
    pub async fn post_batch(&self, tenant: &str, body: String) -> Result<Vec<String>, BenchError> {
        let request = self
            .http
            .post(format!("{}/v1/tenants/{tenant}/events/batch", self.base_url))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        let batch: Batch = self.send("create event batch", request, &[202]).await?.parse("create event batch")?;
        Ok(batch.data.into_iter().map(|event| event.id).collect())
    }

    /// Deletes the tenant and everything it owns, so runs against a long-lived server or
    /// database leave no pending deliveries behind.
    pub async fn delete_tenant(&self, tenant: &str) -> Result<(), BenchError> {
        let request = self.http.delete(format!("{}/v1/tenants/{tenant}", self.base_url)).timeout(CLEANUP_TIMEOUT);
        self.send("delete tenant", request, &[204]).await.map(drop)
    }
}
