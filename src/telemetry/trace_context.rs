//! W3C trace context (`traceparent`) across the queue: the ingest request's context is stored with
//! the event, and each delivery attempt continues that trace, so a webhook's `traceparent` has the
//! trace id of the request that submitted the event.

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Parses a `traceparent` header value (version 00), refusing invalid or all-zero ids.
pub fn parse(header: &str) -> Option<SpanContext> {
    let mut parts = header.trim().split('-');
    let (version, trace_id, span_id, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if version != "00" || parts.next().is_some() || trace_id.len() != 32 || span_id.len() != 16 || flags.len() != 2 {
        return None;
    }
    let trace_id = TraceId::from_hex(trace_id).ok()?;
    let span_id = SpanId::from_hex(span_id).ok()?;
    let flags = TraceFlags::new(u8::from_str_radix(flags, 16).ok()?);
    let context = SpanContext::new(trace_id, span_id, flags, true, TraceState::default());
    context.is_valid().then_some(context)
}

/// Formats a span context as a `traceparent` value.
pub fn format(context: &SpanContext) -> String {
    format!("00-{}-{}-{:02x}", context.trace_id(), context.span_id(), context.trace_flags().to_u8())
}

/// The trace context of the current span (the HTTP request's, which continues a `traceparent`
/// the client sent), as a `traceparent` value to store with the event.
pub fn current() -> Option<String> {
    let context = tracing::Span::current().context();
    let span = context.span();
    let span_context = span.span_context();
    span_context.is_valid().then(|| format(span_context))
}

/// Makes `span` (a delivery attempt) a child of the stored `traceparent` and returns the
/// `traceparent` to send: the same trace, the attempt's span. When spans carry no OpenTelemetry
/// context (no subscriber installed), a fresh span id still continues the stored trace.
pub fn continue_in(span: &tracing::Span, stored: Option<&str>) -> Option<String> {
    let parent = stored.and_then(parse)?;
    let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(parent.clone()));
    let context = span.context();
    let own = context.span().span_context().clone();
    if own.is_valid() && own.trace_id() == parent.trace_id() {
        return Some(format(&own));
    }
    let span_id = SpanId::from_bytes(rand::random::<[u8; 8]>());
    Some(format(&SpanContext::new(parent.trace_id(), span_id, parent.trace_flags(), false, TraceState::default())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_round_trips() {
        let context = parse(HEADER).unwrap();
        assert_eq!(context.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(format(&context), HEADER);
    }

    #[test]
    fn malformed_traceparents_are_ignored() {
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-xyz-00f067aa0ba902b7-01",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn an_attempt_continues_the_stored_trace_with_its_own_span() {
        let span = tracing::info_span!("attempt");
        let sent = continue_in(&span, Some(HEADER)).unwrap();
        let sent = parse(&sent).unwrap();
        assert_eq!(sent.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_ne!(sent.span_id().to_string(), "00f067aa0ba902b7");
        assert!(continue_in(&span, None).is_none());
    }
}
