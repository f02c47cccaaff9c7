//! The table of every API operation the client implements: `operationId`, HTTP method, path
//! template, and the Rust types of its query, request body and response.
//!
//! Client methods build their requests from these statics only, and the types make the compiler
//! hold each method to its row (including the number of path parameters). The spec tests compare
//! the whole table with `openapi/openapi.json` (same operations, methods, paths, query parameters
//! and schemas), and the dead-code lint (denied in CI) fails on a row no method uses: together,
//! the client covers exactly the spec.

use std::marker::PhantomData;

use reqwest::Method;

use crate::models::*;
use crate::pagination::Page;

/// One operation of the spec. `PARAMS` is the number of `{…}` placeholders in `path`, so a
/// method cannot pass too few or too many path parameters.
pub(crate) struct Operation<Query, Body, Response, const PARAMS: usize> {
    /// The spec's `operationId`, also the client method's name.
    pub(crate) id: &'static str,
    pub(crate) method: Method,
    /// The path template, placeholders in braces: `/v1/tenants/{tenant}`.
    pub(crate) path: &'static str,
    types: PhantomData<fn(Query, Body) -> Response>,
}

const fn placeholders(path: &str) -> usize {
    let bytes = path.as_bytes();
    let (mut index, mut count) = (0, 0);
    while index < bytes.len() {
        if bytes[index] == b'{' {
            count += 1;
        }
        index += 1;
    }
    count
}

/// Declares each operation as a static, and (for the spec tests) the list of them all, so the
/// list cannot miss one.
macro_rules! operations {
    ($($name:ident $id:literal: $method:ident $path:literal, query $query:ty, body $body:ty => $response:ty;)*) => {
        $(
            pub(crate) static $name: Operation<$query, $body, $response, { placeholders($path) }> =
                Operation { id: $id, method: Method::$method, path: $path, types: PhantomData };
        )*

        /// Every operation of the table, for comparing with the spec.
        #[cfg(test)]
        pub(crate) fn all() -> Vec<crate::spec::OperationInfo> {
            vec![$(crate::spec::OperationInfo::of(&$name)),*]
        }
    };
}

