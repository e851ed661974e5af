//! Money: integer cents inside, a JSON number in currency units with at most two decimals
//! outside (`10.5` is 1050 cents). Never a float in between.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// The largest accepted price: one million currency units.
pub const MAX_PRICE_CENTS: i64 = 100_000_000;

/// A positive amount of money in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("Price must be a number")]
    NotANumber,
    #[error("Price must be greater than 0")]
    NotPositive,
    #[error("Price can have at most two decimal places")]
    TooPrecise,
    #[error("Price must be at most 1000000")]
    TooLarge,
}

impl Price {
    /// Cents, already known to be valid (from the database or a trusted event).
    pub fn from_cents(cents: i64) -> Result<Self, PriceError> {
        if cents <= 0 {
            Err(PriceError::NotPositive)
        } else if cents > MAX_PRICE_CENTS {
            Err(PriceError::TooLarge)
        } else {
            Ok(Self(cents))
        }
    }

    pub fn cents(self) -> i64 {
        self.0
    }

    /// Parses a request field: a JSON number, at most two decimals, above zero; or a string
    /// holding such a price exactly as a JSON number writes it (`"20.00"`: the original
    /// course client sends prices that way, docs/spec.md §3). Any other string is not a
    /// number.
    pub fn from_json(field: Option<&Value>) -> Result<Self, PriceError> {
        match field {
            None | Some(Value::Null) => Err(PriceError::NotPositive),
            Some(Value::Number(number)) => Self::parse_decimal(&number.to_string()),
            Some(Value::String(text)) => Self::from_text(text).ok_or(PriceError::NotANumber),
            Some(_) => Err(PriceError::NotANumber),
        }
    }

    /// A valid price written as a JSON number would be, with nothing around it.
    fn from_text(text: &str) -> Option<Self> {
        let number_only = !text.is_empty()
            && text.trim() == text
            && !text.starts_with('-')
            && serde_json::from_str::<serde_json::Number>(text).is_ok();
        number_only
            .then(|| Self::parse_decimal(text).ok())
            .flatten()
    }

    /// Parses the decimal text of a JSON number (`"10"`, `"10.5"`, `"1e2"`, `"10.50"`).
    pub fn parse_decimal(text: &str) -> Result<Self, PriceError> {
        let text = text.trim();
        if text.starts_with('-') {
            // Reject before parsing so that "-0" is not "0 and fine".
            return match text.trim_start_matches('-').parse::<f64>() {
                Ok(_) => Err(PriceError::NotPositive),
                Err(_) => Err(PriceError::NotANumber),
            };
        }
        let (mantissa, exponent) = match text.find(['e', 'E']) {
            Some(at) => {
                let exponent: i32 = text[at + 1..].parse().map_err(|_| PriceError::NotANumber)?;
                (&text[..at], exponent)
            }
            None => (text, 0),
        };
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits_ok = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty() && fraction.is_empty() || !digits_ok(whole) || !digits_ok(fraction) {
            return Err(PriceError::NotANumber);
        }
        // All significant digits and where the decimal point sits among them.
        let mut digits: String = format!("{whole}{fraction}");
        let mut scale =
            i64::try_from(fraction.len()).map_err(|_| PriceError::TooLarge)? - i64::from(exponent);
        // Trailing zeros after the point carry no precision: 10.50 is 10.5.
        while scale > 0 && digits.ends_with('0') {
            digits.pop();
            scale -= 1;
        }
        if scale > 2 {
            return Err(if digits.trim_start_matches('0').is_empty() {
                PriceError::NotPositive
            } else {
                PriceError::TooPrecise
            });
        }
        let digits = digits.trim_start_matches('0');
        if digits.is_empty() {
            return Err(PriceError::NotPositive);
        }
        // Shift to cents: append (2 - scale) zeros; refuse anything absurd before parsing.
        let zeros = usize::try_from(2 - scale).map_err(|_| PriceError::TooLarge)?;
        if digits.len() + zeros > 12 {
            return Err(PriceError::TooLarge);
        }
        let cents: i64 = format!("{digits}{}", "0".repeat(zeros))
            .parse()
            .map_err(|_| PriceError::TooLarge)?;
        Self::from_cents(cents)
    }
}

impl fmt::Display for Price {
    /// Always two decimals: `10.50`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl Serialize for Price {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The shortest float text of a two-decimal amount is that amount exactly.
        let units = self.0 as f64 / 100.0;
        if self.0 % 100 == 0 {
            serializer.serialize_i64(self.0 / 100)
        } else {
            serializer.serialize_f64(units)
        }
    }
}

impl<'de> Deserialize<'de> for Price {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let number = serde_json::Number::deserialize(deserializer)?;
        Self::parse_decimal(&number.to_string()).map_err(serde::de::Error::custom)
    }
}

/// A price as someone typed it into a form, sent the way the API reads a price: a JSON
/// number when the text is one, the text itself when it is not (the service then says what
/// is wrong with it, next to the field), `null` when it is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriceText(pub String);

impl PriceText {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }
}

impl Serialize for PriceText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.0.trim();
        if text.is_empty() {
            return serializer.serialize_none();
        }
        match serde_json::from_str::<serde_json::Number>(text) {
            Ok(number) => number.serialize(serializer),
            Err(_) => serializer.serialize_str(text),
        }
    }
}

