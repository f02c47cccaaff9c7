//! Error policy.
//!
//! - Each layer has its own closed `thiserror` enum: [`crate::store::StoreError`] for storage,
//!   [`crate::config::ConfigError`] for configuration, [`crate::startup::StartupError`] for wiring.
//! - The HTTP edge has exactly one error type, [`crate::api::errors::ApiError`], which implements
//!   actix's `ResponseError` and renders RFC 9457 `application/problem+json` with a stable `type`.
//!   The status code mapping lives on that type, never in handlers.
//! - An unreachable database is `503` (retry later), never `500`. Internal errors are logged with
//!   their cause and answered with an opaque message: 5xx bodies never leak internals.
//! - `anyhow` appears only in `src/main.rs`.
