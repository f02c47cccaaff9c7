//! The API client: one async method per operation of `openapi/openapi.json`, named after its
//! `operationId`, each a thin shell over its row of [`crate::operations`]. The plumbing (URL,
//! bearer token, JSON, problem documents) lives once, in [`Call`].

use std::time::Duration;

use reqwest::header::{HeaderValue, RETRY_AFTER};
use reqwest::{RequestBuilder, Url};
use serde::Serialize;

use crate::error::Error;
use crate::models::*;
use crate::operations::{self as op, Operation};
use crate::pagination::Page;

/// How long a call may take by default, connection included: generous for a batch of a thousand
/// events, short enough that a hung connection does not stall a producer forever.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// At most this much of an unexpected error body is kept in [`Error::UnexpectedResponse`].
const UNEXPECTED_BODY_LIMIT: usize = 1024;

/// A client of one Outhook deployment, authenticated with one bearer token (admin or tenant
/// scoped). Cheap to clone: clones share the connection pool.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// The base URL without a trailing slash, e.g. `https://outhook.internal` or
    /// `http://127.0.0.1:8080/prefix`.
    base_url: String,
    token: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a credential: never in logs.
        formatter.debug_struct("Client").field("base_url", &self.base_url).field("token", &"[redacted]").finish()
    }
}

impl Client {
    /// A client for the deployment at `base_url` (`http://127.0.0.1:8080`), with its own
    /// connection pool and a [`DEFAULT_TIMEOUT`].
    pub fn new(base_url: &str, token: impl Into<String>) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .timeout(DEFAULT_TIMEOUT)
            .user_agent(concat!("outhook-sdk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(Error::HttpClient)?;
        Self::with_http_client(http, base_url, token)
    }

    /// A client sharing an existing `reqwest::Client`: its pool, timeouts, proxy and TLS settings.
    pub fn with_http_client(http: reqwest::Client, base_url: &str, token: impl Into<String>) -> Result<Self, Error> {
        let invalid = || Error::InvalidBaseUrl(base_url.to_owned());
        let parsed = Url::parse(base_url).map_err(|_| invalid())?;
        if !matches!(parsed.scheme(), "http" | "https")
            || parsed.cannot_be_a_base()
            || parsed.query().is_some()
            || parsed.fragment().is_some()
        {
            return Err(invalid());
        }
        let base_url = parsed.as_str().trim_end_matches('/').to_owned();
        Ok(Self { http, base_url, token: token.into() })
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Starts a request for `operation`, its placeholders filled with `params` in order.
    fn call<Q, B, R, const PARAMS: usize>(
        &self,
        operation: &'static Operation<Q, B, R, PARAMS>,
        params: [&str; PARAMS],
    ) -> Call<Q, B, R, PARAMS> {
        let url = format!("{}{}", self.base_url, fill_path(operation.path, &params));
        let request = self.http.request(operation.method.clone(), url).bearer_auth(&self.token);
        Call { operation, request }
    }
}

/// One request being built for one operation; its types come from the operation, so the query
/// and body cannot be of the wrong schema.
struct Call<Q: 'static, B: 'static, R: 'static, const PARAMS: usize> {
    operation: &'static Operation<Q, B, R, PARAMS>,
    request: RequestBuilder,
}

impl<Q: Serialize, B: Serialize, R: Schema, const PARAMS: usize> Call<Q, B, R, PARAMS> {
    fn query(mut self, query: &Q) -> Self {
        self.request = self.request.query(query);
        self
    }

    fn body(mut self, body: &B) -> Self {
        self.request = self.request.json(body);
        self
    }

    fn header(mut self, name: &'static str, value: HeaderValue) -> Self {
        self.request = self.request.header(name, value);
        self
    }

