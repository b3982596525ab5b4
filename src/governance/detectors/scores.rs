//! `genops.eval.safety` / `genops.eval.compliance` from detector findings.
//!
//! Formula: each *distinct* finding halves its score.
//! - safety     = 0.5 ^ (number of `secrets.*` and `prompt_injection.*` findings)
//! - compliance = 0.5 ^ (number of `pii.*` and `regex.*` findings)
//!
//! Both are 1.0 for clean text, stay in (0, 1], and fall fast: one secret gives 0.5, two 0.25.
//! Other finding names do not move either score.

/// `(safety, compliance)` for a call's findings.
pub fn eval_scores<S: AsRef<str>>(findings: &[S]) -> (f64, f64) {
    let mut safety_hits = 0i32;
    let mut compliance_hits = 0i32;
    for (i, f) in findings.iter().enumerate() {
        let f = f.as_ref();
        // Count each name once even if a caller passes duplicates.
        if findings[..i].iter().any(|g| g.as_ref() == f) {
            continue;
        }
        if f.starts_with("secrets.")
            || f == "prompt_injection"
            || f.starts_with("prompt_injection.")
        {
            safety_hits += 1;
        } else if f.starts_with("pii.") || f.starts_with("regex.") {
            compliance_hits += 1;
        }
    }
    (0.5f64.powi(safety_hits), 0.5f64.powi(compliance_hits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_is_one_and_findings_halve() {
        assert_eq!(eval_scores::<&str>(&[]), (1.0, 1.0));
        assert_eq!(eval_scores(&["secrets.jwt"]), (0.5, 1.0));
        assert_eq!(
            eval_scores(&["pii.email", "pii.card", "prompt_injection.dan", "pii.email"]),
            (0.5, 0.25)
        );
        assert_eq!(eval_scores(&["regex.0".to_string()]), (1.0, 0.5));
    }
}
