//! Incremental server-sent-events framer: survives any chunk split, allocates nothing per event.
//!
//! Follows the WHATWG event-stream rules: lines end in CRLF, LF or CR; `:` starts a comment;
//! `data:` lines of one event are joined with `\n`; a blank line dispatches the event; a block
//! without `data` dispatches nothing. Offsets are absolute stream positions so a caller holding
//! the raw bytes can drop or edit whole events (see `ResponseMeter`).

use memchr::memchr2;

/// One dispatched event. `data` borrows the framer's reused buffer.
#[derive(Debug)]
pub struct SseEvent<'a> {
    /// The `event:` field; empty for the default `message` type.
    pub name: &'a [u8],
    pub data: &'a [u8],
    /// Absolute offset of the event's first byte (just after the previous blank line).
    pub start: u64,
    /// Absolute offset just past the blank line that ended the event.
    pub end: u64,
    /// Absolute range of the `data:` value in the raw stream when the event had exactly one
    /// `data:` line (then `data` is that range's bytes verbatim).
    pub data_span: Option<(u64, u64)>,
}

/// The framer state carried between chunks. Buffers keep their capacity between events.
#[derive(Debug, Default)]
pub struct SseFramer {
    /// Bytes of a line that started in an earlier chunk.
    line_buf: Vec<u8>,
    data_buf: Vec<u8>,
    event_buf: Vec<u8>,
    data_lines: u32,
    data_span: (u64, u64),
    /// Absolute offset of the next byte to be fed.
    pos: u64,
    line_start: u64,
    block_start: u64,
    /// The line in `line_buf` ended with a CR as the last byte of a chunk: whether an LF
    /// follows decides where its terminator ends, so it waits for the next byte.
    pending_cr: bool,
}

