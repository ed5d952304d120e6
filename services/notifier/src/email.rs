//! What a customer is told about a change to their record: the email for one change event,
//! rendered as plain text and HTML. Pure: no I/O, so every wording rule is a unit test.
//!
//! - created: "Your record has been created", a greeting by name and the details to verify;
//! - updated: exactly the fields that changed, old → new (bookkeeping fields such as the
//!   version and timestamps are not news to the customer);
//! - deleted: "We are sorry to see you leave".
//!
//! The recipient is the customer's address after the change (before it, for a delete).
//!
//! And what a customer is told when their order was executed ([`order_executed`]): "Your order
//! was executed", with the symbol, quantity, unit price and execution price, sent to the
//! address the notifier keeps for them (see `contacts`).

use crate::{contacts::Contact, execution::ExecutedOrder};
use events::{ChangeEvent, Op};
use lettre::{message::Mailbox, Address};
use serde_json::{Map, Value};
use uuid::Uuid;

pub const CREATED_SUBJECT: &str = "Your record has been created";
pub const UPDATED_SUBJECT: &str = "Your record has been updated";
pub const DELETED_SUBJECT: &str = "We are sorry to see you leave";
pub const EXECUTED_SUBJECT: &str = "Your order was executed";

/// Fields the platform maintains on every row; a change to them alone is not worth an email.
const BOOKKEEPING: &[&str] = &["version", "updated_at"];
/// Fields not shown among the details a new customer is asked to verify.
const NOT_DETAILS: &[&str] = &["id", "version", "created_at", "updated_at", "deleted_at"];
/// The details a person expects first, in this order; any others follow.
const FIRST_DETAILS: &[&str] = &["name", "email", "phone"];

/// One rendered email.
#[derive(Debug, Clone, PartialEq)]
pub struct Email {
    pub to: Mailbox,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Why an event cannot become an email, ever (the handler dead-letters it).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RenderError {
    #[error("not a customer event (aggregate_type {0:?})")]
    NotACustomer(String),
    #[error("a {0} event without its {1} image")]
    MissingImage(&'static str, &'static str),
    #[error("the customer record has no email address")]
    NoAddress,
    #[error("{0:?} is not a valid email address: {1}")]
    InvalidAddress(String, String),
}

/// The email for `event`, or `None` when there is nothing to tell the customer (a snapshot
/// read, or an update that touched only bookkeeping fields).
pub fn render(event: &ChangeEvent) -> Result<Option<Email>, RenderError> {
    if event.aggregate_type != "customer" {
        return Err(RenderError::NotACustomer(event.aggregate_type.clone()));
    }
    match event.op {
        Op::Create => {
            let after = image(&event.after, "create", "after")?;
            Ok(Some(created(after)?))
        }
        Op::Update => {
            image(&event.before, "update", "before")?;
            let after = image(&event.after, "update", "after")?;
            updated(event, after)
        }
        Op::Delete => {
            let before = image(&event.before, "delete", "before")?;
            Ok(Some(deleted(before)?))
        }
        Op::Read => Ok(None),
    }
}

/// The Message-ID of the email for event `event_id`: the same on every attempt and every
/// redelivery, so that a mail store can drop the one duplicate the protocol cannot rule out.
pub fn message_id(event_id: Uuid, domain: &str) -> String {
    format!("<{event_id}@{domain}>")
}

fn image<'a>(
    value: &'a Option<Value>,
    op: &'static str,
    which: &'static str,
) -> Result<&'a Map<String, Value>, RenderError> {
    value
        .as_ref()
        .and_then(Value::as_object)
        .ok_or(RenderError::MissingImage(op, which))
}

/// The customer's mailbox (`Name <address>`) from a row image.
fn recipient(row: &Map<String, Value>) -> Result<Mailbox, RenderError> {
    let address = row
        .get("email")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or(RenderError::NoAddress)?;
    mailbox(name(row), address)
}

