//! The notifier and order executions: "Your order was executed" to the order's customer, whose
//! address the notifier keeps from the customers topic; held until a customer not seen yet
//! arrives; nothing for orders without a customer, or whose customer left.

mod common;

use chrono::Utc;
use common::{listed, World, WAIT};
use events::{ChangeEvent, Op, Source};
use serde_json::json;
use test_support::{
    fixtures::Customer,
    mail::{Mail, MailCatcher},
};
use uuid::Uuid;

/// An `order-execution.created` event as order-processor writes it.
fn executed(customer_id: Option<Uuid>, symbol: &str, quantity: i64) -> ChangeEvent {
    let id = Uuid::now_v7();
    ChangeEvent {
        id: Uuid::now_v7(),
        event_type: "order-execution.created".into(),
        op: Op::Create,
        aggregate_type: "order-execution".into(),
        aggregate_id: id.to_string(),
        version: 1,
        before: None,
        after: Some(json!({
            "id": id,
            "order_id": Uuid::now_v7(),
            "symbol": symbol,
            "quantity": quantity,
            "customer_id": customer_id,
            "unit_price": 1.2345,
            "execution_price": 8.64,
            "priced_at": Utc::now(),
        })),
        source: Source {
            service: "order-processor".into(),
            table: "order_executions".into(),
            tx_id: 1,
            committed_at: Utc::now(),
        },
        occurred_at: Utc::now(),
    }
}

const EXECUTED: &str = "Your order was executed";

#[tokio::test]
async fn an_execution_for_a_known_customer_emails_symbol_quantity_and_price() {
    let world = World::new("notify-exec").await;
    let mail = MailCatcher::shared();
    let ada = Customer::new("Ada Trader");
    world.produce(&ada.created()).await;
    let _notifier = world.notifier("notifier", &mail, &[]).await;
    // The welcome mail is sent after the contact is stored.
    mail.wait_for(&ada.email, 1, WAIT).await;

    let execution = executed(Some(ada.id), "AAPL", 7);
    world.produce_execution(&execution).await;
    let mails = mail.wait_for(&ada.email, 2, WAIT).await;
    let executed_mail = Mail::with_subject(&mails, EXECUTED);
    assert!(
        executed_mail.text.starts_with("Hello Ada Trader,"),
        "{}",
        executed_mail.text
    );
    assert_eq!(
        listed(&executed_mail.text),
        [
            "Symbol: AAPL",
            "Quantity: 7",
            "Unit price: 1.2345",
            "Execution price: 8.64"
        ]
    );
    assert!(executed_mail
        .html
        .contains("<th>Execution price</th><td>8.64</td>"));
    assert_eq!(
        executed_mail.message_id.as_deref(),
        Some(format!("<{}@example.com>", execution.id).as_str())
    );
    assert_eq!(
        world.ledger_status(execution.id).await.as_deref(),
        Some("sent")
    );
}

#[tokio::test]
async fn executions_without_a_customer_send_nothing_and_are_counted() {
    let world = World::new("notify-exec-unknown").await;
    let mail = MailCatcher::shared();
    let notifier = world.notifier("notifier", &mail, &[]).await;
    let anonymous = executed(None, "ANON", 1);
    let stranger = executed(Some(Uuid::now_v7()), "WHO", 2);
    world.produce_execution(&anonymous).await;
    world.produce_execution(&stranger).await;

    // A known customer's execution after them: once it is mailed, the two before it were handled.
    let grace = Customer::new("Grace Trader");
    world.produce(&grace.created()).await;
    mail.wait_for(&grace.email, 1, WAIT).await;
    world
        .produce_execution(&executed(Some(grace.id), "KNOWN", 3))
        .await;
    let mails = mail.wait_for(&grace.email, 2, WAIT).await;
    assert!(mails.iter().any(|m| m.subject == EXECUTED));

    let unaddressed =
        |reason: &str| format!("notifier_executions_unaddressed_total{{reason=\"{reason}\"}}");
    assert_eq!(notifier.metric(&unaddressed("no_customer")).await, 1.0);
    assert_eq!(
        notifier.metric("notifier_executions_held_total").await,
        1.0,
        "the stranger's execution waits for the stranger"
    );
    assert_eq!(
        notifier.metric("notifier_sent_total").await,
        2.0,
        "welcome and one execution mail, nothing else"
    );
    for event in [&anonymous, &stranger] {
        assert_eq!(world.ledger_status(event.id).await, None, "never claimed");
    }
}

