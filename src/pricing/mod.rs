//! Model prices: the catalog files, name resolution, and exact integer cost arithmetic.

mod catalog;
mod file;
pub mod money;
pub mod resolve;
mod row;

pub use catalog::Catalog;
pub use money::{parse_usd, MoneyError};
pub use row::PriceRow;

#[cfg(test)]
mod tests;
