//! Types and rules with no I/O: identifiers, names, URLs, secrets, tokens and validation. Request
//! bodies are parsed into these at the HTTP edge; below that, invalid states cannot be represented.

pub mod admission;
pub mod clock;
pub mod delivery;
pub mod endpoint;
pub mod envelope;
pub mod event;
pub mod health;
pub mod ids;
pub mod limits;
pub mod names;
pub mod operations;
pub mod retry;
pub mod secret;
pub mod throttle;
pub mod token;
pub mod validation;
pub mod versions;
