//! Gemini `generateContent` wire format: requests, SSE and JSON-array streams, bodies.

pub mod prompt;
pub mod request;
pub mod stream;
