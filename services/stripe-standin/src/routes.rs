//! The HTTP side: every request is recorded, then (unless the stand-in is down)
//! authenticated, routed, and for POSTs passed through the idempotency layer. The work of a
//! POST runs in a task of its own, so a client hanging up loses the answer, not the charge.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::errors::{Answer, StripeError};
use crate::idempotency::Lookup;
use crate::ledger::{ChargeRecord, LedgerCharge, LedgerRefund, Received, new_id, now};
use crate::{Shared, State, search, tokens};

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// An answer and what the response headers say about it.
struct Reply {
    answer: Answer,
    /// The idempotency key of a POST, echoed back.
    idempotency_key: Option<String>,
    /// For a replayed answer, the id of the request that produced it.
    original_request: Option<String>,
}

impl From<Answer> for Reply {
    fn from(answer: Answer) -> Self {
        Self {
            answer,
            idempotency_key: None,
            original_request: None,
        }
    }
}

impl From<StripeError> for Reply {
    fn from(error: StripeError) -> Self {
        error.answer().into()
    }
}

async fn handle(
    extract::State(shared): extract::State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = new_id("req");
    let header = |name: HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let query = decode(uri.query().unwrap_or_default().as_bytes());
    let form = decode(&body);
    let received = Received {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: query.clone(),
        authorization: header(AUTHORIZATION),
        idempotency_key: header(HeaderName::from_static("idempotency-key"))
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty()),
        content_type: header(CONTENT_TYPE),
        form: form.clone(),
    };
    let idempotency_key = received.idempotency_key.clone();
    let down = shared.write(|state| {
        state.requests.push(received);
        state.down
    });
    let reply = if down {
        StripeError::api(
            "The Stripe stand-in is down: a staged outage. Nothing was done; try again later.",
        )
        .into()
    } else {
        match authenticate(&headers) {
            Err(error) => error.into(),
            Ok(api_key) => {
                let request = Request {
                    shared,
                    request_id: request_id.clone(),
                    api_key,
                    idempotency_key,
                };
                route(request, &method, uri.path(), query, form).await
            }
        }
    };
    respond(reply, &request_id)
}

/// Decodes a form body or query string; Stripe's nested names (`metadata[order_id]`) stay
/// as they are.
fn decode(bytes: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(bytes).unwrap_or_default()
}

/// `Authorization: Bearer sk_…`. Stripe also accepts the key as the user of Basic auth;
/// the stand-in does not.
fn authenticate(headers: &HeaderMap) -> Result<String, StripeError> {
    let key = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default();
    if key.is_empty() {
        return Err(StripeError::invalid_request(
            "You did not provide an API key. You need to provide your API key in the \
             Authorization header, using Bearer auth (e.g. 'Authorization: Bearer \
             YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, \
             or we can help at https://support.stripe.com/.",
        )
        .status(StatusCode::UNAUTHORIZED));
    }
    if !key.starts_with("sk_") {
        return Err(StripeError::invalid_request(format!(
            "Invalid API Key provided: {}",
            mask(key)
        ))
        .code("api_key_invalid")
        .status(StatusCode::UNAUTHORIZED));
    }
    Ok(key.to_owned())
}

/// `sk_test_****************abcd`, as Stripe shows a key it refuses.
fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let shown = chars.len().min(8);
    let tail = chars.len().saturating_sub(shown).min(4);
    let hidden = chars.len() - shown - tail;
    chars[..shown]
        .iter()
        .chain(std::iter::repeat_n(&'*', hidden))
        .chain(&chars[chars.len() - tail..])
        .collect()
}

/// An authenticated request, with what its handling needs.
struct Request {
    shared: Arc<Shared>,
    request_id: String,
    api_key: String,
    idempotency_key: Option<String>,
}

