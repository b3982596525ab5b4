//! Builds and runs the pingora server: the proxy and admin listeners.

use std::sync::Arc;

use pingora::server::configuration::ServerConf;
use pingora::server::{RunArgs, Server};
use pingora::services::listening::Service;

use crate::admin::AdminApp;
use crate::gateway::Gateway;
use crate::proxy::GatewayProxy;

/// Runs until SIGINT/SIGTERM; returns after pingora has stopped its services.
pub fn run(gateway: Arc<Gateway>, threads: usize) {
    let generation = gateway.current.load_full();
    let listen = generation.config.raw.listen.clone();
    let admin_listen = generation.config.raw.admin.listen.clone();

    let conf = ServerConf {
        threads,
        // Tests and rolling restarts should not wait pingora's default 5 minutes.
        grace_period_seconds: Some(2),
        graceful_shutdown_timeout_seconds: Some(60),
        upstream_keepalive_pool_size: 256,
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();

    let mut proxy = pingora::proxy::http_proxy_service_with_name(
        &server.configuration,
        GatewayProxy {
            gateway: gateway.clone(),
        },
        "genops-proxy",
    );
    proxy.add_tcp(&listen);
    let mut admin = Service::new(
        "genops-admin".to_string(),
        AdminApp {
            gateway: gateway.clone(),
        },
    );
    admin.add_tcp(&admin_listen);
    admin.threads = Some(1);

    server.add_service(proxy);
    server.add_service(admin);
    tracing::info!(%listen, admin = %admin_listen, "genops-gateway listening");
    server.run(RunArgs::default());
}
