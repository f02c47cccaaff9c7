//! Outhook: an outbound webhook delivery platform. The binary (`src/main.rs`) only parses the
//! command line; everything else lives here so tests build exactly the application that ships.

pub mod api;
pub mod bench;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod startup;
pub mod store;
pub mod telemetry;
