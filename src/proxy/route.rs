//! Which configured provider a request path goes to, and the upstream path it becomes.

use std::collections::HashMap;
use std::sync::Arc;

use crate::provider::{Operation, ProviderKind};

/// A configured provider, ready to forward to.
#[derive(Clone, Debug)]
pub struct Upstream {
    pub name: String,
    pub kind: ProviderKind,
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// The `Host` header value (`host` or `host:port` for non-default ports).
    pub authority: String,
    /// `base_url`'s path without a trailing slash ("" for none).
    pub base_path: String,
    /// The provider's real key, sent instead of the caller's credential when set.
    pub api_key: Option<String>,
}

impl Upstream {
    pub fn from_base_url(
        name: &str,
        kind: ProviderKind,
        base_url: &str,
        api_key: Option<String>,
    ) -> Result<Upstream, String> {
        let url = url::Url::parse(base_url)
            .map_err(|e| format!("provider {name}: base_url '{base_url}' is not a URL: {e}"))?;
        let tls = match url.scheme() {
            "https" => true,
            "http" => false,
            other => {
                return Err(format!(
                    "provider {name}: base_url scheme '{other}' is not http or https"
                ))
            }
        };
        let host = url
            .host_str()
            .ok_or_else(|| format!("provider {name}: base_url '{base_url}' has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let default_port = if tls { 443 } else { 80 };
        let port = url.port().unwrap_or(default_port);
        let authority = match url.port() {
            Some(p) if p != default_port => format!("{}:{p}", url.host_str().unwrap_or(&host)),
            _ => url.host_str().unwrap_or(&host).to_string(),
        };
        Ok(Upstream {
            name: name.to_string(),
            kind,
            tls,
            host,
            port,
            authority,
            base_path: url.path().trim_end_matches('/').to_string(),
            api_key: api_key.filter(|k| !k.is_empty()),
        })
    }
}

/// The route table of one config generation.
#[derive(Debug, Default)]
pub struct Routes {
    by_name: HashMap<String, Arc<Upstream>>,
    default: Option<Arc<Upstream>>,
}

/// A resolved route: where the call goes and what it does.
#[derive(Clone, Debug)]
pub struct Route {
    pub upstream: Arc<Upstream>,
    /// The path as the provider sees it, relative to its API root (`/v1/chat/completions`).
    pub provider_path: String,
    pub operation: Operation,
}

impl Route {
    /// The path and query to request upstream.
    pub fn upstream_path_and_query(&self, query: Option<&str>) -> String {
        let mut out = String::with_capacity(
            self.upstream.base_path.len()
                + self.provider_path.len()
                + query.map_or(0, |q| q.len() + 1),
        );
        out.push_str(&self.upstream.base_path);
        out.push_str(&self.provider_path);
        if let Some(q) = query {
            out.push('?');
            out.push_str(q);
        }
        out
    }
}

/// Why a path did not route.
#[derive(Debug, PartialEq, Eq)]
pub struct NoRoute {
    pub prefix: String,
}

impl Routes {
    pub fn new(upstreams: Vec<Upstream>, default_provider: Option<&str>) -> Routes {
        let by_name: HashMap<String, Arc<Upstream>> = upstreams
            .into_iter()
            .map(|u| (u.name.clone(), Arc::new(u)))
            .collect();
        let default = default_provider.and_then(|d| by_name.get(d).cloned());
        Routes { by_name, default }
    }

    pub fn upstreams(&self) -> impl Iterator<Item = &Arc<Upstream>> {
        self.by_name.values()
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Upstream>> {
        self.by_name.get(name)
    }

    /// `/{provider}/{rest}` → that provider with `/{rest}`; `/v1/{rest}` → the default provider,
    /// path kept whole.
    pub fn resolve(&self, method: &str, path: &str) -> Result<Route, NoRoute> {
        let trimmed = path.strip_prefix('/').unwrap_or(path);
        let (first, rest) = match trimmed.find('/') {
            Some(i) => (&trimmed[..i], &trimmed[i..]),
            None => (trimmed, ""),
        };
        let (upstream, provider_path) = if let Some(u) = self.by_name.get(first) {
            (u.clone(), rest.to_string())
        } else if first == "v1" {
            match &self.default {
                Some(u) => (u.clone(), path.to_string()),
                None => {
                    return Err(NoRoute {
                        prefix: first.to_string(),
                    })
                }
            }
        } else {
            return Err(NoRoute {
                prefix: first.to_string(),
            });
        };
        let operation = Operation::classify(upstream.kind, method, &provider_path);
        Ok(Route {
            upstream,
            provider_path,
            operation,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> Routes {
        Routes::new(
            vec![
                Upstream::from_base_url(
                    "openai",
                    ProviderKind::Openai,
                    "https://api.openai.com",
                    None,
                )
                .unwrap(),
                Upstream::from_base_url(
                    "vllm",
                    ProviderKind::Openai,
                    "http://10.0.0.5:8000/api/",
                    None,
                )
                .unwrap(),
            ],
            Some("openai"),
        )
    }

    #[test]
    fn provider_prefix_is_stripped() {
        let r = routes()
            .resolve("POST", "/openai/v1/chat/completions")
            .unwrap();
        assert_eq!(r.upstream.name, "openai");
        assert_eq!(
            r.upstream_path_and_query(Some("a=1")),
            "/v1/chat/completions?a=1"
        );
        assert_eq!(r.operation, Operation::ChatCompletions);
        assert!(r.upstream.tls);
        assert_eq!(r.upstream.port, 443);
        assert_eq!(r.upstream.authority, "api.openai.com");
    }

    #[test]
    fn v1_goes_to_default_with_path_whole() {
        let r = routes().resolve("GET", "/v1/models").unwrap();
        assert_eq!(r.upstream.name, "openai");
        assert_eq!(r.upstream_path_and_query(None), "/v1/models");
        assert_eq!(r.operation, Operation::Other);
    }

    #[test]
    fn base_path_is_prepended() {
        let r = routes().resolve("POST", "/vllm/v1/embeddings").unwrap();
        assert_eq!(r.upstream_path_and_query(None), "/api/v1/embeddings");
        assert_eq!(r.upstream.authority, "10.0.0.5:8000");
    }

    #[test]
    fn unknown_prefix_is_reported() {
        assert_eq!(
            routes().resolve("GET", "/nope/x").unwrap_err().prefix,
            "nope"
        );
    }
}
