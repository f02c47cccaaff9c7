//! `GET /metrics`: the process's Prometheus metrics in the text exposition format. Like the
//! probes it needs no token and carries no tenant data (labels are bounded); expose it only to
//! your monitoring network. Not part of the OpenAPI document, as is usual for scrape endpoints.

use actix_web::{HttpResponse, web};

use crate::api::AppState;

/// The exposition, with the queue gauges read from the database at scrape time. A database
/// error leaves those gauges at their last value rather than failing the scrape.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let queue = match state.store.queue_stats(state.clock.now()).await {
        Ok(queue) => Some(queue),
        Err(error) => {
            tracing::warn!(%error, "reading queue depths for /metrics failed");
            None
        }
    };
    let body = state.metrics.encode(queue, Some(state.store.pool_status()));
    HttpResponse::Ok().content_type("application/openmetrics-text; version=1.0.0; charset=utf-8").body(body)
}
