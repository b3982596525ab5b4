//! The admin token check: `Authorization: Bearer <admin.token>`, compared in constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::json::ApiError;

/// `Ok` when `authorization` carries the configured token. Both sides are hashed first so the
/// comparison takes the same time whatever the presented length.
pub fn check(configured: Option<&str>, authorization: Option<&str>) -> Result<(), ApiError> {
    let configured = configured.ok_or(ApiError::NoToken)?;
    let presented = authorization
        .map(str::trim)
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "missing admin token: send `Authorization: Bearer <admin.token>`".to_string(),
            )
        })?;
    let want = Sha256::digest(configured.as_bytes());
    let got = Sha256::digest(presented.as_bytes());
    if bool::from(want.as_slice().ct_eq(got.as_slice())) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized("wrong admin token".to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_token_only() {
        assert!(check(Some("s3cret"), Some("Bearer s3cret")).is_ok());
        assert!(check(Some("s3cret"), Some("bearer  s3cret ")).is_ok());
        for bad in [
            None,
            Some("Bearer"),
            Some("Bearer "),
            Some("Basic s3cret"),
            Some("Bearer s3cre"),
            Some("Bearer s3cret2"),
        ] {
            let err = check(Some("s3cret"), bad).unwrap_err();
            assert_eq!(err.status(), 401, "{bad:?}");
        }
    }

    #[test]
    fn no_token_configured_says_how_to_enable() {
        let err = check(None, Some("Bearer anything")).unwrap_err();
        assert_eq!(err.status(), 403);
        assert!(err.to_string().contains("admin.token"));
    }
}
