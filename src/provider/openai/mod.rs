//! OpenAI wire format (also every OpenAI-compatible server): requests, streams, bodies.

pub mod prompt;
pub mod request;
pub mod stream;
pub mod usage;