/// `Name <address>`, or why `address` is not one.
fn mailbox(name: Option<&str>, address: &str) -> Result<Mailbox, RenderError> {
    // The platform's one address rule first (customer-api accepts by it), then lettre's type.
    let address = events::EmailAddress::parse(address)
        .map_err(|e| RenderError::InvalidAddress(address.to_owned(), e))?;
    let email: Address = address
        .as_str()
        .parse()
        .map_err(|e: lettre::address::AddressError| {
            RenderError::InvalidAddress(address.as_str().to_owned(), e.to_string())
        })?;
    Ok(Mailbox::new(name.map(str::to_owned), email))
}

/// The email telling `contact` that their order was executed, and at what price.
pub fn order_executed(contact: &Contact, order: &ExecutedOrder) -> Result<Email, RenderError> {
    const EXECUTED: &str = "Your order was executed:";
    const THANKS: &str = "Thank you for your order.";
    let quantity = order.quantity.to_string();
    let details = [
        ("Symbol", order.symbol.as_str()),
        ("Quantity", quantity.as_str()),
        ("Unit price", order.unit_price.as_str()),
        ("Execution price", order.execution_price.as_str()),
    ];
    let name = contact
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let mut text = Body::new(name);
    text.para(EXECUTED);
    text.list(details.iter().map(|(k, v)| format!("{k}: {v}")));
    text.para(THANKS);
    let mut html = Html::new(name);
    html.para(EXECUTED);
    html.table(&["", ""], details.iter().map(|(k, v)| vec![*k, *v]));
    html.para(THANKS);
    Ok(Email {
        to: mailbox(name, &contact.email)?,
        subject: EXECUTED_SUBJECT.to_owned(),
        text: text.finish(),
        html: html.finish(),
    })
}

fn name(row: &Map<String, Value>) -> Option<&str> {
    row.get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn created(after: &Map<String, Value>) -> Result<Email, RenderError> {
    let mut fields: Vec<(&String, &Value)> = after
        .iter()
        .filter(|(k, _)| !NOT_DETAILS.contains(&k.as_str()))
        .collect();
    // stable: fields not named in FIRST_DETAILS keep the event's order
    fields.sort_by_key(|(k, _)| {
        FIRST_DETAILS
            .iter()
            .position(|f| f == k)
            .unwrap_or(FIRST_DETAILS.len())
    });
    let details: Vec<(String, String)> = fields
        .into_iter()
        .map(|(k, v)| (label(k), display(v)))
        .collect();
    let mut text = Body::new(name(after));
    text.para("Your record has been created. Please check that these details are correct:");
    text.list(details.iter().map(|(k, v)| format!("{k}: {v}")));
    text.para("If anything is wrong, you can correct it at any time by updating your record.");
    let mut html = Html::new(name(after));
    html.para("Your record has been created. Please check that these details are correct:");
    html.table(
        &["", ""],
        details.iter().map(|(k, v)| vec![k.as_str(), v.as_str()]),
    );
    html.para("If anything is wrong, you can correct it at any time by updating your record.");
    Ok(Email {
        to: recipient(after)?,
        subject: CREATED_SUBJECT.to_owned(),
        text: text.finish(),
        html: html.finish(),
    })
}

fn updated(event: &ChangeEvent, after: &Map<String, Value>) -> Result<Option<Email>, RenderError> {
    let empty = Map::new();
    let before = event
        .before
        .as_ref()
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let changes: Vec<(String, String, String)> = event
        .changed_fields()
        .into_iter()
        .filter(|k| !BOOKKEEPING.contains(&k.as_str()))
        .map(|k| {
            let old = before
                .get(&k)
                .map_or_else(|| display(&Value::Null), display);
            let new = after.get(&k).map_or_else(|| display(&Value::Null), display);
            (label(&k), old, new)
        })
        .collect();
    if changes.is_empty() {
        return Ok(None);
    }
    let mut text = Body::new(name(after));
    text.para("The following details of your record have changed:");
    text.list(
        changes
            .iter()
            .map(|(k, old, new)| format!("{k}: {old} → {new}")),
    );
    text.para("If you did not make this change, please contact us.");
    let mut html = Html::new(name(after));
    html.para("The following details of your record have changed:");
    html.table(
        &["", "Before", "After"],
        changes
            .iter()
            .map(|(k, old, new)| vec![k.as_str(), old.as_str(), new.as_str()]),
    );
    html.para("If you did not make this change, please contact us.");
    Ok(Some(Email {
        to: recipient(after)?,
        subject: UPDATED_SUBJECT.to_owned(),
        text: text.finish(),
        html: html.finish(),
    }))
}

fn deleted(before: &Map<String, Value>) -> Result<Email, RenderError> {
    const FAREWELL: &str = "Your record has been deleted. We are sorry to see you leave.";
    const WELCOME_BACK: &str =
        "If this was a mistake, you are welcome to sign up again at any time.";
    let mut text = Body::new(name(before));
    text.para(FAREWELL);
    text.para(WELCOME_BACK);
    let mut html = Html::new(name(before));
    html.para(FAREWELL);
    html.para(WELCOME_BACK);
    Ok(Email {
        to: recipient(before)?,
        subject: DELETED_SUBJECT.to_owned(),
        text: text.finish(),
        html: html.finish(),
    })
}

/// `phone_number` → `Phone number`.
fn label(field: &str) -> String {
    let spaced = field.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => spaced,
    }
}

