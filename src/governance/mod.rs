//! Who is calling and what they may do: keys, context, policies, budgets, rate limits.

pub mod budget;
pub mod clock;
pub mod context;
