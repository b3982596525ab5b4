//! gemini wire format.
