//! A subscriber receiving Outhook's webhooks with actix-web: it verifies each request with the
//! SDK's [`Webhook`] (signature under the endpoint's secret, or the previous one during a
//! rotation; timestamp within 5 minutes), processes each `webhook-id` once, and answers `204`.
//!
//! ```sh
//! OUTHOOK_SECRET=whsec_… cargo run -p outhook-sdk --example subscriber
//! ```
//!
//! `OUTHOOK_PREVIOUS_SECRET` adds the old secret while the vendor rotates; `LISTEN` (default
//! `127.0.0.1:8000`) is where it listens. See `vendor.rs` for the sending side.

use std::collections::HashSet;
use std::env;
use std::sync::{Mutex, PoisonError};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use outhook_sdk::webhooks::{VerifyError, Webhook};

/// Large enough for Outhook's biggest payload (256 KiB by default) inside its envelope.
const MAX_BODY_BYTES: usize = 1024 * 1024;

struct Subscriber {
    webhook: Webhook,
    /// The ids processed so far. A real subscriber keeps them in its database, written in the
    /// same transaction as the effect of the webhook (a unique index on the id), and forgets them
    /// after a few days: Outhook retries for about 40 hours at most.
    processed: Mutex<HashSet<String>>,
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let secrets: Vec<String> =
        ["OUTHOOK_SECRET", "OUTHOOK_PREVIOUS_SECRET"].into_iter().filter_map(|name| env::var(name).ok()).collect();
    let webhook = match Webhook::with_secrets(&secrets) {
        Ok(webhook) => webhook,
        Err(VerifyError::InvalidSecret) if secrets.is_empty() => {
            eprintln!("set OUTHOOK_SECRET to the endpoint's whsec_ secret (the vendor example prints it)");
            return Ok(());
        }
        Err(error) => {
            eprintln!("{error}");
            return Ok(());
        }
    };
    let listen = env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:8000".to_owned());
    let state = web::Data::new(Subscriber { webhook, processed: Mutex::new(HashSet::new()) });
    println!("listening on http://{listen}/webhooks");
    HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .route("/webhooks", web::post().to(receive))
    })
    .bind(listen)?
    .run()
    .await
}

/// One webhook: verify the raw body, then process it unless its id was processed before.
async fn receive(request: HttpRequest, body: web::Bytes, subscriber: web::Data<Subscriber>) -> HttpResponse {
    let headers = |name: &str| request.headers().get(name).and_then(|value| value.to_str().ok());
    let verified = match subscriber.webhook.verify(headers, &body) {
        Ok(verified) => verified,
        Err(error) => {
            // Not from Outhook, altered, or replayed: never act on it.
            eprintln!("rejected a webhook: {error}");
            return HttpResponse::BadRequest().body(error.to_string());
        }
    };
    let mut processed = subscriber.processed.lock().unwrap_or_else(PoisonError::into_inner);
    if processed.contains(&verified.id) {
        // A retry of a webhook handled already (our earlier answer was lost): acknowledge it again.
        println!("{}: duplicate, ignored", verified.id);
        return HttpResponse::NoContent().finish();
    }
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(event) => println!("{}: {} {}", verified.id, event["type"], event["data"]),
        Err(error) => {
            eprintln!("{}: signed but not JSON: {error}", verified.id);
            return HttpResponse::BadRequest().finish();
        }
    }
    processed.insert(verified.id);
    HttpResponse::NoContent().finish()
}
