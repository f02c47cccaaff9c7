//! Outhook's Rust SDK, for both ends of a webhook.
//!
//! - Vendors (the backend that sends events): [`Client`], a typed async client of the Outhook
//!   API with one method per operation of `openapi/openapi.json`, named after its `operationId`,
//!   and typed errors carrying Outhook's RFC 9457 problem documents ([`Error::Api`]).
//! - Subscribers (who receive webhooks): [`webhooks::Webhook`], which verifies the Standard
//!   Webhooks signature and timestamp of a request against one or more `whsec_` secrets.
//!
//! The verifier needs no HTTP client: subscribers can depend on this crate with
//! `default-features = false` to leave the client (and `reqwest`) out.
//!
//! ```no_run
//! # async fn example() -> Result<(), outhook_sdk::Error> {
//! use outhook_sdk::Client;
//! use outhook_sdk::models::CreateEvent;
//! use serde_json::json;
//!
//! let client = Client::new("http://127.0.0.1:8080", "oht_…")?;
//! let event = CreateEvent::new("invoice.paid", json!({"invoice": "in_123", "amount": 4200}));
//! let accepted = client.create_event("customer-42", &event, Some("invoice-in_123-paid")).await?;
//! println!("stored as {}", accepted.id);
//! # Ok(()) }
//! ```

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
mod error;
#[cfg(feature = "client")]
pub mod models;
#[cfg(feature = "client")]
mod operations;
#[cfg(feature = "client")]
mod pagination;
#[cfg(all(test, feature = "client"))]
mod spec;
pub mod webhooks;

#[cfg(feature = "client")]
pub use client::{Client, DEFAULT_TIMEOUT};
#[cfg(feature = "client")]
pub use error::Error;
#[cfg(feature = "client")]
pub use pagination::{Page, collect_all};
pub use webhooks::{VerifyError, Webhook};
