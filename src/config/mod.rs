//! Configuration: the YAML file (or the embedded default), parsed, expanded and validated.

pub mod schema;

pub use schema::*;
