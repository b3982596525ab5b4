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
