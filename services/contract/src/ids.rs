//! Record ids: lower-case ULIDs (26 characters of `0-9a-z`) that the owning service makes.
//! Each kind has its own type, so a ticket id cannot be passed where an order id belongs;
//! on the wire each is a plain string.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident;)+) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "docs", derive(schemars::JsonSchema))]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }

            /// Whether it has the shape of an id a service made (see [`is_well_formed`]).
            pub fn is_well_formed(&self) -> bool {
                is_well_formed(&self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    )+};
}

ids! {
    /// A user (auth service).
    UserId;
    /// A ticket (tickets service).
    TicketId;
    /// An order (orders service).
    OrderId;
    /// A payment (payments service).
    PaymentId;
}

/// Whether `id` has the shape of an id a service made: 26 characters of `0-9a-z`, the
/// first at most `7` (a ULID's 128 bits). Checked before an id goes into a path or a
/// query, so that nothing else ever does.
pub fn is_well_formed(id: &str) -> bool {
    const CROCKFORD: &[u8] = b"0123456789abcdefghjkmnpqrstvwxyz";
    id.len() == 26 && id.as_bytes()[0] <= b'7' && id.bytes().all(|byte| CROCKFORD.contains(&byte))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_strings_on_the_wire() {
        let id = TicketId::new("01m7ys4fehn1f2ngwzvjv6zscm");
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            r#""01m7ys4fehn1f2ngwzvjv6zscm""#
        );
        let back: TicketId = serde_json::from_str(r#""01m7ys4fehn1f2ngwzvjv6zscm""#).unwrap();
        assert_eq!(back, id);
        assert_eq!(id, "01m7ys4fehn1f2ngwzvjv6zscm");
        assert_eq!(
            format!("/tickets/{id}"),
            "/tickets/01m7ys4fehn1f2ngwzvjv6zscm"
        );
    }

    #[test]
    fn only_lower_case_ulids_are_well_formed() {
        assert!(is_well_formed("01m7ys4fehn1f2ngwzvjv6zscm"));
        assert!(is_well_formed("7zzzzzzzzzzzzzzzzzzzzzzzzz"));
        for id in [
            "",
            "../../etc/passwd",
            "01M7YS4FEHN1F2NGWZVJV6ZSCM",
            "01m7ys4fehn1f2ngwzvjv6zsc",
            "01m7ys4fehn1f2ngwzvjv6zscmm",
            "8zzzzzzzzzzzzzzzzzzzzzzzzz",
            "01m7ys4fehn1f2ngwzvjv6zscu",
            "01m7ys4fehn1f2ngwzvjv6zsc!",
        ] {
            assert!(!is_well_formed(id), "{id:?}");
        }
    }
}
