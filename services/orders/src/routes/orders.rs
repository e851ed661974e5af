//! `/api/orders` (docs/spec.md §6).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use common::FieldError;
use common::contract::{api, routes};
use common::db::{self, new_id};
use common::events::{CancelReason, OrderStatus};
use common::extract::{Field, Json, Path, field_str};
use common::session::RequireAuth;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::domain::{Order, PricedTicket, expiry};
use crate::error::OrdersError;
use crate::startup::AppState;
use crate::store;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::ORDERS, get(list).post(create))
        .route(routes::ORDER, get(show).delete(cancel))
}

#[derive(Debug, Deserialize)]
pub struct OrderInput {
    #[serde(rename = "ticketId")]
    ticket_id: Field,
}

fn ticket_id(input: &OrderInput) -> Result<String, FieldError> {
    match field_str(&input.ticket_id).map(str::trim) {
        Some(id) if !id.is_empty() => Ok(id.to_owned()),
        _ => Err(FieldError::new("ticketId", "TicketId must be provided")),
    }
}

/// Reserves the ticket: the order, its hold on the ticket and `order:created` commit
/// together, and the hold's primary key lets only one active order have the ticket. The same
/// transaction refuses the order (429) when the buyer already has `max_open_orders` open.
#[tracing::instrument(skip_all, fields(user_id = %user.id))]
async fn create(
    State(state): State<AppState>,
    RequireAuth(user): RequireAuth,
    Json(input): Json<OrderInput>,
) -> Result<(StatusCode, Json<api::Order>), OrdersError> {
    let ticket_id = ticket_id(&input)?;
    if !db::is_valid_id(&ticket_id) {
        return Err(OrdersError::NotFound);
    }
    let order = db::retry_conflicts(|| async {
        let ticket = store::replica_ticket(&state.db, &ticket_id)
            .await?
            .ok_or(OrdersError::NotFound)?;
        if ticket.user_id == user.id {
            return Err(OrdersError::OwnTicket);
        }
        let order = Order {
            id: new_id(),
            user_id: user.id.clone(),
            status: OrderStatus::Created,
            expires_at: expiry(OffsetDateTime::now_utc(), state.window),
            version: 0,
            ticket: PricedTicket {
                price: ticket.price,
                version: u64::try_from(ticket.version).unwrap_or_default(),
                id: ticket.id,
                title: ticket.title,
            },
            cancel_reason: None,
        };
        match store::create_order(&state.outbox, &order, state.max_open_orders).await {
            Ok(()) => Ok(order),
            Err(error) if db::is_duplicate(&error) => Err(OrdersError::AlreadyReserved),
            Err(error) if store::is_too_many_open(&error) => {
                Err(OrdersError::TooManyOpenOrders { retry_after: None })
            }
            Err(error) => Err(error.into()),
        }
    })
    .await;
    let order = match order {
        Err(OrdersError::TooManyOpenOrders { .. }) => {
            tracing::info!("refused: too many open orders");
            let retry_after =
                store::until_first_open_expires(&state.db, &user.id, OffsetDateTime::now_utc())
                    .await?;
            return Err(OrdersError::TooManyOpenOrders { retry_after });
        }
        other => other?,
    };
    tracing::info!(order_id = %order.id, ticket_id = %order.ticket.id, "ticket reserved");
    Ok((StatusCode::CREATED, Json(order.into())))
}

#[tracing::instrument(skip_all, fields(user_id = %user.id))]
async fn list(
    State(state): State<AppState>,
    RequireAuth(user): RequireAuth,
) -> Result<Json<Vec<api::Order>>, OrdersError> {
    let orders = store::orders_of(&state.db, &user.id).await?;
    Ok(Json(orders.into_iter().map(Into::into).collect()))
}

/// The order, if it exists (404) and belongs to `user_id` (401).
async fn owned(state: &AppState, id: &str, user_id: &str) -> Result<Order, OrdersError> {
    if !db::is_valid_id(id) {
        return Err(OrdersError::NotFound);
    }
    let order = store::order(&state.db, id)
        .await?
        .ok_or(OrdersError::NotFound)?;
    if order.user_id != user_id {
        return Err(OrdersError::NotOwner);
    }
    Ok(order)
}

#[tracing::instrument(skip(state, user), fields(user_id = %user.id))]
async fn show(
    State(state): State<AppState>,
    RequireAuth(user): RequireAuth,
    Path(id): Path<String>,
) -> Result<Json<api::Order>, OrdersError> {
    Ok(Json(owned(&state, &id, &user.id).await?.into()))
}

/// The buyer cancels: 204; an already cancelled order stays as it is (no event).
#[tracing::instrument(skip(state, user), fields(user_id = %user.id))]
async fn cancel(
    State(state): State<AppState>,
    RequireAuth(user): RequireAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, OrdersError> {
    db::retry_conflicts(|| async {
        let order = owned(&state, &id, &user.id).await?;
        match order.status {
            OrderStatus::Cancelled => Ok(()),
            OrderStatus::Complete => Err(OrdersError::Completed),
            OrderStatus::Created | OrderStatus::AwaitingPayment => {
                store::change_status(&state.outbox, &order.cancelled(CancelReason::Buyer)).await?;
                tracing::info!(order_id = %id, "cancelled by the buyer");
                Ok(())
            }
        }
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
