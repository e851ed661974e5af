//! Stripe's idempotency layer, in front of every POST that carries an `Idempotency-Key`.
//!
//! As Stripe documents it: the first request with a key runs, and once the endpoint has
//! begun executing its answer (status and body, errors included) is saved; a later request
//! with the same key and the same parameters gets the saved answer back, without running
//! again. A request that fails validation, or that conflicts with a request still running
//! under the same key, saves nothing. The same key with other parameters, or on another
//! endpoint, is an `idempotency_error`. Keys are scoped to the API key (Stripe scopes them
//! to the account and mode); they never expire here (Stripe prunes them after 24 hours).

use std::collections::HashMap;

use axum::http::StatusCode;

use crate::errors::{Answer, StripeError};

#[derive(Default)]
pub(crate) struct Keys {
    entries: HashMap<(String, String), Entry>,
}

struct Entry {
    path: String,
    /// The form parameters, sorted: their order on the wire does not matter.
    params: Vec<(String, String)>,
    state: KeyState,
}

enum KeyState {
    Running,
    Done { answer: Answer, request_id: String },
}

/// What the idempotency layer makes of a request.
pub(crate) enum Lookup {
    /// A key seen for the first time (reserved if asked): run the request.
    New,
    /// The saved answer of the request that first used the key.
    Replay {
        answer: Answer,
        original_request: String,
    },
    /// The key cannot be used for this request.
    Refused(Answer),
}

impl Keys {
    /// Looks `key` up for a request to `path` with `params`. A key seen for the first time
    /// is reserved when `reserve` (the request passed validation and will run), and left
    /// free otherwise.
    pub(crate) fn look_up(
        &mut self,
        scope: &str,
        key: &str,
        path: &str,
        params: &[(String, String)],
        reserve: bool,
    ) -> Lookup {
        let params = sorted(params);
        let id = (scope.to_owned(), key.to_owned());
        let Some(entry) = self.entries.get(&id) else {
            if reserve {
                self.entries.insert(
                    id,
                    Entry {
                        path: path.to_owned(),
                        params,
                        state: KeyState::Running,
                    },
                );
            }
            return Lookup::New;
        };
        if entry.path != path {
            return Lookup::Refused(
                StripeError::idempotency(format!(
                    "Keys for idempotent requests can only be used for the same endpoint they \
                     were first used for ('{path}' vs '{}'). Try using a key other than \
                     '{key}' if you meant to execute a different request.",
                    entry.path
                ))
                .answer(),
            );
        }
        if entry.params != params {
            return Lookup::Refused(
                StripeError::idempotency(format!(
                    "Keys for idempotent requests can only be used with the same parameters \
                     they were first used with. Try using a key other than '{key}' if you \
                     meant to execute a different request."
                ))
                .answer(),
            );
        }
        match &entry.state {
            KeyState::Running => Lookup::Refused(
                StripeError::idempotency(format!(
                    "There is currently another in-progress request using this Idempotent Key \
                     (that probably means you submitted twice, and the other request is still \
                     going through): {key}. Please try again later."
                ))
                .status(StatusCode::CONFLICT)
                .code("idempotency_key_in_use")
                .answer(),
            ),
            KeyState::Done { answer, request_id } => Lookup::Replay {
                answer: answer.clone(),
                original_request: request_id.clone(),
            },
        }
    }

    /// Saves the answer of the request that reserved `key`.
    pub(crate) fn complete(&mut self, scope: &str, key: &str, answer: Answer, request_id: String) {
        if let Some(entry) = self.entries.get_mut(&(scope.to_owned(), key.to_owned())) {
            entry.state = KeyState::Done { answer, request_id };
        }
    }
}

fn sorted(params: &[(String, String)]) -> Vec<(String, String)> {
    let mut params = params.to_vec();
    params.sort();
    params
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::test_form as form;

    #[test]
    fn a_finished_request_is_replayed_whatever_the_order_of_its_parameters() {
        let mut keys = Keys::default();
        let first = form(&[("amount", "1000"), ("currency", "usd")]);
        assert!(matches!(
            keys.look_up("sk", "k", "/v1/charges", &first, true),
            Lookup::New
        ));
        keys.complete("sk", "k", Answer::ok(json!({"id": "ch_1"})), "req_1".into());

        let reordered = form(&[("currency", "usd"), ("amount", "1000")]);
        match keys.look_up("sk", "k", "/v1/charges", &reordered, true) {
            Lookup::Replay {
                answer,
                original_request,
            } => {
                assert_eq!(answer.body["id"], "ch_1");
                assert_eq!(original_request, "req_1");
            }
            _ => panic!("expected a replay"),
        }
    }

    #[test]
    fn a_key_is_refused_on_another_endpoint() {
        let mut keys = Keys::default();
        keys.look_up("sk", "k", "/v1/charges", &[], true);
        let Lookup::Refused(answer) = keys.look_up("sk", "k", "/v1/refunds", &[], true) else {
            panic!("expected a refusal");
        };
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert_eq!(answer.body["error"]["type"], "idempotency_error");
    }

    #[test]
    fn a_request_that_did_not_reserve_its_key_leaves_it_free() {
        let mut keys = Keys::default();
        keys.look_up("sk", "k", "/v1/charges", &form(&[("amount", "x")]), false);
        assert!(matches!(
            keys.look_up("sk", "k", "/v1/charges", &form(&[("amount", "1")]), true),
            Lookup::New
        ));
    }

    #[test]
    fn keys_of_different_api_keys_do_not_meet() {
        let mut keys = Keys::default();
        keys.look_up("sk_a", "k", "/v1/charges", &[], true);
        assert!(matches!(
            keys.look_up("sk_b", "k", "/v1/charges", &[], true),
            Lookup::New
        ));
    }
}
