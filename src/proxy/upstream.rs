//! Upstream peers: host names resolved off the blocking path and cached, pooled connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use pingora::upstreams::peer::HttpPeer;

use super::route::Upstream;

/// How long a resolved address is reused before asking DNS again.
const DNS_TTL: Duration = Duration::from_secs(30);

/// Resolved upstream addresses. pingora's `HttpPeer::new` would resolve a name with blocking DNS
/// and panic when that fails, so peers are always built from an address resolved here.
#[derive(Default)]
pub struct Resolver {
    cache: DashMap<(String, u16), (SocketAddr, Instant)>,
}

impl Resolver {
    pub async fn resolve(&self, host: &str, port: u16) -> Result<SocketAddr, String> {
        if let Ok(ip) = host.parse::<std::net::IpAddr>() {
            return Ok(SocketAddr::new(ip, port));
        }
        let key = (host.to_string(), port);
        if let Some(entry) = self.cache.get(&key) {
            if entry.1.elapsed() < DNS_TTL {
                return Ok(entry.0);
            }
        }
        let mut addrs = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| format!("cannot resolve {host}: {e}"))?;
        let addr = addrs
            .next()
            .ok_or_else(|| format!("{host} resolved to no address"))?;
        self.cache.insert(key, (addr, Instant::now()));
        Ok(addr)
    }
}

/// Timeouts applied to each upstream exchange.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub connect: Duration,
    pub first_byte: Duration,
    pub idle: Duration,
}

/// Builds the peer for an upstream at a resolved address.
pub fn peer(upstream: &Upstream, addr: SocketAddr, timeouts: &Timeouts) -> HttpPeer {
    let mut peer = HttpPeer::new(addr, upstream.tls, upstream.host.clone());
    peer.options.connection_timeout = Some(timeouts.connect);
    peer.options.total_connection_timeout = Some(timeouts.connect);
    peer.options.idle_timeout = Some(Duration::from_secs(90));
    peer.options.write_timeout = Some(timeouts.idle);
    peer
}

pub type SharedResolver = Arc<Resolver>;
