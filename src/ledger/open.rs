//! STUB (replaced by the store branch): picks the ledger backend from the config.
use super::{memory::MemoryLedger, LedgerError, LedgerStore};
use crate::config::schema::LedgerConfig;
use std::path::Path;
use std::sync::Arc;
pub async fn open(_cfg: &LedgerConfig, _path: &Path) -> Result<Arc<dyn LedgerStore>, LedgerError> {
    Ok(Arc::new(MemoryLedger::new()))
}
