//! The integration suite: one binary (fast to link on small machines), one module per resource.
//! Every `conformance!` test runs against both SQLite and PostgreSQL.

#[path = "../common/mod.rs"]
#[macro_use]
mod common;

mod auth;
mod bench;
mod console;
mod delivery;
mod endpoints;
mod event_types;
mod events;
mod fairness;
mod health;
mod limits;
mod logs;
mod observability;
mod openapi;
mod operations;
mod portal;
mod processes;
mod sdk;
mod storage;
mod tenants;
mod tokens;
mod versions;
