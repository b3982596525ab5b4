//! Scope matching for rate limits and policies: does a config `Scope` select a call's context.
//!
//! Values match exactly (case-sensitive); a scope naming an attribute the call does not carry
//! does not match. Wildcards (`team: "*"`, one bucket per distinct team) are not supported: a
//! literal `*` only matches the value `*`.

use crate::config::schema::Scope;
use crate::governance::context::{Dimension, GovernanceContext};

/// The attributes a scope names, in `Dimension` order (key first).
pub fn entries(scope: &Scope) -> impl Iterator<Item = (Dimension, &str)> {
    [
        (Dimension::Key, &scope.key),
        (Dimension::Team, &scope.team),
        (Dimension::Project, &scope.project),
        (Dimension::CustomerId, &scope.customer_id),
        (Dimension::CostCenter, &scope.cost_center),
        (Dimension::Feature, &scope.feature),
        (Dimension::Environment, &scope.environment),
    ]
    .into_iter()
    .filter_map(|(dimension, value)| value.as_deref().map(|v| (dimension, v)))
}

/// True when every attribute the scope names has exactly that value in the context.
pub fn matches(scope: &Scope, ctx: &GovernanceContext) -> bool {
    entries(scope).all(|(dimension, value)| ctx.get(dimension) == Some(value))
}

/// True for `{}`: the scope selects every call.
pub fn is_global(scope: &Scope) -> bool {
    entries(scope).next().is_none()
}

/// A stable, readable name for the scope: `team=search,project=ranking`, or `global`.
pub fn label(scope: &Scope) -> String {
    let parts: Vec<String> = entries(scope)
        .map(|(dimension, value)| format!("{}={value}", dimension.name()))
        .collect();
    if parts.is_empty() {
        "global".to_string()
    } else {
        parts.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> GovernanceContext {
        GovernanceContext {
            key_name: Some("search-prod".into()),
            team: Some("search".into()),
            project: Some("ranking".into()),
            ..Default::default()
        }
    }

    #[test]
    fn empty_scope_matches_everything() {
        let scope = Scope::default();
        assert!(matches(&scope, &ctx()));
        assert!(matches(&scope, &GovernanceContext::default()));
        assert!(is_global(&scope));
        assert_eq!(label(&scope), "global");
    }

    #[test]
    fn every_named_attribute_must_match() {
        let scope = Scope {
            team: Some("search".into()),
            project: Some("ranking".into()),
            ..Default::default()
        };
        assert!(matches(&scope, &ctx()));
        assert_eq!(label(&scope), "team=search,project=ranking");
        let other = Scope {
            team: Some("search".into()),
            project: Some("ads".into()),
            ..Default::default()
        };
        assert!(!matches(&other, &ctx()));
    }

    #[test]
    fn missing_attribute_does_not_match() {
        let scope = Scope {
            customer_id: Some("cust-1".into()),
            ..Default::default()
        };
        assert!(!matches(&scope, &ctx()));
    }

    #[test]
    fn key_scope_matches_key_name() {
        let scope = Scope {
            key: Some("search-prod".into()),
            ..Default::default()
        };
        assert!(matches(&scope, &ctx()));
    }

    #[test]
    fn star_is_literal() {
        let scope = Scope {
            team: Some("*".into()),
            ..Default::default()
        };
        assert!(!matches(&scope, &ctx()));
    }
}
