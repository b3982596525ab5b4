//! Anthropic Messages wire format: requests, event streams, bodies.

pub mod prompt;
pub mod request;
pub mod stream;