async fn route(
    request: Request,
    method: &Method,
    path: &str,
    query: Vec<(String, String)>,
    form: Vec<(String, String)>,
) -> Reply {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (&Method::POST, ["v1", "charges"]) => {
            let command = parse_charge(&form).map(Command::Charge);
            post(request, path, form, command).await
        }
        (&Method::POST, ["v1", "refunds"]) => {
            let command = parse_refund(&form).map(Command::Refund);
            post(request, path, form, command).await
        }
        (&Method::GET, ["v1", "charges", "search"]) => search(&request.shared, &query).into(),
        (&Method::GET, ["v1", "charges", id]) => retrieve(&request.shared, id).into(),
        _ => StripeError::invalid_request(format!(
            "Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs \
             or we can help at https://support.stripe.com/."
        ))
        .status(StatusCode::NOT_FOUND)
        .into(),
    }
}

/// What a POST asks for, once its parameters are valid.
enum Command {
    Charge(ChargeParams),
    Refund(RefundParams),
}

/// A POST through the idempotency layer: a known key is replayed or refused; invalid
/// parameters are refused without saving anything; otherwise the command runs in a task
/// of its own and its answer is saved under the key.
async fn post(
    request: Request,
    path: &str,
    form: Vec<(String, String)>,
    command: Result<Command, StripeError>,
) -> Reply {
    let Request {
        shared,
        request_id,
        api_key,
        idempotency_key,
    } = request;
    if let Some(key) = &idempotency_key {
        let valid = command.is_ok();
        let lookup = shared.write(|state| state.keys.look_up(&api_key, key, path, &form, valid));
        match lookup {
            Lookup::New => {}
            Lookup::Replay {
                answer,
                original_request,
            } => {
                return Reply {
                    answer,
                    idempotency_key,
                    original_request: Some(original_request),
                };
            }
            Lookup::Refused(answer) => {
                return Reply {
                    answer,
                    idempotency_key,
                    original_request: None,
                };
            }
        }
    }
    let command = match command {
        Ok(command) => command,
        Err(error) => {
            return Reply {
                idempotency_key,
                ..error.into()
            };
        }
    };
    let livemode = api_key.starts_with("sk_live_");
    let key = idempotency_key.clone();
    let work = tokio::spawn(async move {
        // Saved in the same write as the ledger change, so a retry never sees the one
        // without the other.
        let save = |state: &mut State, answer: &Answer| {
            if let Some(key) = &key {
                let request_id = request_id.clone();
                state
                    .keys
                    .complete(&api_key, key, answer.clone(), request_id);
            }
        };
        match command {
            Command::Charge(params) => {
                create_charge(&shared, params, key.clone(), livemode, save).await
            }
            Command::Refund(params) => shared.write(|state| {
                let answer = refund(state, params, key.clone());
                save(state, &answer);
                answer
            }),
        }
    });
    let answer = work.await.unwrap_or_else(|error| {
        StripeError::api(format!("The Stripe stand-in failed: {error}")).answer()
    });
    Reply {
        answer,
        idempotency_key,
        original_request: None,
    }
}

struct ChargeParams {
    amount: i64,
    currency: String,
    source: String,
    description: Option<String>,
    metadata: BTreeMap<String, String>,
}

/// The parameters of `POST /v1/charges` the stand-in models; a few more are accepted and
/// ignored; any other is refused as Stripe refuses an unknown one.
fn parse_charge(form: &[(String, String)]) -> Result<ChargeParams, StripeError> {
    let (mut amount, mut currency, mut source, mut description) = (None, None, None, None);
    let mut metadata = BTreeMap::new();
    for (name, value) in form {
        match name.as_str() {
            "amount" => amount = Some(value),
            "currency" => currency = Some(value),
            "source" => source = Some(value),
            "description" => description = Some(value.clone()),
            "receipt_email" | "statement_descriptor" | "statement_descriptor_suffix" => {}
            _ => add_metadata(&mut metadata, name, value)?,
        }
    }
    let amount = parse_amount(amount.ok_or_else(|| StripeError::missing_param("amount"))?)?;
    let currency = parse_currency(currency.ok_or_else(|| StripeError::missing_param("currency"))?)?;
    if currency == "usd" && amount < 50 {
        return Err(
            StripeError::invalid_request("Amount must be at least $0.50 usd")
                .code("amount_too_small")
                .param("amount"),
        );
    }
    let source = source
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            StripeError::invalid_request("Must provide source or customer.")
                .code("parameter_missing")
                .param("source")
        })?
        .clone();
    Ok(ChargeParams {
        amount,
        currency,
        source,
        description,
        metadata,
    })
}

