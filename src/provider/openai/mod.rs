//! openai wire format.
