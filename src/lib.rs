//! genops-gateway: an LLM gateway on pingora that governs, meters, prices and traces every call.

pub mod accounting;
pub mod admin;
pub mod cli;
pub mod config;
pub mod error;
pub mod gateway;
pub mod governance;
pub mod ledger;
pub mod metering;
pub mod pricing;
pub mod provider;
pub mod proxy;
pub mod record;
pub mod reload;
pub mod server;
pub mod startup;
pub mod telemetry;
