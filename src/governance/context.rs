//! The governance context of a call: who pays and where it runs.

/// The attributes a call is attributed to (key-bound first, then `x-genops-*` headers).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct GovernanceContext {
    pub key_name: Option<String>,
    pub team: Option<String>,
    pub project: Option<String>,
    pub customer_id: Option<String>,
    pub cost_center: Option<String>,
    pub feature: Option<String>,
    pub environment: Option<String>,
}

/// The attribute names a scope or header can name, in a stable order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dimension {
    Key,
    Team,
    Project,
    CustomerId,
    CostCenter,
    Feature,
    Environment,
}

impl Dimension {
    pub const ATTRIBUTES: [Dimension; 6] = [
        Dimension::Team,
        Dimension::Project,
        Dimension::CustomerId,
        Dimension::CostCenter,
        Dimension::Feature,
        Dimension::Environment,
    ];

    /// The name used in config scopes and spend reports.
    pub fn name(self) -> &'static str {
        match self {
            Dimension::Key => "key",
            Dimension::Team => "team",
            Dimension::Project => "project",
            Dimension::CustomerId => "customer_id",
            Dimension::CostCenter => "cost_center",
            Dimension::Feature => "feature",
            Dimension::Environment => "environment",
        }
    }

    /// The request header that may fill this attribute (none for the key).
    pub fn header(self) -> Option<&'static str> {
        match self {
            Dimension::Key => None,
            Dimension::Team => Some("x-genops-team"),
            Dimension::Project => Some("x-genops-project"),
            Dimension::CustomerId => Some("x-genops-customer-id"),
            Dimension::CostCenter => Some("x-genops-cost-center"),
            Dimension::Feature => Some("x-genops-feature"),
            Dimension::Environment => Some("x-genops-environment"),
        }
    }

    /// The span attribute (`genops.team`, ...).
    pub fn span_attribute(self) -> &'static str {
        match self {
            Dimension::Key => "genops.key.name",
            Dimension::Team => "genops.team",
            Dimension::Project => "genops.project",
            Dimension::CustomerId => "genops.customer_id",
            Dimension::CostCenter => "genops.cost_center",
            Dimension::Feature => "genops.feature",
            Dimension::Environment => "genops.environment",
        }
    }

    pub fn from_name(name: &str) -> Option<Dimension> {
        [Dimension::Key]
            .into_iter()
            .chain(Dimension::ATTRIBUTES)
            .find(|d| d.name() == name)
    }
}

impl GovernanceContext {
    pub fn get(&self, dimension: Dimension) -> Option<&str> {
        match dimension {
            Dimension::Key => self.key_name.as_deref(),
            Dimension::Team => self.team.as_deref(),
            Dimension::Project => self.project.as_deref(),
            Dimension::CustomerId => self.customer_id.as_deref(),
            Dimension::CostCenter => self.cost_center.as_deref(),
            Dimension::Feature => self.feature.as_deref(),
            Dimension::Environment => self.environment.as_deref(),
        }
    }

    pub fn slot_mut(&mut self, dimension: Dimension) -> &mut Option<String> {
        match dimension {
            Dimension::Key => &mut self.key_name,
            Dimension::Team => &mut self.team,
            Dimension::Project => &mut self.project,
            Dimension::CustomerId => &mut self.customer_id,
            Dimension::CostCenter => &mut self.cost_center,
            Dimension::Feature => &mut self.feature,
            Dimension::Environment => &mut self.environment,
        }
    }
}

/// Longest accepted attribute value.
pub const MAX_ATTRIBUTE_LEN: usize = 128;

/// Checks an attribute value: 1..=128 characters of letters, digits and `-_.:/@+=`.
pub fn validate_value(dimension: Dimension, value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > MAX_ATTRIBUTE_LEN {
        return Err(format!(
            "{} must be 1 to {MAX_ATTRIBUTE_LEN} characters",
            dimension.header().unwrap_or(dimension.name())
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.:/@+=".contains(*c)))
    {
        return Err(format!(
            "{} contains '{}'; allowed are letters, digits and - _ . : / @ + =",
            dimension.header().unwrap_or(dimension.name()),
            bad.escape_default()
        ));
    }
    Ok(())
}

/// The attributes the `x-genops-*` headers carry (passthrough, or unbound by a key).
pub fn from_headers(
    headers: &http::HeaderMap,
) -> Result<GovernanceContext, crate::error::GatewayError> {
    let mut ctx = GovernanceContext::default();
    fill_from_headers(&mut ctx, headers, &mut 0)?;
    Ok(ctx)
}

/// Fills attributes the key left unbound from headers; a header contradicting a bound value is
/// ignored and counted in `contradicted`.
pub fn fill_from_headers(
    ctx: &mut GovernanceContext,
    headers: &http::HeaderMap,
    contradicted: &mut u32,
) -> Result<(), crate::error::GatewayError> {
    for dimension in Dimension::ATTRIBUTES {
        let Some(name) = dimension.header() else {
            continue;
        };
        let Some(raw) = headers.get(name) else {
            continue;
        };
        let value = raw.to_str().map_err(|_| {
            crate::error::GatewayError::BadRequest(format!("{name} is not valid text"))
        })?;
        let value = value.trim();
        validate_value(dimension, value).map_err(crate::error::GatewayError::BadRequest)?;
        let slot = ctx.slot_mut(dimension);
        match slot {
            Some(bound) if bound != value => *contradicted += 1,
            Some(_) => {}
            None => *slot = Some(value.to_string()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_fill_only_unbound_attributes() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-genops-team", "spoofed".parse().unwrap());
        headers.insert("x-genops-customer-id", "cust-7".parse().unwrap());
        let mut ctx = GovernanceContext {
            team: Some("search".into()),
            ..Default::default()
        };
        let mut contradicted = 0;
        fill_from_headers(&mut ctx, &headers, &mut contradicted).unwrap();
        assert_eq!(ctx.team.as_deref(), Some("search"));
        assert_eq!(ctx.customer_id.as_deref(), Some("cust-7"));
        assert_eq!(contradicted, 1);
    }

    #[test]
    fn bad_values_are_refused() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-genops-team", "a b".parse().unwrap());
        assert!(from_headers(&headers).is_err());
        let mut headers = http::HeaderMap::new();
        headers.insert("x-genops-team", "x".repeat(200).parse().unwrap());
        assert!(from_headers(&headers).is_err());
    }
}
