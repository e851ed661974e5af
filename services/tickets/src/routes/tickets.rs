//! `/api/tickets` (docs/spec.md §5).

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use common::contract::{api, routes};
use common::db::{self, new_id};
use common::error::collect_fields;
use common::extract::{Field, Json, Path};
use common::money::{Price, price_field};
use common::session::RequireAuth;
use serde::Deserialize;

use crate::domain::{Ticket, Title};
use crate::error::TicketsError;
use crate::quota::Admission;
use crate::startup::AppState;
use crate::store;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::TICKETS, get(list).post(create))
        .route(routes::TICKET, get(show).put(update))
}

#[derive(Debug, Deserialize)]
pub struct TicketInput {
    title: Field,
    price: Field,
}

impl TicketInput {
    fn parse(&self) -> Result<(Title, Price), TicketsError> {
        Ok(collect_fields((
            Title::parse(&self.title),
            price_field(&self.price),
        ))?)
    }
}

/// Lists a ticket, unless the user listed `MAX_LISTINGS_PER_HOUR` in the last hour (429).
#[tracing::instrument(skip_all, fields(user_id = %user.id))]
async fn create(
    State(state): State<AppState>,
    RequireAuth(user): RequireAuth,
    Json(input): Json<TicketInput>,
) -> Result<(StatusCode, Json<api::Ticket>), TicketsError> {
    let (title, price) = input.parse()?;
    let _admitted = match state.listing_quota.admit(&state.db, &user.id).await? {
        Admission::Admitted(guard) => guard,
        Admission::Refused { retry_after } => {
            tracing::info!(?retry_after, "refused: too many listings in the last hour");
            return Err(TicketsError::TooManyListings { retry_after });
        }
    };
    let ticket = Ticket {
        id: new_id(),
        title: title.as_str().to_owned(),
        price,
        user_id: user.id,
        version: 0,
        order_id: None,
        sold: false,
        edit_version: 0,
    };
    store::create(&state.outbox, &ticket).await?;
    tracing::info!(ticket_id = %ticket.id, "ticket listed");
    Ok((StatusCode::CREATED, Json(ticket.into())))
}

#[tracing::instrument(skip_all)]
async fn list(State(state): State<AppState>) -> Result<impl IntoResponse, TicketsError> {
    let body = state.listing.body().await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body))
}

async fn find(state: &AppState, id: &str) -> Result<Ticket, TicketsError> {
    if !db::is_valid_id(id) {
        return Err(TicketsError::NotFound);
    }
    store::get(&state.db, id)
        .await?
        .ok_or(TicketsError::NotFound)
}

#[tracing::instrument(skip(state))]
async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<api::Ticket>, TicketsError> {
    Ok(Json(find(&state, &id).await?.into()))
}

/// Checks, in the order of docs/spec.md §5: signed in, valid input, known ticket, not
/// locked, owner. The update applies only to the version the checks saw; if the ticket
/// changed meanwhile (say, an order locked it) the checks run again on the new state.
#[tracing::instrument(skip(state, user, input), fields(user_id = %user.id))]
async fn update(
    State(state): State<AppState>,
    RequireAuth(user): RequireAuth,
    Path(id): Path<String>,
    Json(input): Json<TicketInput>,
) -> Result<Json<api::Ticket>, TicketsError> {
    let (title, price) = input.parse()?;
    let saved = db::retry_conflicts(|| async {
        let ticket = find(&state, &id).await?;
        if ticket.is_locked() {
            return Err(TicketsError::Reserved);
        }
        if ticket.user_id != user.id {
            return Err(TicketsError::NotOwner);
        }
        let version = ticket.version + 1;
        let edited = Ticket {
            title: title.as_str().to_owned(),
            price,
            version,
            edit_version: version,
            ..ticket
        };
        store::update(&state.outbox, edited.version - 1, &edited).await?;
        Ok(edited)
    })
    .await?;
    Ok(Json(saved.into()))
}
