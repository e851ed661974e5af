//! The part of Stripe's search query language the stand-in understands.
//!
//! A query is clauses `field:value`, joined by spaces or `AND` (any case). A value is
//! quoted, `'…'` or `"…"` (a backslash escapes the quote), or a bare word. Understood
//! fields: `metadata['key']` (or `metadata["key"]`), `status`, `currency`, `amount`, all
//! with the exact-match operator `:`. Anything else (`OR`, negation with `-`, the `~`,
//! `>`, `<` operators, other fields) is refused with a message saying so, rather than
//! answered wrongly.

#[derive(Debug, PartialEq)]
pub(crate) enum Clause {
    Metadata { key: String, value: String },
    Status(String),
    Currency(String),
    Amount(i64),
}

pub(crate) fn parse(query: &str) -> Result<Vec<Clause>, String> {
    let mut parser = Parser {
        chars: query.chars().collect(),
        at: 0,
    };
    let mut clauses = Vec::new();
    loop {
        parser.skip_spaces();
        if parser.done() {
            break;
        }
        if !clauses.is_empty() {
            match parser.keyword() {
                Some(word) if word.eq_ignore_ascii_case("and") => {
                    parser.skip_spaces();
                }
                Some(word) if word.eq_ignore_ascii_case("or") => {
                    return Err(unsupported("OR between clauses"));
                }
                _ => {}
            }
        }
        clauses.push(parser.clause()?);
    }
    if clauses.is_empty() {
        return Err("The search query is empty.".into());
    }
    Ok(clauses)
}

fn unsupported(what: &str) -> String {
    format!(
        "The Stripe stand-in does not support {what} in search queries; it understands \
         metadata['key']:'value', status, currency and amount clauses joined by AND."
    )
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn done(&self) -> bool {
        self.at >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    /// A bare `AND`/`OR` followed by a space, consumed; anything else is left in place.
    fn keyword(&mut self) -> Option<String> {
        let end = (self.at..self.chars.len())
            .find(|&i| self.chars[i].is_whitespace())
            .unwrap_or(self.chars.len());
        let word: String = self.chars[self.at..end].iter().collect();
        let is_keyword = (word.eq_ignore_ascii_case("and") || word.eq_ignore_ascii_case("or"))
            && end < self.chars.len();
        if !is_keyword {
            return None;
        }
        self.at = end;
        Some(word)
    }

    fn clause(&mut self) -> Result<Clause, String> {
        if self.peek() == Some('-') {
            return Err(unsupported("negation (-)"));
        }
        let start = self.at;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            self.at += 1;
        }
        let field: String = self.chars[start..self.at].iter().collect();
        if field.is_empty() {
            return Err(format!(
                "Invalid search query: expected a field at position {}.",
                self.at
            ));
        }
        let key = if self.peek() == Some('[') {
            self.at += 1;
            let key = self.quoted()?;
            if self.peek() != Some(']') {
                return Err(format!("Invalid search query: expected ] after {field}[…."));
            }
            self.at += 1;
            Some(key)
        } else {
            None
        };
        match self.peek() {
            Some(':') => self.at += 1,
            Some(op @ ('~' | '>' | '<')) => return Err(unsupported(&format!("the {op} operator"))),
            _ => {
                return Err(format!(
                    "Invalid search query: expected : after the field {field}."
                ));
            }
        }
        let value = self.value()?;
        match (field.as_str(), key) {
            ("metadata", Some(key)) => Ok(Clause::Metadata { key, value }),
            ("status", None) => Ok(Clause::Status(value)),
            ("currency", None) => Ok(Clause::Currency(value)),
            ("amount", None) => value.parse().map(Clause::Amount).map_err(|_| {
                format!("Invalid search query: amount must be an integer, not {value}.")
            }),
            (field, _) => Err(unsupported(&format!("the field {field}"))),
        }
    }

    fn value(&mut self) -> Result<String, String> {
        match self.peek() {
            Some('\'' | '"') => self.quoted(),
            _ => {
                let start = self.at;
                while self.peek().is_some_and(|c| !c.is_whitespace()) {
                    self.at += 1;
                }
                if start == self.at {
                    return Err("Invalid search query: a clause has no value.".into());
                }
                Ok(self.chars[start..self.at].iter().collect())
            }
        }
    }

    /// `'…'` or `"…"`, a backslash escaping the next character.
    fn quoted(&mut self) -> Result<String, String> {
        let Some(quote @ ('\'' | '"')) = self.peek() else {
            return Err(format!(
                "Invalid search query: expected a quoted string at position {}.",
                self.at
            ));
        };
        self.at += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return Err("Invalid search query: a quoted string is not closed.".into()),
                Some('\\') => {
                    self.at += 1;
                    if let Some(c) = self.peek() {
                        text.push(c);
                        self.at += 1;
                    }
                }
                Some(c) if c == quote => {
                    self.at += 1;
                    return Ok(text);
                }
                Some(c) => {
                    text.push(c);
                    self.at += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(key: &str, value: &str) -> Clause {
        Clause::Metadata {
            key: key.into(),
            value: value.into(),
        }
    }

    #[test]
    fn a_metadata_clause_reads_with_single_or_double_quotes() {
        assert_eq!(
            parse("metadata['order_id']:'01J'"),
            Ok(vec![metadata("order_id", "01J")])
        );
        assert_eq!(
            parse(r#"metadata["order_id"]:"01J""#),
            Ok(vec![metadata("order_id", "01J")])
        );
    }

    #[test]
    fn clauses_join_with_spaces_or_and_in_any_case() {
        let both = vec![
            metadata("order_id", "a b"),
            Clause::Status("succeeded".into()),
        ];
        assert_eq!(
            parse("metadata['order_id']:'a b' status:'succeeded'"),
            Ok(both)
        );
        assert_eq!(
            parse("  metadata['order_id']:'a b'  and  status:succeeded "),
            Ok(vec![
                metadata("order_id", "a b"),
                Clause::Status("succeeded".into())
            ])
        );
        assert_eq!(
            parse("currency:'usd' AND amount:1000"),
            Ok(vec![Clause::Currency("usd".into()), Clause::Amount(1000)])
        );
    }

    #[test]
    fn a_backslash_escapes_a_quote_in_a_value() {
        assert_eq!(
            parse(r"metadata['note']:'it\'s'"),
            Ok(vec![metadata("note", "it's")])
        );
    }

    #[test]
    fn what_the_stand_in_does_not_understand_is_refused() {
        for query in [
            "",
            "   ",
            "metadata['a']:'1' OR metadata['a']:'2'",
            "-status:'failed'",
            "amount>1000",
            "email~'amy'",
            "customer:'cus_1'",
            "metadata['a']:'unclosed",
            "metadata['a':'1'",
            "metadata:'1'",
            "status:",
            "amount:lots",
        ] {
            assert!(parse(query).is_err(), "{query:?} was accepted");
        }
    }

    #[test]
    fn a_value_may_be_a_word_that_looks_like_a_keyword() {
        assert_eq!(parse("metadata['k']:OR"), Ok(vec![metadata("k", "OR")]));
    }
}
