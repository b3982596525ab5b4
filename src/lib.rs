//! genops-gateway: an LLM gateway on pingora that governs, meters, prices and traces every call.

pub mod admin;
pub mod config;
pub mod error;
pub mod governance;
pub mod ledger;
pub mod metering;
pub mod pricing;
pub mod provider;
pub mod proxy;
pub mod record;
pub mod telemetry;
