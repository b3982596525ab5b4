//! Span batching on its own thread behind a bounded queue: ending a span never waits on I/O,
//! and every span that cannot be kept is counted.
//!
//! The SDK's `BatchSpanProcessor` also drops on a full queue, but only logs the count; we need
//! it as a metric, so the queue is ours (`try_send` from the request thread, as linkerd does).

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

/// Called with a number of spans lost and why (`queue_full`, `export_failed`, `shutdown`).
pub(crate) type DropSink = Arc<dyn Fn(u64, &'static str) + Send + Sync>;

/// How long shutdown may spend exporting what is left before giving up on it.
const SHUTDOWN_BUDGET: Duration = Duration::from_secs(5);

enum Message {
    Span(Box<SpanData>),
    Flush(mpsc::Sender<()>),
    Shutdown(mpsc::Sender<()>),
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct BatchLimits {
    pub max_queue: usize,
    pub max_batch: usize,
    pub interval: Duration,
}

pub(crate) struct BoundedBatchProcessor {
    sender: SyncSender<Message>,
    worker: Mutex<Option<JoinHandle<()>>>,
    on_drop: DropSink,
}

impl std::fmt::Debug for BoundedBatchProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BoundedBatchProcessor")
    }
}

impl BoundedBatchProcessor {
    /// Starts the export thread. The exporter must already carry the resource.
    pub(crate) fn start<E>(
        exporter: E,
        limits: BatchLimits,
        on_drop: DropSink,
    ) -> std::io::Result<Self>
    where
        E: SpanExporter + 'static,
    {
        let limits = BatchLimits {
            max_queue: limits.max_queue.max(1),
            max_batch: limits.max_batch.clamp(1, limits.max_queue.max(1)),
            interval: limits.interval.max(Duration::from_millis(1)),
        };
        let (sender, receiver) = mpsc::sync_channel(limits.max_queue);
        let worker_drop = on_drop.clone();
        let worker = std::thread::Builder::new()
            .name("genops-span-export".to_string())
            .spawn(move || {
                // Our own exports must not produce spans of their own.
                let _guard = Context::enter_telemetry_suppressed_scope();
                Worker {
                    exporter,
                    limits,
                    on_drop: worker_drop,
                    batch: Vec::with_capacity(limits.max_batch),
                }
                .run(receiver)
            })?;
        Ok(BoundedBatchProcessor {
            sender,
            worker: Mutex::new(Some(worker)),
            on_drop,
        })
    }

    /// Sends a control message even when the queue is full, waiting at most `budget`.
    fn send_control(&self, make: impl Fn() -> Message, budget: Duration) -> OTelSdkResult {
        let deadline = Instant::now() + budget;
        loop {
            match self.sender.try_send(make()) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(_)) => return Err(OTelSdkError::AlreadyShutdown),
                Err(TrySendError::Full(_)) if Instant::now() >= deadline => {
                    return Err(OTelSdkError::Timeout(budget))
                }
                Err(TrySendError::Full(_)) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    }

    fn round_trip(
        &self,
        make: impl Fn(mpsc::Sender<()>) -> Message,
        budget: Duration,
    ) -> OTelSdkResult {
        let (ack_tx, ack_rx) = mpsc::channel();
        self.send_control(|| make(ack_tx.clone()), budget)?;
        ack_rx
            .recv_timeout(budget * 2)
            .map_err(|_| OTelSdkError::Timeout(budget * 2))
    }
}

impl SpanProcessor for BoundedBatchProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        match self.sender.try_send(Message::Span(Box::new(span))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => (self.on_drop)(1, "queue_full"),
            Err(TrySendError::Disconnected(_)) => (self.on_drop)(1, "shutdown"),
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.round_trip(Message::Flush, SHUTDOWN_BUDGET)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let result = self.round_trip(Message::Shutdown, timeout.min(SHUTDOWN_BUDGET));
        let worker = self.worker.lock().ok().and_then(|mut w| w.take());
        if let (Some(worker), Ok(())) = (worker, &result) {
            let _ = worker.join();
        }
        result
    }
}

struct Worker<E> {
    exporter: E,
    limits: BatchLimits,
    on_drop: DropSink,
    batch: Vec<SpanData>,
}

impl<E: SpanExporter> Worker<E> {
    fn run(mut self, receiver: Receiver<Message>) {
        let mut next_export = Instant::now() + self.limits.interval;
        loop {
            let wait = next_export.saturating_duration_since(Instant::now());
            match receiver.recv_timeout(wait) {
                Ok(Message::Span(span)) => {
                    self.batch.push(*span);
                    if self.batch.len() >= self.limits.max_batch {
                        self.export();
                        next_export = Instant::now() + self.limits.interval;
                    }
                }
                Ok(Message::Flush(ack)) => {
                    // FIFO: every span ended before the flush is already in the batch.
                    self.export();
                    let _ = ack.send(());
                }
                Ok(Message::Shutdown(ack)) => {
                    self.drain(&receiver, Instant::now() + SHUTDOWN_BUDGET);
                    let _ = self.exporter.shutdown();
                    let _ = ack.send(());
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.export();
                    next_export = Instant::now() + self.limits.interval;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.drain(&receiver, Instant::now() + SHUTDOWN_BUDGET);
                    return;
                }
            }
        }
    }

    /// Exports what is queued until `deadline`; whatever is left after it is counted as lost.
    fn drain(&mut self, receiver: &Receiver<Message>, deadline: Instant) {
        loop {
            while self.batch.len() < self.limits.max_batch {
                match receiver.try_recv() {
                    Ok(Message::Span(span)) => self.batch.push(*span),
                    Ok(Message::Flush(ack)) | Ok(Message::Shutdown(ack)) => {
                        let _ = ack.send(());
                    }
                    Err(_) => break,
                }
            }
            if self.batch.is_empty() {
                return;
            }
            if Instant::now() >= deadline {
                let mut left = self.batch.len() as u64;
                self.batch.clear();
                while let Ok(message) = receiver.try_recv() {
                    if let Message::Span(_) = message {
                        left += 1;
                    }
                }
                (self.on_drop)(left, "shutdown");
                return;
            }
            self.export();
        }
    }

    fn export(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(self.limits.max_batch));
        let count = batch.len() as u64;
        // The OTLP/HTTP exporter uses the blocking reqwest client inside this future, so a
        // plain block_on is enough and no async runtime is involved.
        if futures_executor::block_on(self.exporter.export(batch)).is_err() {
            (self.on_drop)(count, "export_failed");
        }
    }
}
