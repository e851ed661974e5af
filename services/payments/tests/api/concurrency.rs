use payments::gateway::sandbox::Sandbox;

use crate::helpers::*;

#[tokio::test]
async fn simultaneous_payments_for_one_order_charge_once() {
    let app = TestApp::spawn().await;
    let buyer = app.user();
    for _ in 0..5 {
        let order = app.order(&buyer, 1000).await;
        let attempts = (0..6).map(|_| {
            let (app, buyer, order) = (&app, &buyer, &order);
            async move { app.pay(Some(buyer), &pay_body(order, "tok_visa")).await }
        });
        let responses = futures::future::join_all(attempts).await;
        let paid = responses.iter().filter(|r| r.status() == 201).count();
        assert_eq!(paid, 1);
        for response in responses.into_iter().filter(|r| r.status() != 201) {
            assert_eq!(response.status(), 400);
            assert_eq!(errors(response).await, [message("Order is already paid")]);
        }
        let charges = Sandbox::charges(&app.db).await.unwrap();
        assert_eq!(charges.iter().filter(|c| c.order_id == order).count(), 1);
    }
}