impl SseFramer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Absolute offset just past the last complete block (event or comment block): every byte
    /// before it has been framed and dispatched.
    pub fn block_start(&self) -> u64 {
        self.block_start
    }

    /// Total bytes fed so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Frames `chunk`, calling `on_event` for every event it completes.
    pub fn feed<F: FnMut(&SseEvent<'_>)>(&mut self, chunk: &[u8], on_event: &mut F) {
        let base = self.pos;
        self.pos += chunk.len() as u64;
        let mut i = 0usize;
        if self.pending_cr && !chunk.is_empty() {
            self.pending_cr = false;
            if chunk[0] == b'\n' {
                i = 1;
            }
            self.finish_buffered_line(base + i as u64, on_event);
        }
        while i < chunk.len() {
            let Some(rel) = memchr2(b'\n', b'\r', &chunk[i..]) else {
                self.line_buf.extend_from_slice(&chunk[i..]);
                break;
            };
            let j = i + rel;
            let term_end = if chunk[j] == b'\r' {
                if j + 1 == chunk.len() {
                    self.line_buf.extend_from_slice(&chunk[i..j]);
                    self.pending_cr = true;
                    break;
                }
                if chunk[j + 1] == b'\n' {
                    j + 2
                } else {
                    j + 1
                }
            } else {
                j + 1
            };
            let end_abs = base + term_end as u64;
            if self.line_buf.is_empty() {
                self.process_line(&chunk[i..j], end_abs, on_event);
            } else {
                self.line_buf.extend_from_slice(&chunk[i..j]);
                self.finish_buffered_line(end_abs, on_event);
            }
            i = term_end;
        }
    }

    /// End of stream: a last line without terminator still counts, and an event whose blank
    /// line never came is dispatched when it has data (lenient: metering wants the last usage).
    pub fn finish<F: FnMut(&SseEvent<'_>)>(&mut self, on_event: &mut F) {
        let end = self.pos;
        if self.pending_cr || !self.line_buf.is_empty() {
            self.pending_cr = false;
            self.finish_buffered_line(end, on_event);
        }
        if self.data_lines > 0 {
            self.process_line(&[], end, on_event);
        }
    }

    fn finish_buffered_line<F: FnMut(&SseEvent<'_>)>(&mut self, end_abs: u64, on_event: &mut F) {
        let line = std::mem::take(&mut self.line_buf);
        self.process_line(&line, end_abs, on_event);
        self.line_buf = line;
        self.line_buf.clear();
    }

    /// `line` excludes its terminator; `end_abs` is just past the terminator.
    fn process_line<F: FnMut(&SseEvent<'_>)>(
        &mut self,
        line: &[u8],
        end_abs: u64,
        on_event: &mut F,
    ) {
        let line_start = self.line_start;
        self.line_start = end_abs;
        if line.is_empty() {
            if self.data_lines > 0 {
                let event = SseEvent {
                    name: &self.event_buf,
                    data: &self.data_buf,
                    start: self.block_start,
                    end: end_abs,
                    data_span: (self.data_lines == 1).then_some(self.data_span),
                };
                on_event(&event);
            }
            self.block_start = end_abs;
            self.data_buf.clear();
            self.event_buf.clear();
            self.data_lines = 0;
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (name, value, value_off) = match memchr::memchr(b':', line) {
            Some(c) => {
                let skip = usize::from(line.get(c + 1) == Some(&b' '));
                (&line[..c], &line[c + 1 + skip..], c + 1 + skip)
            }
            None => (line, &line[line.len()..], line.len()),
        };
        match name {
            b"data" => {
                if self.data_lines > 0 {
                    self.data_buf.push(b'\n');
                }
                self.data_buf.extend_from_slice(value);
                self.data_lines += 1;
                let start = line_start + value_off as u64;
                self.data_span = (start, start + value.len() as u64);
            }
            b"event" => {
                self.event_buf.clear();
                self.event_buf.extend_from_slice(value);
            }
            // `id`, `retry` and unknown fields change nothing metering reads.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Owned {
        name: String,
        data: String,
        start: u64,
        end: u64,
        span: Option<(u64, u64)>,
    }

    fn frame_split(input: &[u8], sizes: &[usize]) -> Vec<Owned> {
        let mut out = Vec::new();
        let mut f = SseFramer::new();
        let mut push = |e: &SseEvent<'_>| {
            out.push(Owned {
                name: String::from_utf8_lossy(e.name).into_owned(),
                data: String::from_utf8_lossy(e.data).into_owned(),
                start: e.start,
                end: e.end,
                span: e.data_span,
            })
        };
        let mut i = 0;
        let mut k = 0;
        while i < input.len() {
            let n = sizes[k % sizes.len()].min(input.len() - i);
            f.feed(&input[i..i + n], &mut push);
            i += n;
            k += 1;
        }
        f.finish(&mut push);
        out
    }

    fn all_splits_equal(input: &[u8]) -> Vec<Owned> {
        let whole = frame_split(input, &[input.len().max(1)]);
        for sizes in [&[1usize][..], &[2], &[3], &[1, 2, 3], &[5, 1], &[7]] {
            assert_eq!(frame_split(input, sizes), whole, "split {sizes:?}");
        }
        whole
    }

    #[test]
    fn frames_lf_crlf_and_cr_alike() {
        for sep in ["\n", "\r\n", "\r"] {
            let s = format!("data: a{sep}{sep}event: x{sep}data: b{sep}{sep}");
            let ev = all_splits_equal(s.as_bytes());
            assert_eq!(ev.len(), 2, "sep {sep:?}");
            assert_eq!(ev[0].data, "a");
            assert_eq!(ev[1].name, "x");
            assert_eq!(ev[1].end as usize, s.len());
            let (a, b) = ev[1].span.unwrap();
            assert_eq!(&s[a as usize..b as usize], "b");
        }
    }

    #[test]
    fn joins_multiline_data_and_skips_comments_and_fields() {
        let s = b": keep-alive\n\nid: 7\nretry: 100\ndata: one\ndata:two\ndata\n: mid\n\n";
        let ev = all_splits_equal(s);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].data, "one\ntwo\n");
        assert_eq!(ev[0].span, None);
        assert_eq!(ev[0].start, 14);
    }

    #[test]
    fn block_without_data_dispatches_nothing() {
        let ev = all_splits_equal(b"event: ping\n\nevent: x\ndata: {}\n\n");
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].name, "x");
        assert_eq!(ev[0].start, 13);
    }

    #[test]
    fn survives_split_utf8() {
        let s = "data: {\"t\":\"héllo 🌍\"}\n\n".as_bytes();
        let ev = all_splits_equal(s);
        assert_eq!(ev[0].data, "{\"t\":\"héllo 🌍\"}");
    }

    #[test]
    fn unterminated_last_event_is_dispatched_at_finish() {
        let ev = all_splits_equal(b"data: a\n\ndata: [DONE]");
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[1].data, "[DONE]");
        let ev = all_splits_equal(b"data: x\r");
        assert_eq!(ev.len(), 1);
    }

    #[test]
    fn event_name_resets_between_events() {
        let ev = all_splits_equal(b"event: a\ndata: 1\n\ndata: 2\n\n");
        assert_eq!(ev[1].name, "");
    }
}
