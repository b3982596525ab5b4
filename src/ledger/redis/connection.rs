//! One reconnecting Redis connection with short timeouts, shared by the ledger and rate limits.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::RedisError;

/// Answers slower than this count as "unavailable": the gateway must not hang a call on Redis.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// A connection manager that connects on first use and reconnects by itself after Redis comes
/// back; a command during an outage fails within about the timeouts instead of waiting.
/// Must be created inside the tokio runtime that lives as long as the gateway: the connection's
/// driver task runs there.
pub fn manager(url: &str) -> Result<ConnectionManager, RedisError> {
    let client = redis::Client::open(url)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(200));
    ConnectionManager::new_lazy_with_config(client, config)
}

/// Whether an error means Redis could not be reached (as opposed to a bad script or reply).
pub fn is_unreachable(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || e.is_unrecoverable_error()
}