    /// Sends the request; a 2xx body is decoded as the operation's response, anything else
    /// becomes an [`Error`] carrying the problem document.
    async fn send(self) -> Result<R, Error> {
        let operation = self.operation.id;
        let transport = |source| Error::Transport { operation, source };
        let response = self.request.send().await.map_err(transport)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse().ok())
            .map(Duration::from_secs);
        let body = response.bytes().await.map_err(transport)?;
        if status.is_success() {
            return R::decode(&body).map_err(|source| Error::Decode { operation, source });
        }
        match serde_json::from_slice::<Problem>(&body) {
            Ok(problem) => Err(Error::Api { operation, problem: Box::new(problem), retry_after }),
            Err(_) => {
                let start = &body[..body.len().min(UNEXPECTED_BODY_LIMIT)];
                let body = String::from_utf8_lossy(start).into_owned();
                Err(Error::UnexpectedResponse { operation, status: status.as_u16(), body })
            }
        }
    }
}

/// `template` with each `{name}` replaced by the next of `params`, percent-encoded as a path
/// segment (so an id can never add a segment or a query).
fn fill_path(template: &str, params: &[&str]) -> String {
    let mut path = String::with_capacity(template.len() + 32);
    let mut params = params.iter();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        path.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |close| open + close + 1);
        if let Some(param) = params.next() {
            encode_segment(&mut path, param);
        }
        rest = &rest[close..];
    }
    path.push_str(rest);
    path
}

/// Appends `value` percent-encoded as one path segment: RFC 3986 `pchar`s stay, the rest (`/`,
/// `?`, `#`, `%`, spaces, non-ASCII) is encoded.
fn encode_segment(path: &mut String, value: &str) {
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&byte) {
            path.push(char::from(byte));
        } else {
            path.push_str(&format!("%{byte:02X}"));
        }
    }
}

// The methods, one per operation, in the order of `operations.rs`.
impl Client {
    /// Liveness probe (no token needed).
    pub async fn health(&self) -> Result<HealthOut, Error> {
        self.call(&op::HEALTH, []).send().await
    }

    /// Readiness probe: the database is reachable and migrated (503 otherwise).
    pub async fn ready(&self) -> Result<HealthOut, Error> {
        self.call(&op::READY, []).send().await
    }

    /// Every API version, oldest first.
    pub async fn list_api_versions(&self) -> Result<ApiVersionListOut, Error> {
        self.call(&op::LIST_API_VERSIONS, []).send().await
    }

    /// Adds a version, which becomes the newest (admin).
    pub async fn create_api_version(&self, version: &CreateApiVersion) -> Result<ApiVersionOut, Error> {
        self.call(&op::CREATE_API_VERSION, []).body(version).send().await
    }

    /// Removes a version no endpoint is pinned to (admin).
    pub async fn delete_api_version(&self, version: &str) -> Result<(), Error> {
        self.call(&op::DELETE_API_VERSION, [version]).send().await
    }

    /// The deployment's audit log, newest first (admin).
    pub async fn list_audit_log(&self, query: &AuditLogQuery) -> Result<Page<AuditEntryOut>, Error> {
        self.call(&op::LIST_AUDIT_LOG, []).query(query).send().await
    }

    /// One tenant's audit log, newest first.
    pub async fn list_tenant_audit_log(
        &self,
        tenant: &str,
        query: &AuditLogQuery,
    ) -> Result<Page<AuditEntryOut>, Error> {
        self.call(&op::LIST_TENANT_AUDIT_LOG, [tenant]).query(query).send().await
    }

    /// Event types, by name.
    pub async fn list_event_types(&self, query: &EventTypeQuery) -> Result<Page<EventTypeOut>, Error> {
        self.call(&op::LIST_EVENT_TYPES, []).query(query).send().await
    }

    /// Declares an event type (admin).
    pub async fn create_event_type(&self, event_type: &CreateEventType) -> Result<EventTypeOut, Error> {
        self.call(&op::CREATE_EVENT_TYPE, []).body(event_type).send().await
    }

    /// One event type.
    pub async fn get_event_type(&self, name: &str) -> Result<EventTypeOut, Error> {
        self.call(&op::GET_EVENT_TYPE, [name]).send().await
    }