/// `metadata[key]=value`; an empty value sets nothing, as on Stripe.
fn add_metadata(
    metadata: &mut BTreeMap<String, String>,
    name: &str,
    value: &str,
) -> Result<(), StripeError> {
    let key = name
        .strip_prefix("metadata[")
        .and_then(|rest| rest.strip_suffix(']'))
        .filter(|key| !key.is_empty() && !key.contains(['[', ']']))
        .ok_or_else(|| StripeError::unknown_param(name))?;
    if !value.is_empty() {
        metadata.insert(key.to_owned(), value.to_owned());
    }
    Ok(())
}

fn parse_amount(value: &str) -> Result<i64, StripeError> {
    let amount: i64 = value.parse().map_err(|_| {
        StripeError::invalid_request(format!("Invalid integer: {value}"))
            .code("parameter_invalid_integer")
            .param("amount")
    })?;
    if amount < 1 {
        return Err(StripeError::invalid_request("Invalid positive integer")
            .code("parameter_invalid_integer")
            .param("amount"));
    }
    Ok(amount)
}

/// Three letters, folded to lowercase as Stripe does.
fn parse_currency(value: &str) -> Result<String, StripeError> {
    if value.len() == 3 && value.chars().all(|c| c.is_ascii_alphabetic()) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(
            StripeError::invalid_request(format!("Invalid currency: {value}."))
                .code("parameter_invalid_string")
                .param("currency"),
        )
    }
}

/// Charges the token: a decline is kept as a failed charge and answered 402; a `tok_slow`
/// waits while slow charges are held. Runs in its own task (see [`post`]); `save` saves
/// the answer under the idempotency key, in the same write as the ledger change.
async fn create_charge(
    shared: &Shared,
    params: ChargeParams,
    idempotency_key: Option<String>,
    livemode: bool,
    save: impl FnOnce(&mut State, &Answer),
) -> Answer {
    let Some(card) = tokens::lookup(&params.source) else {
        let answer = StripeError::no_such("token", &params.source, "source").answer();
        shared.write(|state| save(state, &answer));
        return answer;
    };
    if card.slow {
        shared.wait_while_slow_charges_are_held().await;
    }
    let charge = LedgerCharge {
        id: new_id("ch"),
        amount: params.amount,
        currency: params.currency,
        source: params.source,
        description: params.description,
        metadata: params.metadata,
        idempotency_key,
        refunded: false,
        amount_refunded: 0,
        created: now(),
    };
    let record = ChargeRecord::new(charge, &card, livemode);
    let answer = match &record.decline {
        None => Answer::ok(record.to_json()),
        Some(decline) => StripeError::card(
            decline.message,
            decline.code,
            decline.decline_code,
            &record.charge.id,
        )
        .answer(),
    };
    shared.write(|state| {
        state.charges.push(record);
        save(state, &answer);
    });
    answer
}

struct RefundParams {
    charge: String,
    amount: Option<i64>,
    reason: Option<String>,
    metadata: BTreeMap<String, String>,
}

fn parse_refund(form: &[(String, String)]) -> Result<RefundParams, StripeError> {
    let (mut charge, mut amount, mut reason) = (None, None, None);
    let mut metadata = BTreeMap::new();
    for (name, value) in form {
        match name.as_str() {
            "charge" => charge = Some(value.clone()),
            "amount" => amount = Some(parse_amount(value)?),
            "reason" => {
                if !["duplicate", "fraudulent", "requested_by_customer"].contains(&value.as_str()) {
                    return Err(StripeError::invalid_request(
                        "Invalid reason: must be one of duplicate, fraudulent, or \
                         requested_by_customer",
                    )
                    .code("parameter_invalid_string")
                    .param("reason"));
                }
                reason = Some(value.clone());
            }
            "payment_intent" => {
                return Err(StripeError::invalid_request(
                    "The Stripe stand-in refunds charges only, not PaymentIntents.",
                )
                .param("payment_intent"));
            }
            _ => add_metadata(&mut metadata, name, value)?,
        }
    }
    let charge = charge.filter(|c| !c.is_empty()).ok_or_else(|| {
        StripeError::invalid_request(
            "One of the following params should be provided for this request: payment_intent \
             or charge.",
        )
    })?;
    Ok(RefundParams {
        charge,
        amount,
        reason,
        metadata,
    })
}