#[tokio::test]
async fn an_execution_handled_before_its_customer_is_held_and_mailed_when_they_arrive() {
    let world = World::new("notify-exec-held").await;
    let mail = MailCatcher::shared();
    let notifier = world.notifier("notifier", &mail, &[]).await;
    let late = Customer::new("Late Arrival");
    let early = executed(Some(late.id), "EARLY", 7);
    world.produce_execution(&early).await;
    notifier
        .wait_for_metric("notifier_executions_held_total", 1.0)
        .await;
    assert!(mail.messages_to(&late.email).await.is_empty());

    let created = late.created();
    world.produce(&created).await;
    let mails = mail.wait_for(&late.email, 2, WAIT).await;
    let executed_mail = Mail::with_subject(&mails, EXECUTED);
    assert!(
        executed_mail.text.contains("EARLY"),
        "{}",
        executed_mail.text
    );
    assert_eq!(world.ledger_status(early.id).await.as_deref(), Some("sent"));
    // Redelivering the customer event mails nothing twice: the held execution was released.
    world.produce(&created).await;
    notifier
        .wait_for_metric("notifier_skipped_duplicate_total", 1.0)
        .await;
    assert_eq!(mail.messages_to(&late.email).await.len(), 2);
}

#[tokio::test]
async fn an_address_that_cannot_be_mailed_is_no_contact_not_poison() {
    let world = World::new("notify-bad-address").await;
    let mail = MailCatcher::shared();
    let notifier = world.notifier("notifier", &mail, &[]).await;
    // Written before the API refused such addresses: lettre cannot mail it.
    let mut odd = Customer::new("Odd Address");
    odd.email = format!("a..{}", odd.email);
    world.produce(&odd.created()).await;
    let (fixed, odd_fixed) = odd.updated(|c| c.email = c.email.replacen("a..", "fixed.", 1));
    world.produce(&fixed).await;
    // The update applies and is mailed: the bad address did not stop the notifier.
    mail.wait_for(&odd_fixed.email, 1, WAIT).await;
    assert_eq!(
        world.contact(odd.id).await,
        Some((odd_fixed.email.clone(), 2))
    );
    world
        .produce_execution(&executed(Some(odd.id), "FIXED", 1))
        .await;
    let mails = mail.wait_for(&odd_fixed.email, 2, WAIT).await;
    assert!(mails.iter().any(|m| m.subject == EXECUTED));
    assert_eq!(
        notifier
            .metric("consumer_dead_lettered_total{consumer=\"notifier\"}")
            .await,
        0.0
    );
}

#[tokio::test]
async fn contacts_follow_updates_ignore_stale_events_and_go_with_the_customer() {
    let world = World::new("notify-contacts").await;
    let mail = MailCatcher::shared();
    let ada = Customer::new("Ada Mover");
    let created = ada.created();
    let (moved, ada_moved) = ada.updated(|c| {
        c.email = format!("moved.{}", c.email);
    });
    // The creation again after the move, as a replay would deliver it: stale by version.
    for event in [&created, &moved, &created] {
        world.produce(event).await;
    }
    let notifier = world.notifier("notifier", &mail, &[]).await;
    notifier
        .wait_for_metric("notifier_skipped_duplicate_total", 1.0)
        .await;
    assert_eq!(
        world.contact(ada.id).await,
        Some((ada_moved.email.clone(), 2)),
        "the newer address stays"
    );

    world
        .produce_execution(&executed(Some(ada.id), "MOVE", 4))
        .await;
    let mails = mail.wait_for(&ada_moved.email, 2, WAIT).await;
    assert!(
        mails.iter().any(|m| m.subject == EXECUTED),
        "mailed to the new address: {mails:#?}"
    );
    assert!(mail
        .messages_to(&ada.email)
        .await
        .iter()
        .all(|m| m.subject != EXECUTED));

    world.produce(&ada_moved.deleted()).await;
    mail.wait_for(&ada_moved.email, 3, WAIT).await;
    assert_eq!(
        world.contact(ada.id).await,
        None,
        "deleted with the customer"
    );
    world
        .produce_execution(&executed(Some(ada.id), "GONE", 5))
        .await;
    notifier
        .wait_for_metric(
            "notifier_executions_unaddressed_total{reason=\"customer_deleted\"}",
            1.0,
        )
        .await;
    let executed_mails = mail
        .messages_to(&ada_moved.email)
        .await
        .into_iter()
        .filter(|m| m.subject == EXECUTED)
        .count();
    assert_eq!(executed_mails, 1, "nothing after the customer left");
}