    /// Archives an event type: no new events, still visible; returns it (admin).
    pub async fn archive_event_type(&self, name: &str) -> Result<EventTypeOut, Error> {
        self.call(&op::ARCHIVE_EVENT_TYPE, [name]).send().await
    }

    /// Changes an event type's description, or restores it (admin).
    pub async fn update_event_type(&self, name: &str, update: &UpdateEventType) -> Result<EventTypeOut, Error> {
        self.call(&op::UPDATE_EVENT_TYPE, [name]).body(update).send().await
    }

    /// An event type's definitions per API version, oldest first.
    pub async fn list_event_type_versions(&self, name: &str) -> Result<EventTypeVersionListOut, Error> {
        self.call(&op::LIST_EVENT_TYPE_VERSIONS, [name]).send().await
    }

    /// Sets an event type's schema and downgrade transform in one version (admin).
    pub async fn put_event_type_version(
        &self,
        name: &str,
        version: &str,
        definition: &PutEventTypeVersion,
    ) -> Result<EventTypeVersionOut, Error> {
        self.call(&op::PUT_EVENT_TYPE_VERSION, [name, version]).body(definition).send().await
    }

    /// Tenants, newest first (admin).
    pub async fn list_tenants(&self, query: &ListQuery) -> Result<Page<TenantOut>, Error> {
        self.call(&op::LIST_TENANTS, []).query(query).send().await
    }

    /// Adds a tenant (admin).
    pub async fn create_tenant(&self, tenant: &CreateTenant) -> Result<TenantOut, Error> {
        self.call(&op::CREATE_TENANT, []).body(tenant).send().await
    }

    /// One tenant, by id (`ten_…`) or uid.
    pub async fn get_tenant(&self, tenant: &str) -> Result<TenantOut, Error> {
        self.call(&op::GET_TENANT, [tenant]).send().await
    }

    /// Deletes a tenant and everything it owns (admin).
    pub async fn delete_tenant(&self, tenant: &str) -> Result<(), Error> {
        self.call(&op::DELETE_TENANT, [tenant]).send().await
    }

    /// Changes a tenant's uid, name or ingest limit (admin).
    pub async fn update_tenant(&self, tenant: &str, update: &UpdateTenant) -> Result<TenantOut, Error> {
        self.call(&op::UPDATE_TENANT, [tenant]).body(update).send().await
    }

    /// A tenant's attempts, newest first, filtered.
    pub async fn list_attempts(&self, tenant: &str, query: &AttemptQuery) -> Result<Page<AttemptOut>, Error> {
        self.call(&op::LIST_ATTEMPTS, [tenant]).query(query).send().await
    }

    /// One attempt, with the request sent and the response received.
    pub async fn get_attempt(&self, tenant: &str, attempt: &str) -> Result<AttemptOut, Error> {
        self.call(&op::GET_ATTEMPT, [tenant, attempt]).send().await
    }

    /// A tenant's deliveries, newest first, filtered.
    pub async fn list_deliveries(&self, tenant: &str, query: &DeliveryQuery) -> Result<Page<DeliveryOut>, Error> {
        self.call(&op::LIST_DELIVERIES, [tenant]).query(query).send().await
    }

    /// One delivery.
    pub async fn get_delivery(&self, tenant: &str, delivery: &str) -> Result<DeliveryOut, Error> {
        self.call(&op::GET_DELIVERY, [tenant, delivery]).send().await
    }

    /// A delivery's attempts, newest first.
    pub async fn list_delivery_attempts(
        &self,
        tenant: &str,
        delivery: &str,
        query: &ListQuery,
    ) -> Result<Page<AttemptOut>, Error> {
        self.call(&op::LIST_DELIVERY_ATTEMPTS, [tenant, delivery]).query(query).send().await
    }

    /// Sends a delivery again now, whatever its state.
    pub async fn retry_delivery(&self, tenant: &str, delivery: &str) -> Result<DeliveryOut, Error> {
        self.call(&op::RETRY_DELIVERY, [tenant, delivery]).send().await
    }

