//! The delivery engine: workers claim due deliveries, render and sign the webhook, send it through
//! the SSRF guard, and record every attempt. **`delivery` never touches actix types.**

pub mod maintenance;
pub mod render;
pub mod sender;
pub mod signer;
pub mod ssrf;
pub mod worker;
