//! Parsed sign-up and sign-in input: an [`Email`] is trimmed, lower-cased and plausible; a
//! [`NewPassword`] has 4–20 characters; a [`GivenPassword`] is at least present.

use common::FieldError;
use common::extract::{Field, field_str};

const EMAIL_INVALID: &str = "Email must be valid";

/// A plausible e-mail address, stored and compared lower-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &Field) -> Result<Self, FieldError> {
        let invalid = || FieldError::new("email", EMAIL_INVALID);
        let email = field_str(field).ok_or_else(invalid)?.trim().to_lowercase();
        let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
        let labels_ok = domain.split('.').count() >= 2
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        if email.len() > 254 || !labels_ok || !local_ok {
            return Err(invalid());
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password chosen at sign-up. Never printed.
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(field: &Field) -> Result<Self, FieldError> {
        let password = field_str(field).unwrap_or_default();
        let length = password.trim().chars().count();
        if (4..=20).contains(&length) {
            Ok(Self(password.to_owned()))
        } else {
            Err(FieldError::new(
                "password",
                "Password must be between 4 and 20 characters",
            ))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A password typed at sign-in. Never printed.
pub struct GivenPassword(String);

impl GivenPassword {
    pub fn parse(field: &Field) -> Result<Self, FieldError> {
        match field_str(field) {
            Some(password) if !password.trim().is_empty() => Ok(Self(password.to_owned())),
            _ => Err(FieldError::new("password", "You must supply a password")),
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

impl std::fmt::Debug for GivenPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GivenPassword(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn email(value: Value) -> Result<String, String> {
        Email::parse(&Some(value))
            .map(|e| e.0)
            .map_err(|e| e.message)
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            email(json!("  Alice@Example.COM ")),
            Ok("alice@example.com".into())
        );
        assert_eq!(
            email(json!("a.b+tag@sub.example.co")),
            Ok("a.b+tag@sub.example.co".into())
        );
    }

    #[test]
    fn implausible_emails_are_refused() {
        for bad in [
            json!(""),
            json!("plain"),
            json!("a@b"),
            json!("@example.com"),
            json!("a@.com"),
            json!("a@example..com"),
            json!("a b@example.com"),
            json!("a@exa mple.com"),
            json!(".a@example.com"),
            json!("a..b@example.com"),
            json!("a@-example.com"),
            json!(format!("{}@example.com", "a".repeat(65))),
            json!(42),
            json!(null),
            json!(["a@b.co"]),
        ] {
            assert_eq!(email(bad.clone()), Err(EMAIL_INVALID.into()), "{bad}");
        }
        assert!(Email::parse(&None).is_err());
    }

    #[test]
    fn new_passwords_need_four_to_twenty_characters() {
        let ok = |v: Value| NewPassword::parse(&Some(v)).is_ok();
        assert!(ok(json!("abcd")));
        assert!(ok(json!("a".repeat(20))));
        assert!(ok(json!("äöüß")), "characters, not bytes");
        assert!(!ok(json!("abc")));
        assert!(!ok(json!("a".repeat(21))));
        assert!(!ok(json!("  ab  ")), "surrounding blanks do not count");
        assert!(!ok(json!(1234)));
        assert!(NewPassword::parse(&None).is_err());
    }

    #[test]
    fn a_given_password_must_be_present() {
        assert!(GivenPassword::parse(&Some(json!("x"))).is_ok());
        for bad in [json!(""), json!("   "), json!(12), json!(null)] {
            assert_eq!(
                GivenPassword::parse(&Some(bad)).unwrap_err().message,
                "You must supply a password"
            );
        }
    }

    #[test]
    fn passwords_never_print() {
        let password = NewPassword::parse(&Some(json!("secret1"))).unwrap();
        assert_eq!(format!("{password:?}"), "NewPassword(***)");
    }
}
