//! anthropic wire format.
