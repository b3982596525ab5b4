//! Incremental scanning of a streamed completion, with a bounded overlap between windows.
//!
//! Deltas are buffered and scanned in windows of at least `SCAN_CHUNK` new bytes, each window
//! prefixed with the last `OVERLAP` bytes already scanned. A match up to `OVERLAP` bytes long
//! that straddles delta boundaries is therefore seen whole, and each byte is scanned about
//! (OVERLAP + SCAN_CHUNK) / SCAN_CHUNK times instead of once per delta. Call [`finish`] at the
//! end of the stream to scan what is still buffered.
//!
//! [`finish`]: StreamScanner::finish

use std::sync::Arc;

use super::DetectorSet;

/// Longest match guaranteed to be caught across deltas (PEM headers, keys, most JWTs).
pub const OVERLAP: usize = 1024;
/// New bytes gathered before a scan; small deltas (a few characters each) are batched.
pub const SCAN_CHUNK: usize = 256;

/// Scans a completion as it streams. Holds at most `OVERLAP + SCAN_CHUNK` bytes plus one delta.
#[derive(Debug)]
pub struct StreamScanner {
    set: Arc<DetectorSet>,
    /// Already-scanned tail followed by not-yet-scanned text.
    window: String,
    /// Where the not-yet-scanned part of `window` starts.
    pending_from: usize,
}

impl StreamScanner {
    pub fn new(set: Arc<DetectorSet>) -> Self {
        StreamScanner {
            set,
            window: String::with_capacity(OVERLAP + 2 * SCAN_CHUNK),
            pending_from: 0,
        }
    }

    /// Feeds one delta; scans when enough new text has gathered. New finding names are appended.
    pub fn push(&mut self, delta: &str, findings: &mut Vec<String>) {
        if self.set.is_empty() {
            return;
        }
        self.window.push_str(delta);
        if self.window.len() - self.pending_from >= SCAN_CHUNK {
            self.scan_pending(findings);
        }
    }

    /// Scans whatever is still buffered (end of stream, or before a decision that cannot wait).
    pub fn finish(&mut self, findings: &mut Vec<String>) {
        if self.window.len() > self.pending_from {
            self.scan_pending(findings);
        }
    }

    /// Bytes currently held (overlap plus unscanned text).
    pub fn buffered_len(&self) -> usize {
        self.window.len()
    }

    fn scan_pending(&mut self, findings: &mut Vec<String>) {
        self.set.scan(&self.window, findings);
        self.keep_tail();
    }

    /// Keeps the last `OVERLAP` bytes, starting after a whitespace when one is near the cut so
    /// the next window does not begin in the middle of a token.
    fn keep_tail(&mut self) {
        let len = self.window.len();
        if len <= OVERLAP {
            self.pending_from = len;
            return;
        }
        let mut cut = len - OVERLAP;
        while !self.window.is_char_boundary(cut) {
            cut += 1;
        }
        if let Some(ws) = self.window[cut..].find(|c: char| c.is_whitespace()) {
            // Only when it costs a small part of the overlap.
            if ws < OVERLAP / 4 {
                cut += ws;
            }
        }
        self.window.drain(..cut);
        self.pending_from = self.window.len();
    }
}
