//! How the contract's values are stored in SurrealDB (feature `surrealdb`, which the
//! services turn on through `common`; the browser never builds this): a price as its
//! integer cents, a status or reason as its wire spelling, an id as its text. A stored
//! value that is none of these fails to read instead of being taken for something else.

use surrealdb_types::{Error, Kind, SurrealValue, Value};

use crate::{CancelReason, OrderId, OrderStatus, PaymentId, Price, TicketId, TicketStatus, UserId};

impl SurrealValue for Price {
    fn kind_of() -> Kind {
        i64::kind_of()
    }

    fn is_value(value: &Value) -> bool {
        i64::is_value(value)
    }

    fn into_value(self) -> Value {
        self.cents().into_value()
    }

    fn from_value(value: Value) -> Result<Self, Error> {
        let cents = i64::from_value(value)?;
        Self::from_cents(cents).map_err(|error| unreadable(format!("{cents} cents: {error}")))
    }
}

fn unreadable(message: String) -> Error {
    Error::serialization(message, None)
}

/// Values stored as their text: `parse` reads the text back.
macro_rules! stored_as_text {
    ($($ty:ty => $parse:expr;)+) => {$(
        impl SurrealValue for $ty {
            fn kind_of() -> Kind {
                String::kind_of()
            }

            fn is_value(value: &Value) -> bool {
                String::is_value(value)
            }

            fn into_value(self) -> Value {
                self.as_str().to_owned().into_value()
            }

            fn from_value(value: Value) -> Result<Self, Error> {
                let text = String::from_value(value)?;
                let parse: fn(&str) -> Option<Self> = $parse;
                parse(&text)
                    .ok_or_else(|| unreadable(format!("{text:?} is not a {}", stringify!($ty))))
            }
        }
    )+};
}

stored_as_text! {
    OrderStatus => OrderStatus::parse;
    CancelReason => CancelReason::parse;
    TicketStatus => TicketStatus::parse;
    UserId => |text| Some(UserId::from(text));
    TicketId => |text| Some(TicketId::from(text));
    OrderId => |text| Some(OrderId::from(text));
    PaymentId => |text| Some(PaymentId::from(text));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: SurrealValue + PartialEq + std::fmt::Debug + Clone>(value: T) {
        assert_eq!(T::from_value(value.clone().into_value()).unwrap(), value);
    }

    #[test]
    fn values_read_back_as_written() {
        round_trip(Price::from_cents(1050).unwrap());
        round_trip(OrderStatus::AwaitingPayment);
        round_trip(CancelReason::PriceChanged);
        round_trip(TicketStatus::Sold);
        round_trip(OrderId::new("01m7ys4fehn1f2ngwzvjv6zscm"));
    }

    #[test]
    fn they_are_stored_as_cents_and_spellings() {
        let cents = Price::from_cents(1050).unwrap().into_value();
        assert_eq!(i64::from_value(cents).unwrap(), 1050);
        let status = OrderStatus::AwaitingPayment.into_value();
        assert_eq!(String::from_value(status).unwrap(), "awaiting:payment");
    }

    #[test]
    fn what_is_not_one_of_them_does_not_read() {
        assert!(Price::from_value(0_i64.into_value()).is_err());
        assert!(OrderStatus::from_value("paid".to_owned().into_value()).is_err());
        assert!(OrderStatus::from_value(1_i64.into_value()).is_err());
    }
}
