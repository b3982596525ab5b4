//! Who is calling and what they may do: keys, context, policies, budgets, rate limits.

pub mod context;
pub mod detectors;
pub mod policy;
pub mod scope;
