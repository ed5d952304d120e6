//! The whole flow a user sees: customer writes through the API reach Kafka through the relay,
//! the MongoDB read model through the replicator, and the customer's inbox through the
//! notifier. Every part is a real process or server.

mod common;

use common::spawn_app;
use common::Customers as _;
use mongodb::bson::{doc, Document};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;
use test_support::{
    mail::{Mail, MailCatcher},
    mongo,
    process::RunningService,
};

const WAIT: Duration = Duration::from_secs(90);

#[tokio::test]
async fn create_update_delete_reach_mongodb_and_the_inbox() {
    let app = spawn_app().await;
    let prefix = test_support::unique("e2e") + ".";
    let bootstrap = app.env.bootstrap.clone();
    let mongo_uri = mongo::shared_uri();
    let replica = test_support::unique("replica").replace('-', "_");
    let mail = MailCatcher::shared();

    let _relay = RunningService::relay(&app.database_url, &bootstrap, &prefix, &[]).await;
    let _replicator =
        RunningService::replicator(&bootstrap, &prefix, &mongo_uri, &replica, &[]).await;
    let notifier_db = app.env.fresh_database().await;
    let _notifier = RunningService::notifier(&bootstrap, &prefix, &notifier_db, &mail, &[]).await;

    let customers = mongo::client(&mongo_uri)
        .await
        .database(&replica)
        .collection::<Document>("customers");
    let created = app.create("Mary Jackson").await;
    let id = created["id"].as_str().unwrap().to_owned();
    let email = created["email"].as_str().unwrap().to_owned();
    let url = app.url(&format!("/api/v1/customers/{id}"));

    let replicated = test_support::eventually("the created customer in MongoDB", WAIT, || async {
        customers.find_one(doc! {"_id": &id}).await.ok().flatten()
    })
    .await;
    assert_eq!(replicated.get_str("name").unwrap(), "Mary Jackson");
    assert_eq!(replicated.get_str("email").unwrap(), email);
    let welcome = mail.wait_for(&email, 1, WAIT).await;
    assert_eq!(welcome[0].subject, "Your record has been created");
    assert!(
        welcome[0].text.contains("Mary Jackson"),
        "{}",
        welcome[0].text
    );

    let response = app
        .client
        .patch(&url)
        .json(&json!({"name": "Mary W. Jackson", "phone": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    mongo::document_at_version(&customers, &id, 2, WAIT).await;
    let mails = mail.wait_for(&email, 2, WAIT).await;
    let update = Mail::with_subject(&mails, "Your record has been updated");
    assert!(
        update.text.contains("Mary Jackson") && update.text.contains("Mary W. Jackson"),
        "{}",
        update.text
    );
    assert!(
        !update.text.contains(&email),
        "only changed fields are listed: {}",
        update.text
    );

    assert_eq!(
        app.client.delete(&url).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    mongo::document_gone(&customers, &id, WAIT).await;
    let mails = mail.wait_for(&email, 3, WAIT).await;
    assert!(mails
        .iter()
        .any(|m| m.subject == "We are sorry to see you leave"));
    let all = mongo::all_documents(&customers).await;
    assert!(
        all.is_empty(),
        "nothing else in this test's replica: {all:?}"
    );
}
