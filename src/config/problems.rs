//! Collects every error and warning found while loading, so all are reported at once.

/// Errors refuse the config; warnings are logged by the caller and the config loads.
#[derive(Debug, Default)]
pub struct Problems {
    origin: String,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

impl Problems {
    /// `origin` (the config file's name) prefixes every message about the config file.
    pub fn new(origin: &str) -> Problems {
        Problems {
            origin: origin.to_string(),
            ..Problems::default()
        }
    }

    pub fn error(&mut self, message: impl std::fmt::Display) {
        self.errors.push(format!("{}: {message}", self.origin));
    }

    pub fn warn(&mut self, message: impl std::fmt::Display) {
        self.warnings.push(format!("{}: {message}", self.origin));
    }

    /// An error already naming its own file (a policy file).
    pub fn error_verbatim(&mut self, message: String) {
        self.errors.push(message);
    }
}
