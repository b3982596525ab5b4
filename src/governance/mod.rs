//! Who is calling and what they may do: keys, context, policies, budgets, rate limits.

pub mod admit;
pub mod budget;
pub mod clock;
pub mod context;
pub mod detectors;
pub mod downgrade;
pub mod keys;
pub mod policy;
pub mod ratelimit;
pub mod scope;
pub mod settle;
