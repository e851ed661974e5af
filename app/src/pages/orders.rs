//! `/orders`: the signed-in user's orders, newest first.

use contract::api::Order;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::AppError;
use crate::components::require_user::RequireUser;
use crate::components::status::ErrorPage;
use crate::format::dollars;

#[server(prefix = "/_fn", endpoint = "list_orders")]
pub async fn list_orders() -> Result<Vec<Order>, AppError> {
    let mut orders: Vec<Order> = crate::api::backend::get(contract::routes::ORDERS).await?;
    orders.reverse();
    Ok(orders)
}

#[component]
pub fn OrdersPage() -> impl IntoView {
    view! {
        <Title text="My orders"/>
        <h1>"My orders"</h1>
        <RequireUser children=|_user| view! { <OrderList/> }/>
    }
}

#[component]
fn OrderList() -> impl IntoView {
    let orders = Resource::new(|| (), |_| list_orders());
    view! {
        <Transition fallback=|| view! { <p>"Loading your orders…"</p> }>
            {move || Suspend::new(async move {
                match orders.await {
                    Ok(orders) if orders.is_empty() => view! {
                        <div class="card empty">
                            <p>"You have no orders yet."</p>
                            <p><A href="/">"Find a ticket"</A></p>
                        </div>
                    }
                    .into_any(),
                    Ok(orders) => view! {
                        <table class="orders card">
                            <thead>
                                <tr><th scope="col">"Ticket"</th><th scope="col">"Price"</th><th scope="col">"Status"</th></tr>
                            </thead>
                            <tbody>
                                {orders.into_iter().map(|order| view! {
                                    <tr>
                                        <td><A href=format!("/orders/{}", order.id)>{order.ticket.title}</A></td>
                                        <td class="price-cell">{dollars(order.ticket.price)}</td>
                                        <td><span class=format!("badge status-{}", order.status.as_str().replace(':', "-"))>{order.status.as_str()}</span></td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }
                    .into_any(),
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Transition>
    }
}
