//! One virtual key as the gateway knows it: its name, bound attributes and provider allow-list.

use crate::config::schema::KeyConfig;
use crate::error::GatewayError;
use crate::governance::context::{self, Dimension, GovernanceContext};
use crate::ledger::StoredKey;

/// Where a key was defined: the config file (`keys:`) or the admin API (the ledger).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySource {
    Config,
    Admin,
}

/// A virtual key without its text or digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyEntry {
    pub name: String,
    /// The attributes the key binds (`key_name` is always `None` here; see [`KeyEntry::bind`]).
    pub attributes: GovernanceContext,
    /// `None`: every provider.
    pub providers: Option<Vec<String>>,
    pub revoked: bool,
    pub source: KeySource,
}

impl KeyEntry {
    pub fn from_config(key: &KeyConfig) -> Self {
        KeyEntry {
            name: key.name.clone(),
            attributes: GovernanceContext {
                key_name: None,
                team: key.team.clone(),
                project: key.project.clone(),
                customer_id: key.customer_id.clone(),
                cost_center: key.cost_center.clone(),
                feature: key.feature.clone(),
                environment: key.environment.clone(),
            },
            providers: key.providers.clone(),
            revoked: false,
            source: KeySource::Config,
        }
    }

    pub fn from_stored(key: &StoredKey) -> Self {
        KeyEntry {
            name: key.name.clone(),
            attributes: GovernanceContext {
                key_name: None,
                team: key.team.clone(),
                project: key.project.clone(),
                customer_id: key.customer_id.clone(),
                cost_center: key.cost_center.clone(),
                feature: key.feature.clone(),
                environment: key.environment.clone(),
            },
            providers: key.providers.clone(),
            revoked: key.revoked,
            source: KeySource::Admin,
        }
    }

    /// The call's starting context: the key's name and the attributes it binds. Headers may then
    /// fill only what is left unbound (`context::fill_from_headers`).
    pub fn bind(&self) -> GovernanceContext {
        GovernanceContext {
            key_name: Some(self.name.clone()),
            ..self.attributes.clone()
        }
    }

    pub fn allows_provider(&self, provider: &str) -> bool {
        self.providers
            .as_ref()
            .is_none_or(|list| list.iter().any(|p| p == provider))
    }

    /// `allows_provider` as the 403 the caller gets.
    pub fn check_provider(&self, provider: &str) -> Result<(), GatewayError> {
        if self.allows_provider(provider) {
            Ok(())
        } else {
            Err(GatewayError::PolicyViolation(format!(
                "key {} may not use provider {provider}",
                self.name
            )))
        }
    }

    /// Problems with the name or a bound value (same rules as the `x-genops-*` headers).
    pub fn validate(&self) -> Result<(), String> {
        context::validate_value(Dimension::Key, &self.name)
            .map_err(|e| format!("key name: {e}"))?;
        for dimension in Dimension::ATTRIBUTES {
            if let Some(value) = self.attributes.get(dimension) {
                context::validate_value(dimension, value)
                    .map_err(|_| format!("{}: invalid value", dimension.name()))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(providers: Option<Vec<&str>>) -> KeyEntry {
        KeyEntry::from_config(&KeyConfig {
            name: "search-prod".into(),
            key_sha256: String::new(),
            team: Some("search".into()),
            project: None,
            customer_id: None,
            cost_center: Some("eng-42".into()),
            feature: None,
            environment: None,
            providers: providers.map(|p| p.into_iter().map(String::from).collect()),
        })
    }

    #[test]
    fn bind_sets_name_and_attributes() {
        let ctx = entry(None).bind();
        assert_eq!(ctx.key_name.as_deref(), Some("search-prod"));
        assert_eq!(ctx.team.as_deref(), Some("search"));
        assert_eq!(ctx.cost_center.as_deref(), Some("eng-42"));
        assert_eq!(ctx.project, None);
    }

    #[test]
    fn allow_list() {
        assert!(entry(None).allows_provider("anything"));
        let e = entry(Some(vec!["openai"]));
        assert!(e.allows_provider("openai"));
        assert!(!e.allows_provider("anthropic"));
        let err = e.check_provider("anthropic").unwrap_err();
        assert_eq!(err.status(), 403);
        assert_eq!(
            err.message(),
            "key search-prod may not use provider anthropic"
        );
    }

    #[test]
    fn validate_rejects_bad_values() {
        let mut e = entry(None);
        assert!(e.validate().is_ok());
        e.attributes.team = Some("a b".into());
        assert!(e.validate().is_err());
    }
}