operations! {
    // Probes
    HEALTH "health": GET "/health", query (), body () => HealthOut;
    READY "ready": GET "/ready", query (), body () => HealthOut;
    // API versions
    LIST_API_VERSIONS "list_api_versions": GET "/v1/api-versions", query (), body () => ApiVersionListOut;
    CREATE_API_VERSION "create_api_version": POST "/v1/api-versions", query (), body CreateApiVersion => ApiVersionOut;
    DELETE_API_VERSION "delete_api_version": DELETE "/v1/api-versions/{version}", query (), body () => ();
    // Audit log
    LIST_AUDIT_LOG "list_audit_log": GET "/v1/audit-log", query AuditLogQuery, body () => Page<AuditEntryOut>;
    LIST_TENANT_AUDIT_LOG "list_tenant_audit_log": GET "/v1/tenants/{tenant}/audit-log", query AuditLogQuery, body () => Page<AuditEntryOut>;
    // Event types and their versions
    LIST_EVENT_TYPES "list_event_types": GET "/v1/event-types", query EventTypeQuery, body () => Page<EventTypeOut>;
    CREATE_EVENT_TYPE "create_event_type": POST "/v1/event-types", query (), body CreateEventType => EventTypeOut;
    GET_EVENT_TYPE "get_event_type": GET "/v1/event-types/{name}", query (), body () => EventTypeOut;
    ARCHIVE_EVENT_TYPE "archive_event_type": DELETE "/v1/event-types/{name}", query (), body () => EventTypeOut;
    UPDATE_EVENT_TYPE "update_event_type": PATCH "/v1/event-types/{name}", query (), body UpdateEventType => EventTypeOut;
    LIST_EVENT_TYPE_VERSIONS "list_event_type_versions": GET "/v1/event-types/{name}/versions", query (), body () => EventTypeVersionListOut;
    PUT_EVENT_TYPE_VERSION "put_event_type_version": PUT "/v1/event-types/{name}/versions/{version}", query (), body PutEventTypeVersion => EventTypeVersionOut;
    // Tenants
    LIST_TENANTS "list_tenants": GET "/v1/tenants", query ListQuery, body () => Page<TenantOut>;
    CREATE_TENANT "create_tenant": POST "/v1/tenants", query (), body CreateTenant => TenantOut;
    GET_TENANT "get_tenant": GET "/v1/tenants/{tenant}", query (), body () => TenantOut;
    DELETE_TENANT "delete_tenant": DELETE "/v1/tenants/{tenant}", query (), body () => ();
    UPDATE_TENANT "update_tenant": PATCH "/v1/tenants/{tenant}", query (), body UpdateTenant => TenantOut;
    // Attempts
    LIST_ATTEMPTS "list_attempts": GET "/v1/tenants/{tenant}/attempts", query AttemptQuery, body () => Page<AttemptOut>;
    GET_ATTEMPT "get_attempt": GET "/v1/tenants/{tenant}/attempts/{attempt}", query (), body () => AttemptOut;
    // Deliveries
    LIST_DELIVERIES "list_deliveries": GET "/v1/tenants/{tenant}/deliveries", query DeliveryQuery, body () => Page<DeliveryOut>;
    GET_DELIVERY "get_delivery": GET "/v1/tenants/{tenant}/deliveries/{delivery}", query (), body () => DeliveryOut;
    LIST_DELIVERY_ATTEMPTS "list_delivery_attempts": GET "/v1/tenants/{tenant}/deliveries/{delivery}/attempts", query ListQuery, body () => Page<AttemptOut>;
    RETRY_DELIVERY "retry_delivery": POST "/v1/tenants/{tenant}/deliveries/{delivery}/retry", query (), body () => DeliveryOut;
    // Endpoints and their secrets
    LIST_ENDPOINTS "list_endpoints": GET "/v1/tenants/{tenant}/endpoints", query ListQuery, body () => Page<EndpointOut>;
    CREATE_ENDPOINT "create_endpoint": POST "/v1/tenants/{tenant}/endpoints", query (), body CreateEndpoint => EndpointOut;
    GET_ENDPOINT "get_endpoint": GET "/v1/tenants/{tenant}/endpoints/{endpoint}", query (), body () => EndpointOut;
    DELETE_ENDPOINT "delete_endpoint": DELETE "/v1/tenants/{tenant}/endpoints/{endpoint}", query (), body () => ();
    UPDATE_ENDPOINT "update_endpoint": PATCH "/v1/tenants/{tenant}/endpoints/{endpoint}", query (), body UpdateEndpoint => EndpointOut;
    RECOVER_ENDPOINT "recover_endpoint": POST "/v1/tenants/{tenant}/endpoints/{endpoint}/recover", query (), body RecoverEndpoint => RecoveryOut;
    GET_ENDPOINT_SECRET "get_endpoint_secret": GET "/v1/tenants/{tenant}/endpoints/{endpoint}/secret", query (), body () => EndpointSecretOut;
    ROTATE_ENDPOINT_SECRET "rotate_endpoint_secret": POST "/v1/tenants/{tenant}/endpoints/{endpoint}/secret/rotate", query (), body RotateSecret => EndpointSecretOut;
    GET_ENDPOINT_STATS "get_endpoint_stats": GET "/v1/tenants/{tenant}/endpoints/{endpoint}/stats", query StatsQuery, body () => EndpointStatsOut;
    // Events
    LIST_EVENTS "list_events": GET "/v1/tenants/{tenant}/events", query EventQuery, body () => Page<EventWithDeliveriesOut>;
    CREATE_EVENT "create_event": POST "/v1/tenants/{tenant}/events", query (), body CreateEvent => EventOut;
    CREATE_EVENT_BATCH "create_event_batch": POST "/v1/tenants/{tenant}/events/batch", query (), body CreateEventBatch => EventBatchOut;
    GET_EVENT "get_event": GET "/v1/tenants/{tenant}/events/{event}", query (), body () => EventWithDeliveriesOut;
    LIST_EVENT_DELIVERIES "list_event_deliveries": GET "/v1/tenants/{tenant}/events/{event}/deliveries", query ListQuery, body () => Page<DeliveryOut>;
    // Tokens
    LIST_TOKENS "list_tokens": GET "/v1/tokens", query ListQuery, body () => Page<TokenOut>;
    CREATE_TOKEN "create_token": POST "/v1/tokens", query (), body CreateToken => CreatedTokenOut;
    REVOKE_TOKEN "revoke_token": DELETE "/v1/tokens/{token}", query (), body () => ();
    GET_WHOAMI "get_whoami": GET "/v1/whoami", query (), body () => WhoamiOut;
    // Console portal links
    CREATE_PORTAL_LINK "create_portal_link": POST "/v1/tenants/{tenant}/portal-links", query (), body CreatePortalLink => PortalLinkOut;
}

/// The header `create_event` takes its idempotency key from.
pub(crate) const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
