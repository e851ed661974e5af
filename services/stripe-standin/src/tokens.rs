//! Stripe's test-mode magic tokens (reusable, unlike real card tokens), and `tok_slow`, the
//! stand-in's own token for staging a slow charge.

/// A card decline as Stripe reports it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Decline {
    pub(crate) code: &'static str,
    pub(crate) decline_code: &'static str,
    pub(crate) message: &'static str,
}

/// The card behind a token and what charging it does.
pub(crate) struct TestCard {
    pub(crate) brand: &'static str,
    pub(crate) last4: &'static str,
    pub(crate) funding: &'static str,
    pub(crate) decline: Option<Decline>,
    /// Waits while slow charges are held.
    pub(crate) slow: bool,
}

const fn card(brand: &'static str, last4: &'static str, funding: &'static str) -> TestCard {
    TestCard {
        brand,
        last4,
        funding,
        decline: None,
        slow: false,
    }
}

const fn declined(
    last4: &'static str,
    decline_code: &'static str,
    message: &'static str,
) -> TestCard {
    TestCard {
        decline: Some(Decline {
            code: "card_declined",
            decline_code,
            message,
        }),
        ..card("Visa", last4, "credit")
    }
}

pub(crate) fn lookup(token: &str) -> Option<TestCard> {
    Some(match token {
        "tok_visa" => card("Visa", "4242", "credit"),
        "tok_visa_debit" => card("Visa", "5556", "debit"),
        "tok_mastercard" => card("MasterCard", "4444", "credit"),
        "tok_amex" => card("American Express", "8431", "credit"),
        "tok_chargeDeclined" => declined("0002", "generic_decline", "Your card was declined."),
        "tok_chargeDeclinedInsufficientFunds" => declined(
            "9995",
            "insufficient_funds",
            "Your card has insufficient funds.",
        ),
        "tok_slow" => TestCard {
            slow: true,
            ..card("Visa", "4242", "credit")
        },
        _ => return None,
    })
}