/// Refunds `amount` of the charge (by default all that is left of it).
fn refund(state: &mut State, params: RefundParams, idempotency_key: Option<String>) -> Answer {
    let Some(record) = state
        .charges
        .iter_mut()
        .find(|c| c.charge.id == params.charge)
    else {
        return StripeError::no_such("charge", &params.charge, "charge").answer();
    };
    let charge = &mut record.charge;
    if record.decline.is_some() {
        return StripeError::invalid_request(format!(
            "Charge {} failed, so there is nothing to refund.",
            charge.id
        ))
        .param("charge")
        .answer();
    }
    let left = charge.amount - charge.amount_refunded;
    if left == 0 {
        return StripeError::invalid_request(format!(
            "Charge {} has already been refunded.",
            charge.id
        ))
        .code("charge_already_refunded")
        .answer();
    }
    let amount = params.amount.unwrap_or(left);
    if amount > left {
        return StripeError::invalid_request(format!(
            "Refund amount ({}) is greater than unrefunded amount on charge ({})",
            money(amount, &charge.currency),
            money(left, &charge.currency)
        ))
        .param("amount")
        .answer();
    }
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded == charge.amount;
    let refund = LedgerRefund {
        id: new_id("re"),
        charge: charge.id.clone(),
        amount,
        currency: charge.currency.clone(),
        reason: params.reason,
        metadata: params.metadata,
        idempotency_key,
        created: now(),
    };
    let answer = Answer::ok(refund.to_json());
    state.refunds.push(refund);
    answer
}

/// `$10.00` for dollars; other currencies in their smallest unit, `1000 eur`.
fn money(amount: i64, currency: &str) -> String {
    if currency == "usd" {
        format!("${}.{:02}", amount / 100, amount % 100)
    } else {
        format!("{amount} {currency}")
    }
}

/// `GET /v1/charges/:id`, failed charges included, as on Stripe.
fn retrieve(shared: &Shared, id: &str) -> Answer {
    shared.read(|state| {
        state
            .charges
            .iter()
            .find(|c| c.charge.id == id)
            .map(|c| Answer::ok(c.to_json()))
            .unwrap_or_else(|| {
                StripeError::no_such("charge", id, "id")
                    .status(StatusCode::NOT_FOUND)
                    .answer()
            })
    })
}

/// `GET /v1/charges/search?query=…&limit=…&page=…`: the matching charges, newest first,
/// failed ones included unless the query says `status:'succeeded'` (as on Stripe, where a
/// declined charge is a charge with `status: "failed"`). Unlike Stripe, a charge is
/// searchable at once (Stripe documents a delay of up to a minute).
fn search(shared: &Shared, query: &[(String, String)]) -> Answer {
    match search_page(query) {
        Err(error) => error.answer(),
        Ok((clauses, offset, limit)) => shared.read(|state| {
            let hits: Vec<&ChargeRecord> = state
                .charges
                .iter()
                .rev()
                .filter(|c| clauses.iter().all(|clause| c.matches(clause)))
                .collect();
            let data: Vec<_> = hits
                .iter()
                .skip(offset)
                .take(limit)
                .map(|c| c.to_json())
                .collect();
            let has_more = hits.len() > offset + limit;
            Answer::ok(json!({
                "object": "search_result",
                "url": "/v1/charges/search",
                "has_more": has_more,
                "next_page": has_more.then(|| format!("page_{}", offset + limit)),
                "data": data,
            }))
        }),
    }
}