    /// A tenant's endpoints, newest first.
    pub async fn list_endpoints(&self, tenant: &str, query: &ListQuery) -> Result<Page<EndpointOut>, Error> {
        self.call(&op::LIST_ENDPOINTS, [tenant]).query(query).send().await
    }

    /// Adds an endpoint to a tenant; its secret is generated unless given.
    pub async fn create_endpoint(&self, tenant: &str, endpoint: &CreateEndpoint) -> Result<EndpointOut, Error> {
        self.call(&op::CREATE_ENDPOINT, [tenant]).body(endpoint).send().await
    }

    /// One endpoint.
    pub async fn get_endpoint(&self, tenant: &str, endpoint: &str) -> Result<EndpointOut, Error> {
        self.call(&op::GET_ENDPOINT, [tenant, endpoint]).send().await
    }

    /// Deletes an endpoint; its pending deliveries are cancelled.
    pub async fn delete_endpoint(&self, tenant: &str, endpoint: &str) -> Result<(), Error> {
        self.call(&op::DELETE_ENDPOINT, [tenant, endpoint]).send().await
    }

    /// Changes an endpoint; `None` fields stay as they are.
    pub async fn update_endpoint(
        &self,
        tenant: &str,
        endpoint: &str,
        update: &UpdateEndpoint,
    ) -> Result<EndpointOut, Error> {
        self.call(&op::UPDATE_ENDPOINT, [tenant, endpoint]).body(update).send().await
    }

    /// Requeues an endpoint's failed and exhausted deliveries in a window, in the background.
    pub async fn recover_endpoint(
        &self,
        tenant: &str,
        endpoint: &str,
        recovery: &RecoverEndpoint,
    ) -> Result<RecoveryOut, Error> {
        self.call(&op::RECOVER_ENDPOINT, [tenant, endpoint]).body(recovery).send().await
    }

    /// An endpoint's signing secrets: the one to give the subscriber, and rotated-out ones still
    /// signing.
    pub async fn get_endpoint_secret(&self, tenant: &str, endpoint: &str) -> Result<EndpointSecretOut, Error> {
        self.call(&op::GET_ENDPOINT_SECRET, [tenant, endpoint]).send().await
    }

    /// Replaces an endpoint's secret; the old one keeps signing through the grace period.
    pub async fn rotate_endpoint_secret(
        &self,
        tenant: &str,
        endpoint: &str,
        rotation: &RotateSecret,
    ) -> Result<EndpointSecretOut, Error> {
        self.call(&op::ROTATE_ENDPOINT_SECRET, [tenant, endpoint]).body(rotation).send().await
    }

    /// An endpoint's deliveries by status in a window, success rate and health.
    pub async fn get_endpoint_stats(
        &self,
        tenant: &str,
        endpoint: &str,
        query: &StatsQuery,
    ) -> Result<EndpointStatsOut, Error> {
        self.call(&op::GET_ENDPOINT_STATS, [tenant, endpoint]).query(query).send().await
    }

    /// A tenant's events, newest first, with their deliveries counted by status.
    pub async fn list_events(&self, tenant: &str, query: &EventQuery) -> Result<Page<EventWithDeliveriesOut>, Error> {
        self.call(&op::LIST_EVENTS, [tenant]).query(query).send().await
    }

    /// Submits an event, acknowledged once stored with its deliveries. With an
    /// `idempotency_key`, sending it again (after a timeout, say) returns the original event
    /// (`replayed: Some(true)`) instead of a duplicate, so retrying is always safe.
    pub async fn create_event(
        &self,
        tenant: &str,
        event: &CreateEvent,
        idempotency_key: Option<&str>,
    ) -> Result<EventOut, Error> {
        let call = self.call(&op::CREATE_EVENT, [tenant]);
        let call = match idempotency_key.map(|key| (key, HeaderValue::from_str(key))) {
            None => call.body(event),
            Some((_, Ok(value))) => call.header(op::IDEMPOTENCY_KEY, value).body(event),
            // A key that cannot be a header value goes in the body instead, where the server
            // validates it like any other field.
            Some((key, Err(_))) => call.body(&CreateEvent { idempotency_key: Some(key.to_owned()), ..event.clone() }),
        };
        call.send().await
    }

