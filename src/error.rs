//! Errors the gateway itself answers with, in the caller's provider format.