/// The clauses, the offset the `page` cursor stands for, and the `limit` (1 to 100,
/// 10 by default).
fn search_page(
    query: &[(String, String)],
) -> Result<(Vec<search::Clause>, usize, usize), StripeError> {
    let (mut text, mut limit, mut offset) = (None, 10, 0);
    for (name, value) in query {
        match name.as_str() {
            "query" => text = Some(value),
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .ok_or_else(|| {
                        StripeError::invalid_request(format!(
                            "Invalid limit: must be an integer from 1 to 100, not {value}."
                        ))
                        .param("limit")
                    })?;
            }
            "page" => {
                offset = value
                    .strip_prefix("page_")
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| {
                        StripeError::invalid_request(format!("Invalid page: {value}."))
                            .param("page")
                    })?;
            }
            _ => return Err(StripeError::unknown_param(name)),
        }
    }
    let text = text.ok_or_else(|| StripeError::missing_param("query"))?;
    let clauses = search::parse(text)
        .map_err(|message| StripeError::invalid_request(message).param("query"))?;
    Ok((clauses, offset, limit))
}

fn respond(reply: Reply, request_id: &str) -> Response {
    let Reply {
        answer,
        idempotency_key,
        original_request,
    } = reply;
    let mut response = (answer.status, axum::Json(answer.body)).into_response();
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set("request-id", request_id);
    if let Some(key) = &idempotency_key {
        set("idempotency-key", key);
    }
    if let Some(original) = &original_request {
        set("idempotent-replayed", "true");
        set("original-request", original);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_form as form;

    fn message(error: StripeError) -> String {
        error.answer().body["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn a_charge_reads_its_metadata_and_folds_the_currency() {
        let params = parse_charge(&form(&[
            ("amount", "1000"),
            ("currency", "USD"),
            ("source", "tok_visa"),
            ("metadata[order_id]", "o1"),
            ("metadata[empty]", ""),
        ]))
        .ok()
        .unwrap();
        assert_eq!(params.currency, "usd");
        assert_eq!(
            params.metadata,
            BTreeMap::from([("order_id".to_owned(), "o1".to_owned())])
        );
    }

    #[test]
    fn a_charge_is_refused_as_stripe_refuses_it() {
        for (pairs, expected) in [
            (
                &[("currency", "usd"), ("source", "tok_visa")][..],
                "Missing required param: amount.",
            ),
            (
                &[
                    ("amount", "10.5"),
                    ("currency", "usd"),
                    ("source", "tok_visa"),
                ][..],
                "Invalid integer: 10.5",
            ),
            (
                &[
                    ("amount", "49"),
                    ("currency", "usd"),
                    ("source", "tok_visa"),
                ][..],
                "Amount must be at least $0.50 usd",
            ),
            (
                &[("amount", "1000"), ("source", "tok_visa")][..],
                "Missing required param: currency.",
            ),
            (
                &[("amount", "1000"), ("currency", "usd")][..],
                "Must provide source or customer.",
            ),
            (
                &[
                    ("amount", "1000"),
                    ("currency", "usd"),
                    ("source", "tok_visa"),
                    ("capture", "false"),
                ][..],
                "Received unknown parameter: capture",
            ),
        ] {
            let error = parse_charge(&form(pairs)).err().unwrap();
            assert_eq!(message(error), expected);
        }
    }

    #[test]
    fn a_refund_needs_a_charge() {
        let error = parse_refund(&form(&[("amount", "100")])).err().unwrap();
        assert!(message(error).starts_with("One of the following params"));
    }

    #[test]
    fn a_refused_key_is_masked_but_for_its_prefix_and_last_four() {
        assert_eq!(mask("sk_nope_1234567890"), "sk_nope_******7890");
        assert_eq!(mask("pk"), "pk");
    }

    #[test]
    fn dollars_read_as_dollars() {
        assert_eq!(money(1005, "usd"), "$10.05");
        assert_eq!(money(1005, "eur"), "1005 eur");
    }
}