    /// Submits up to 1,000 events in one transaction: all stored, or none. Idempotency keys go
    /// in each event's `idempotency_key`.
    pub async fn create_event_batch(&self, tenant: &str, batch: &CreateEventBatch) -> Result<EventBatchOut, Error> {
        self.call(&op::CREATE_EVENT_BATCH, [tenant]).body(batch).send().await
    }

    /// One event, with its deliveries counted by status.
    pub async fn get_event(&self, tenant: &str, event: &str) -> Result<EventWithDeliveriesOut, Error> {
        self.call(&op::GET_EVENT, [tenant, event]).send().await
    }

    /// An event's deliveries, one per endpoint it fanned out to.
    pub async fn list_event_deliveries(
        &self,
        tenant: &str,
        event: &str,
        query: &ListQuery,
    ) -> Result<Page<DeliveryOut>, Error> {
        self.call(&op::LIST_EVENT_DELIVERIES, [tenant, event]).query(query).send().await
    }

    /// API tokens, without their values (admin).
    pub async fn list_tokens(&self, query: &ListQuery) -> Result<Page<TokenOut>, Error> {
        self.call(&op::LIST_TOKENS, []).query(query).send().await
    }

    /// Creates a token, admin or scoped to one tenant; its value is shown only in this answer.
    pub async fn create_token(&self, token: &CreateToken) -> Result<CreatedTokenOut, Error> {
        self.call(&op::CREATE_TOKEN, []).body(token).send().await
    }

    /// Revokes a token by id (`tok_…`) (admin).
    pub async fn revoke_token(&self, token: &str) -> Result<(), Error> {
        self.call(&op::REVOKE_TOKEN, [token]).send().await
    }

    /// The calling token's id and scope, and for a tenant token its tenant.
    pub async fn get_whoami(&self) -> Result<WhoamiOut, Error> {
        self.call(&op::GET_WHOAMI, []).send().await
    }

    /// Mints a short-lived console link for one tenant (admin): a tenant-scoped token in the URL's
    /// fragment, for the vendor to hand to its customer.
    pub async fn create_portal_link(&self, tenant: &str, link: &CreatePortalLink) -> Result<PortalLinkOut, Error> {
        self.call(&op::CREATE_PORTAL_LINK, [tenant]).body(link).send().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_are_encoded_as_single_segments() {
        assert_eq!(
            fill_path("/v1/tenants/{tenant}/endpoints/{endpoint}", &["acme:eu", "ep_1"]),
            "/v1/tenants/acme:eu/endpoints/ep_1"
        );
        assert_eq!(fill_path("/v1/tenants/{tenant}", &["../tokens?x=1#y z"]), "/v1/tenants/..%2Ftokens%3Fx=1%23y%20z");
        assert_eq!(fill_path("/v1/event-types/{name}", &["é"]), "/v1/event-types/%C3%A9");
        assert_eq!(fill_path("/health", &[]), "/health");
    }

    #[test]
    fn the_base_url_must_be_an_absolute_http_url_and_loses_its_trailing_slash() {
        let client = Client::new("http://127.0.0.1:8080/", "oht_x").unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:8080");
        let prefixed = Client::new("https://example.test/outhook/", "oht_x").unwrap();
        assert_eq!(prefixed.base_url(), "https://example.test/outhook");
        for invalid in ["127.0.0.1:8080", "ftp://example.test", "http://example.test/?a=1", "mailto:ops@example.test"] {
            assert!(matches!(Client::new(invalid, "oht_x"), Err(Error::InvalidBaseUrl(_))), "{invalid}");
        }
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let client = Client::new("http://127.0.0.1:8080", "oht_secret_value").unwrap();
        assert!(!format!("{client:?}").contains("oht_secret_value"));
    }
}