/// A field value as a person reads it: strings bare, nothing as "(none)".
fn display(value: &Value) -> String {
    match value {
        Value::Null => "(none)".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The plain-text part: a greeting, paragraphs and indented lists.
struct Body(String);

impl Body {
    fn new(name: Option<&str>) -> Self {
        Self(match name {
            Some(name) => format!("Hello {name},\n"),
            None => "Hello,\n".to_owned(),
        })
    }

    fn para(&mut self, text: &str) {
        self.0.push('\n');
        self.0.push_str(text);
        self.0.push('\n');
    }

    fn list(&mut self, items: impl Iterator<Item = String>) {
        self.0.push('\n');
        for item in items {
            self.0.push_str("  ");
            self.0.push_str(&item);
            self.0.push('\n');
        }
    }

    fn finish(self) -> String {
        self.0
    }
}

/// The HTML part; every piece of data goes through [`escape_html`].
struct Html(String);

impl Html {
    fn new(name: Option<&str>) -> Self {
        let greeting = match name {
            Some(name) => format!("Hello {},", escape_html(name)),
            None => "Hello,".to_owned(),
        };
        Self(format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n<p>{greeting}</p>\n"
        ))
    }

    fn para(&mut self, text: &str) {
        self.0.push_str(&format!("<p>{}</p>\n", escape_html(text)));
    }

    fn table<'a>(&mut self, headings: &[&str], rows: impl Iterator<Item = Vec<&'a str>>) {
        self.0.push_str("<table>\n");
        if headings.iter().any(|h| !h.is_empty()) {
            self.0.push_str("<tr>");
            for heading in headings {
                self.0
                    .push_str(&format!("<th>{}</th>", escape_html(heading)));
            }
            self.0.push_str("</tr>\n");
        }
        for row in rows {
            self.0.push_str("<tr>");
            for (i, cell) in row.iter().enumerate() {
                let tag = if i == 0 { "th" } else { "td" };
                self.0
                    .push_str(&format!("<{tag}>{}</{tag}>", escape_html(cell)));
            }
            self.0.push_str("</tr>\n");
        }
        self.0.push_str("</table>\n");
    }

    fn finish(mut self) -> String {
        self.0.push_str("</body></html>\n");
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use events::Source;
    use serde_json::json;

    fn customer(name: &str, email: &str, phone: Option<&str>, version: i64) -> Value {
        json!({
            "id": "0190a0e0-0000-7000-8000-000000000001",
            "name": name,
            "email": email,
            "phone": phone,
            "version": version,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": format!("2026-01-0{version}T00:00:00Z"),
        })
    }

    fn event(op: Op, before: Option<Value>, after: Option<Value>) -> ChangeEvent {
        ChangeEvent {
            id: Uuid::nil(),
            event_type: ChangeEvent::type_name("customer", op),
            op,
            aggregate_type: "customer".into(),
            aggregate_id: "0190a0e0-0000-7000-8000-000000000001".into(),
            version: 1,
            before,
            after,
            source: Source {
                service: "customer-api".into(),
                table: "customers".into(),
                tx_id: 1,
                committed_at: DateTime::UNIX_EPOCH,
            },
            occurred_at: DateTime::UNIX_EPOCH,
        }
    }

    fn rendered(e: &ChangeEvent) -> Email {
        render(e).unwrap().expect("an email")
    }

    #[test]
    fn created_greets_by_name_and_lists_the_details_to_verify() {
        let after = customer(
            "Ada Lovelace",
            "ada@example.com",
            Some("+44 20 7946 0000"),
            1,
        );
        let email = rendered(&event(Op::Create, None, Some(after)));
        assert_eq!(email.subject, "Your record has been created");
        assert_eq!(email.to.name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(email.to.email.to_string(), "ada@example.com");
        assert!(email.text.starts_with("Hello Ada Lovelace,\n"));
        let details: Vec<&str> = email
            .text
            .lines()
            .filter(|l| l.starts_with("  "))
            .map(str::trim)
            .collect();
        assert_eq!(
            details,
            vec![
                "Name: Ada Lovelace",
                "Email: ada@example.com",
                "Phone: +44 20 7946 0000"
            ],
            "bookkeeping fields are not details to verify"
        );
        assert!(email.html.contains("<p>Hello Ada Lovelace,</p>"));
        assert!(email
            .html
            .contains("<th>Phone</th><td>+44 20 7946 0000</td>"));
    }

    #[test]
    fn updated_lists_exactly_the_changed_fields_old_to_new() {
        let before = customer("Ada Lovelace", "ada@example.com", Some("+44 1"), 1);
        let after = customer("Ada King", "ada@example.com", None, 2);
        let email = rendered(&event(Op::Update, Some(before), Some(after)));
        assert_eq!(email.subject, "Your record has been updated");
        assert!(email.text.starts_with("Hello Ada King,\n"));
        let changes: Vec<&str> = email
            .text
            .lines()
            .filter(|l| l.starts_with("  "))
            .map(str::trim)
            .collect();
        assert_eq!(
            changes,
            vec!["Name: Ada Lovelace → Ada King", "Phone: +44 1 → (none)"]
        );
        assert!(email
            .html
            .contains("<tr><th>Name</th><td>Ada Lovelace</td><td>Ada King</td></tr>"));
        assert!(!email.html.contains("Version"));
    }

    #[test]
    fn an_update_goes_to_the_new_address() {
        let before = customer("Ada", "old@example.com", None, 1);
        let after = customer("Ada", "new@example.com", None, 2);
        let email = rendered(&event(Op::Update, Some(before), Some(after)));
        assert_eq!(email.to.email.to_string(), "new@example.com");
        assert!(email
            .text
            .contains("Email: old@example.com → new@example.com"));
    }

    #[test]
    fn an_update_of_bookkeeping_fields_only_sends_nothing() {
        let before = customer("Ada", "ada@example.com", None, 1);
        let after = customer("Ada", "ada@example.com", None, 2);
        assert_eq!(
            render(&event(Op::Update, Some(before), Some(after))),
            Ok(None)
        );
    }

    #[test]
    fn deleted_says_sorry_to_the_address_before_the_delete() {
        let before = customer("Ada", "ada@example.com", None, 3);
        let email = rendered(&event(Op::Delete, Some(before), None));
        assert_eq!(email.subject, "We are sorry to see you leave");
        assert_eq!(email.to.email.to_string(), "ada@example.com");
        assert!(email.text.contains("We are sorry to see you leave."));
        assert!(email.html.contains("We are sorry to see you leave."));
    }

    #[test]
    fn html_part_escapes_every_value() {
        let before = customer("Ada", "ada@example.com", None, 1);
        let after = customer(
            "<script>alert('x')</script> & \"co\"",
            "ada@example.com",
            None,
            2,
        );
        let email = rendered(&event(Op::Update, Some(before), Some(after)));
        assert!(!email.html.contains("<script>"), "{}", email.html);
        assert!(email
            .html
            .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;co&quot;"));
        // the text part is plain text: nothing to escape
        assert!(email.text.contains("<script>alert('x')</script>"));
    }

    #[test]
    fn snapshot_reads_send_nothing() {
        let row = customer("Ada", "ada@example.com", None, 1);
        assert_eq!(render(&event(Op::Read, None, Some(row))), Ok(None));
    }

    #[test]
    fn events_that_cannot_be_mailed_say_why() {
        assert_eq!(
            render(&event(Op::Create, None, None)),
            Err(RenderError::MissingImage("create", "after"))
        );
        assert_eq!(
            render(&event(Op::Delete, None, None)),
            Err(RenderError::MissingImage("delete", "before"))
        );
        assert_eq!(
            render(&event(Op::Create, None, Some(json!({"name": "Ada"})))),
            Err(RenderError::NoAddress)
        );
        assert!(matches!(
            render(&event(Op::Create, None, Some(json!({"email": "nope"})))),
            Err(RenderError::InvalidAddress(..))
        ));
        let mut movie = event(Op::Create, None, Some(json!({"email": "a@b.io"})));
        movie.aggregate_type = "movie".into();
        assert_eq!(
            render(&movie),
            Err(RenderError::NotACustomer("movie".into()))
        );
    }

    #[test]
    fn a_customer_without_a_name_is_greeted_plainly() {
        let email = rendered(&event(Op::Create, None, Some(json!({"email": "a@b.io"}))));
        assert!(email.text.starts_with("Hello,\n"));
        assert_eq!(email.to.to_string(), "a@b.io");
    }

    fn executed() -> ExecutedOrder {
        ExecutedOrder {
            order_id: "0190a0e0-0000-7000-8000-0000000000a1".into(),
            symbol: "AAPL".into(),
            quantity: 7,
            unit_price: "1.2345".into(),
            execution_price: "8.64".into(),
            customer_id: None,
        }
    }

    fn contact(name: Option<&str>, email: &str) -> Contact {
        Contact {
            customer_id: Uuid::nil(),
            name: name.map(str::to_owned),
            email: email.to_owned(),
            version: 1,
        }
    }

    #[test]
    fn order_executed_lists_symbol_quantity_and_prices() {
        let email =
            order_executed(&contact(Some("Ada <&>"), "ada@example.com"), &executed()).unwrap();
        assert_eq!(email.subject, "Your order was executed");
        assert_eq!(email.to.email.to_string(), "ada@example.com");
        assert!(email.text.starts_with("Hello Ada <&>,\n"), "{}", email.text);
        for line in [
            "  Symbol: AAPL\n",
            "  Quantity: 7\n",
            "  Unit price: 1.2345\n",
            "  Execution price: 8.64\n",
        ] {
            assert!(email.text.contains(line), "{line:?} in {}", email.text);
        }
        assert!(
            email.html.contains("<th>Execution price</th><td>8.64</td>"),
            "{}",
            email.html
        );
        assert!(
            email.html.contains("Hello Ada &lt;&amp;&gt;,"),
            "{}",
            email.html
        );
    }

    #[test]
    fn order_executed_needs_a_valid_address() {
        assert!(matches!(
            order_executed(&contact(None, "not an address"), &executed()),
            Err(RenderError::InvalidAddress(..))
        ));
        let plain = order_executed(&contact(None, "a@b.io"), &executed()).unwrap();
        assert!(plain.text.starts_with("Hello,\n"));
    }

    #[test]
    fn message_id_is_deterministic_per_event() {
        let id = Uuid::from_u128(42);
        assert_eq!(message_id(id, "example.com"), message_id(id, "example.com"));
        assert_eq!(
            message_id(id, "example.com"),
            "<00000000-0000-0000-0000-00000000002a@example.com>"
        );
    }
}
