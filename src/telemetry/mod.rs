//! Logs, traces and metrics. `RUST_LOG` chooses what is logged (default `info`), as text or JSON
//! (`telemetry.log_format`). Spans are exported with OpenTelemetry (OTLP over HTTP) when the
//! standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_ENDPOINT`) variable is set. The W3C trace
//! context of the ingest request is stored with each event and carried on by every webhook (see
//! [`trace_context`]).

pub mod metrics;
pub mod trace_context;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde::{Deserialize, Serialize};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log pipelines.
    Json,
}

/// Flushes exported spans when dropped (at the end of `main`).
pub struct TelemetryGuard(Option<SdkTracerProvider>);

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take() {
            let _ = provider.shutdown();
        }
    }
}

fn otlp_configured() -> bool {
    ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|value| !value.is_empty()))
}

/// The tracer provider exporting over OTLP/HTTP (endpoint, headers and batching come from the
/// standard `OTEL_*` variables), when an endpoint is configured.
fn otlp_provider() -> Option<SdkTracerProvider> {
    if !otlp_configured() {
        return None;
    }
    match opentelemetry_otlp::SpanExporter::builder().with_http().build() {
        Ok(exporter) => Some(SdkTracerProvider::builder().with_batch_exporter(exporter).build()),
        Err(error) => {
            eprintln!("OpenTelemetry export disabled: {error}");
            None
        }
    }
}

/// Installs the global subscriber and the W3C trace-context propagator. Logs follow `RUST_LOG`;
/// when OTLP export is configured, `info` spans and above are exported whatever `RUST_LOG` says.
/// Without it no OpenTelemetry layer runs (no per-span cost), and trace context still flows from
/// a client's `traceparent` to the webhooks. Safe to call twice; only the first call takes effect.
pub fn init(format: LogFormat) -> TelemetryGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
    let provider = otlp_provider();
    let otel = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer().with_tracer(provider.tracer("outhook")).with_filter(LevelFilter::INFO)
    });
    let logs = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_filter(filter).boxed(),
        LogFormat::Json => {
            tracing_subscriber::fmt::layer().json().with_writer(std::io::stderr).with_filter(filter).boxed()
        }
    };
    let installed = tracing_subscriber::registry().with(logs).with(otel).try_init();
    TelemetryGuard(if installed.is_ok() { provider } else { None })
}