impl<'de> Deserialize<'de> for PriceText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self(match Value::deserialize(deserializer)? {
            Value::Null => String::new(),
            Value::String(text) => text,
            other => other.to_string(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<i64, String> {
        Price::from_json(Some(&value))
            .map(Price::cents)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn whole_and_decimal_numbers_become_exact_cents() {
        assert_eq!(parse(json!(10)), Ok(1000));
        assert_eq!(parse(json!(10.5)), Ok(1050));
        assert_eq!(parse(json!(10.50)), Ok(1050));
        assert_eq!(parse(json!(0.29)), Ok(29));
        assert_eq!(parse(json!(0.01)), Ok(1));
        assert_eq!(parse(json!(19.99)), Ok(1999));
        assert_eq!(parse(json!(1e2)), Ok(10000));
        assert_eq!(parse(json!(1000000)), Ok(100_000_000));
    }

    #[test]
    fn decimal_text_with_exponents_and_zeros_is_exact() {
        assert_eq!(Price::parse_decimal("1.5e1").map(Price::cents), Ok(1500));
        assert_eq!(Price::parse_decimal("125e-2").map(Price::cents), Ok(125));
        assert_eq!(Price::parse_decimal("10.500").map(Price::cents), Ok(1050));
        assert_eq!(Price::parse_decimal("007.10").map(Price::cents), Ok(710));
        assert_eq!(Price::parse_decimal("1.005"), Err(PriceError::TooPrecise));
        assert_eq!(Price::parse_decimal("1e-3"), Err(PriceError::TooPrecise));
        assert_eq!(Price::parse_decimal("0.001"), Err(PriceError::TooPrecise));
        assert_eq!(Price::parse_decimal("0.000"), Err(PriceError::NotPositive));
    }

    #[test]
    fn zero_negative_and_missing_prices_must_be_greater_than_zero() {
        for value in [
            json!(0),
            json!(0.0),
            json!(-1),
            json!(-0.0),
            json!(-10.5),
            Value::Null,
        ] {
            assert_eq!(
                parse(value.clone()),
                Err("Price must be greater than 0".into()),
                "{value}"
            );
        }
        assert_eq!(Price::from_json(None), Err(PriceError::NotPositive));
    }

    #[test]
    fn a_string_holding_a_valid_price_is_read_exactly_as_the_number() {
        assert_eq!(parse(json!("20.00")), Ok(2000));
        assert_eq!(parse(json!("20")), Ok(2000));
        assert_eq!(parse(json!("10.5")), Ok(1050));
        assert_eq!(parse(json!("0.29")), Ok(29));
        assert_eq!(parse(json!("1e2")), Ok(10000));
        assert_eq!(parse(json!("1000000")), Ok(100_000_000));
    }

    #[test]
    fn any_other_string_is_not_a_number() {
        for text in [
            "",
            " 20",
            "20 ",
            "abc",
            "20,00",
            "$20",
            "+20",
            "-20",
            "0",
            "0.00",
            "20.001",
            "1000000.01",
            "NaN",
            "Infinity",
            "0x14",
            "20.",
            ".5",
            "1e400",
        ] {
            assert_eq!(
                parse(json!(text)),
                Err("Price must be a number".into()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn non_numbers_are_refused() {
        for value in [json!("abc"), json!(true), json!([10]), json!({"a": 1})] {
            assert_eq!(
                parse(value.clone()),
                Err("Price must be a number".into()),
                "{value}"
            );
        }
    }

    #[test]
    fn too_many_decimals_and_absurd_amounts_are_refused() {
        assert_eq!(
            parse(json!(10.123)),
            Err("Price can have at most two decimal places".into())
        );
        assert_eq!(
            parse(json!(1000000.01)),
            Err("Price must be at most 1000000".into())
        );
        assert_eq!(
            parse(json!(1e300)),
            Err("Price must be at most 1000000".into())
        );
        assert_eq!(
            parse(json!(u64::MAX)),
            Err("Price must be at most 1000000".into())
        );
        assert_eq!(
            parse(json!(f64::MAX)),
            Err("Price must be at most 1000000".into())
        );
        assert_eq!(
            Price::parse_decimal("1e999999999999"),
            Err(PriceError::NotANumber)
        );
    }

    #[test]
    fn serialises_as_units_and_round_trips() {
        for cents in [1, 29, 100, 1050, 1999, 100_000_000] {
            let price = Price::from_cents(cents).unwrap();
            let text = serde_json::to_string(&price).unwrap();
            assert_eq!(
                serde_json::from_str::<Price>(&text).unwrap(),
                price,
                "{text}"
            );
        }
        assert_eq!(
            serde_json::to_string(&Price::from_cents(1050).unwrap()).unwrap(),
            "10.5"
        );
        assert_eq!(
            serde_json::to_string(&Price::from_cents(1000).unwrap()).unwrap(),
            "10"
        );
    }

    #[test]
    fn displays_with_two_decimals() {
        assert_eq!(Price::from_cents(1050).unwrap().to_string(), "10.50");
        assert_eq!(Price::from_cents(7).unwrap().to_string(), "0.07");
        assert_eq!(Price::from_cents(100).unwrap().to_string(), "1.00");
    }

    #[test]
    fn typed_prices_go_out_as_numbers_when_they_are() {
        let wire = |text: &str| serde_json::to_value(PriceText::new(text)).unwrap();
        assert_eq!(wire("10.50"), json!(10.5));
        assert_eq!(wire(" 7 "), json!(7));
        assert_eq!(wire("ten"), json!("ten"));
        assert_eq!(wire(""), Value::Null);
        assert_eq!(
            serde_json::from_value::<PriceText>(json!(10.5)).unwrap(),
            PriceText::new("10.5")
        );
    }
}
