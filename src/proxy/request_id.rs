//! Request ids: unique, sortable by time, cheap to make.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// `req_<ms since epoch, hex><process-random, hex><sequence, hex>`.
pub fn new_id() -> String {
    static PROCESS_TAG: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let tag = *PROCESS_TAG.get_or_init(rand::random::<u32>);
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    format!("req_{ms:011x}{tag:08x}{seq:08x}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_unique() {
        let a = super::new_id();
        let b = super::new_id();
        assert_ne!(a, b);
        assert!(a.starts_with("req_"));
    }
}
