//! The Intercom REST client against the sandbox Intercom API over loopback.

use crate::common;

use sf_inbox::config::Secret;
use sf_inbox::intercom::{IntercomClient, IntercomError};
use sf_sandbox::intercom::{FakeIntercom, SANDBOX_INTERCOM_TOKEN};

async fn setup(token: &str) -> (FakeIntercom, IntercomClient) {
    sf_inbox::app::install_crypto();
    let fake = FakeIntercom::start("127.0.0.1:0".parse().unwrap(), &common::fixtures())
        .await
        .unwrap();
    let client = IntercomClient::new(
        reqwest::Client::new(),
        Some(Secret::new(token)),
        Some(fake.url().parse().unwrap()),
    );
    (fake, client)
}

#[tokio::test]
async fn reads_admins_conversations_and_adds_notes() {
    let (fake, client) = setup(SANDBOX_INTERCOM_TOKEN).await;
    let admin = client.admin(Some("us"), "814861").await.unwrap();
    assert_eq!(
        admin.email.as_deref(),
        Some("maya.patel@acme-sales.example")
    );

    assert_eq!(
        client.contact_company_names(None, "ic-hana").await.unwrap(),
        vec!["Globex Corporation".to_string()]
    );
    assert!(client
        .contact_company_names(None, "ic-noemail")
        .await
        .unwrap()
        .is_empty());

    let conv = client.conversation(None, "4711").await.unwrap();
    assert_eq!(conv.contacts[0].id, "ic-hana");
    assert_eq!(conv.admin_assignee_id.as_deref(), Some("814860"));
    assert_eq!(conv.conversation_parts.len(), 3);
    assert_eq!(
        conv.conversation_parts[2].part_type.as_deref(),
        Some("note")
    );

    client
        .add_note(
            None,
            "4711",
            "814860",
            "<p>Case <a href=\"x\">00001027</a> created</p>",
        )
        .await
        .unwrap();
    let notes = fake.notes();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].conversation_id, "4711");
    assert!(notes[0].body.contains("00001027"));
    assert_eq!(
        client
            .conversation(None, "4711")
            .await
            .unwrap()
            .conversation_parts
            .len(),
        4
    );
}

#[tokio::test]
async fn errors_are_classified() {
    let (fake, client) = setup("wrong-token").await;
    assert!(matches!(
        client.admin(None, "814860").await,
        Err(IntercomError::Unauthorized)
    ));
    let (fake2, good) = setup(SANDBOX_INTERCOM_TOKEN).await;
    assert!(matches!(
        good.conversation(None, "999").await,
        Err(IntercomError::NotFound(_))
    ));
    fake2.fail_with(Some(503));
    assert!(matches!(
        good.admin(None, "814860").await,
        Err(IntercomError::Unavailable(_))
    ));
    let unconfigured = IntercomClient::new(
        reqwest::Client::new(),
        None,
        Some(fake.url().parse().unwrap()),
    );
    assert!(matches!(
        unconfigured.admin(None, "1").await,
        Err(IntercomError::NotConfigured)
    ));
}

#[tokio::test]
async fn creates_the_case_data_connector_once_and_finds_it_by_name() {
    use sf_inbox::intercom::data_connectors::{case_connector, CONNECTOR_NAME};
    let (fake, client) = setup(SANDBOX_INTERCOM_TOKEN).await;
    assert_eq!(
        client.data_connector_named(CONNECTOR_NAME).await.unwrap(),
        None
    );
    let request = case_connector(
        "https://app.example/actions/salesforce-case",
        &Secret::new("action-token"),
    );
    let id = client.create_data_connector(&request).await.unwrap();
    assert_eq!(
        client.data_connector_named(CONNECTOR_NAME).await.unwrap(),
        Some(id.clone())
    );
    let made = fake.data_connectors();
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].id, id);
    assert_eq!(made[0].header("Authorization"), Some("Bearer action-token"));
    assert_eq!(
        made[0].detail["url"],
        "https://app.example/actions/salesforce-case"
    );
}
