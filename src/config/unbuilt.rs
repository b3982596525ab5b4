//! Documented keys whose feature is not built yet: they load, with a warning and a fallback.

use super::problems::Problems;
use super::schema::{OtlpProtocol, RawConfig};

struct Unbuilt {
    /// Says what is not built and what happens instead.
    message: &'static str,
    used: fn(&RawConfig) -> bool,
    /// Rewrites the setting to what actually runs, so no module sees the unbuilt value.
    fallback: fn(&mut RawConfig),
}

/// Add an entry when a documented key is accepted but not implemented.
const UNBUILT: &[Unbuilt] = &[Unbuilt {
    message: "telemetry.otlp.protocol: grpc is not built yet; exporting with http/protobuf \
              (use the collector's HTTP port, usually 4318)",
    used: |r| r.telemetry.otlp.protocol == OtlpProtocol::Grpc,
    fallback: |r| r.telemetry.otlp.protocol = OtlpProtocol::HttpProtobuf,
}];

pub fn apply(raw: &mut RawConfig, p: &mut Problems) {
    for u in UNBUILT {
        if (u.used)(raw) {
            p.warn(u.message);
            (u.fallback)(raw);
        }
    }
}
