//! A STAND-IN for PayPal, not PayPal: no PayPal server can run on a development machine
//! (there is no localstripe for PayPal), so the tests run the shop's real PayPal client
//! (`services::payments::paypal`) against this small local server on 127.0.0.1. It speaks
//! the requests and answers of the calls the shop makes, as PayPal documents them:
//!
//! - `POST /v1/oauth2/token` (client credentials, HTTP basic auth);
//! - `POST /v2/checkout/orders`, `GET /v2/checkout/orders/{id}`,
//!   `POST /v2/checkout/orders/{id}/capture` (422 `ORDER_NOT_APPROVED` before approval,
//!   `ORDER_ALREADY_CAPTURED` after a capture);
//! - `POST /v2/payments/captures/{id}/refund` (422 `REFUND_AMOUNT_EXCEEDED` past what was
//!   captured);
//! - `POST /v1/notifications/verify-webhook-signature`: `SUCCESS` only for a delivery this
//!   server itself sent (its transmission id, signature and time, the event exactly as
//!   sent, to the configured webhook id); anything else is `FAILURE`, as PayPal answers a
//!   forged or altered delivery;
//! - `GET /checkoutnow?token={id}`: the buyer's approval page, which here approves at once
//!   and sends the browser back to the order's `return_url` with `token` and `PayerID`.
//!
//! `PayPal-Request-Id` is honoured: a repeated request with the same id gets the first
//! answer and does nothing again.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const CLIENT_ID: &str = "standin-client";
pub const SECRET: &str = "standin-secret";
pub const WEBHOOK_ID: &str = "WHSTANDIN1";
const TOKEN: &str = "A21AAstandintoken";

#[derive(Default)]
struct Inner {
    orders: HashMap<String, Value>,
    /// Capture id → (order id, captured in cents, refunded in cents).
    captures: HashMap<String, (String, i64, i64)>,
    /// PayPal-Request-Id → the answer first given.
    answered: HashMap<String, (u16, Value)>,
    /// Deliveries this server sent: transmission id → (signature, time, the event).
    sent: HashMap<String, (String, String, Value)>,
    next: u64,
    pub capture_calls: usize,
    pub refund_calls: usize,
}

/// The running stand-in.
#[derive(Clone)]
pub struct PayPalStandIn {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

type Shared = (String, Arc<Mutex<Inner>>);

fn cents(value: &Value) -> i64 {
    let s = value.as_str().unwrap_or("0");
    let (whole, frac) = s.split_once('.').unwrap_or((s, "0"));
    whole.parse::<i64>().unwrap_or(0) * 100 + format!("{frac:0<2}")[..2].parse::<i64>().unwrap_or(0)
}

fn unprocessable(issue: &str) -> (u16, Value) {
    (
        422,
        json!({ "name": "UNPROCESSABLE_ENTITY", "message": "The requested action could not be performed.",
                "details": [{ "issue": issue }] }),
    )
}

fn answer((status, body): (u16, Value)) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Json(body),
    )
        .into_response()
}

fn authorised(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
}

impl Inner {
    fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}{:012}", self.next)
    }

    /// The first answer to a request id, or a new one.
    fn once(
        &mut self,
        headers: &HeaderMap,
        make: impl FnOnce(&mut Inner) -> (u16, Value),
    ) -> (u16, Value) {
        let key = headers
            .get("paypal-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let Some(done) = key.as_ref().and_then(|k| self.answered.get(k)) {
            return done.clone();
        }
        let reply = make(self);
        if let Some(k) = key {
            self.answered.insert(k, reply.clone());
        }
        reply
    }
}

impl PayPalStandIn {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state: Shared = (url.clone(), inner.clone());
        let app = Router::new()
            .route("/v1/oauth2/token", post(token))
            .route("/v2/checkout/orders", post(create_order))
            .route("/v2/checkout/orders/{id}", get(get_order))
            .route("/v2/checkout/orders/{id}/capture", post(capture))
            .route("/v2/payments/captures/{id}/refund", post(refund))
            .route("/v1/notifications/verify-webhook-signature", post(verify))
            .route("/checkoutnow", get(approve))
            .with_state(state);
        tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        Self { url, inner }
    }

    /// How many capture and refund calls did something (repeats by request id do not).
    pub fn calls(&self) -> (usize, usize) {
        let i = self.inner.lock().expect("lock");
        (i.capture_calls, i.refund_calls)
    }

    /// The order as the stand-in has it.
    pub fn order(&self, id: &str) -> Value {
        self.inner
            .lock()
            .expect("lock")
            .orders
            .get(id)
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// A webhook delivery of `kind` about `resource`, signed as this stand-in signs (so
    /// its verification endpoint says SUCCESS): the headers and the body.
    pub fn delivery(&self, kind: &str, resource: Value) -> (Vec<(&'static str, String)>, Vec<u8>) {
        let mut i = self.inner.lock().expect("lock");
        let event_id = i.id("WH-");
        let transmission = i.id("tx-");
        let sig = format!("standin-signature-{}", i.id(""));
        let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let event = json!({
            "id": event_id,
            "event_version": "1.0",
            "create_time": time,
            "resource_type": if kind.starts_with("PAYMENT.CAPTURE") { "capture" } else { "checkout-order" },
            "event_type": kind,
            "summary": kind,
            "resource": resource,
        });
        i.sent.insert(
            transmission.clone(),
            (sig.clone(), time.clone(), event.clone()),
        );
        let body = serde_json::to_vec(&event).expect("json");
        (
            vec![
                ("paypal-auth-algo", "SHA256withRSA".to_owned()),
                (
                    "paypal-cert-url",
                    format!("{}/v1/notifications/certs/CERT-standin", self.url),
                ),
                ("paypal-transmission-id", transmission),
                ("paypal-transmission-sig", sig),
                ("paypal-transmission-time", time),
            ],
            body,
        )
    }

    /// The capture of an order, as a PAYMENT.CAPTURE.COMPLETED event's resource carries it.
    pub fn capture_resource(&self, order_id: &str) -> Value {
        let order = self.order(order_id);
        let mut capture = order["purchase_units"][0]["payments"]["captures"][0].clone();
        capture["supplementary_data"] = json!({ "related_ids": { "order_id": order_id } });
        capture
    }
}

async fn token(State((_, _)): State<Shared>, headers: HeaderMap, body: String) -> Response {
    use base64::Engine;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{SECRET}"))
    );
    let basic = headers.get("authorization").and_then(|v| v.to_str().ok());
    if basic != Some(expected.as_str()) || !body.contains("grant_type=client_credentials") {
        return answer((
            401,
            json!({ "error": "invalid_client", "error_description": "Client Authentication failed" }),
        ));
    }
    answer((
        200,
        json!({ "scope": "https://uri.paypal.com/services/payments/payment", "access_token": TOKEN,
                         "token_type": "Bearer", "app_id": "APP-STANDIN", "expires_in": 32400 }),
    ))
}

async fn create_order(
    State((url, inner)): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !authorised(&headers) {
        return answer((401, json!({ "name": "AUTHENTICATION_FAILURE" })));
    }
    let mut i = inner.lock().expect("lock");
    answer(i.once(&headers, |i| {
        let unit = &body["purchase_units"][0];
        if body["intent"] != "CAPTURE" || unit["amount"]["value"].as_str().is_none() {
            return (400, json!({ "name": "INVALID_REQUEST", "details": [{ "issue": "MISSING_REQUIRED_PARAMETER" }] }));
        }
        let id = i.id("5O");
        let order = json!({
            "id": id,
            "intent": "CAPTURE",
            "status": "CREATED",
            "purchase_units": [{ "reference_id": unit["reference_id"], "custom_id": unit["custom_id"], "amount": unit["amount"] }],
            "application_context": body["application_context"],
            "links": [
                { "href": format!("{url}/v2/checkout/orders/{id}"), "rel": "self", "method": "GET" },
                { "href": format!("{url}/checkoutnow?token={id}"), "rel": "approve", "method": "GET" },
                { "href": format!("{url}/v2/checkout/orders/{id}/capture"), "rel": "capture", "method": "POST" },
            ],
        });
        i.orders.insert(id, order.clone());
        (201, order)
    }))
}

async fn get_order(
    State((_, inner)): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorised(&headers) {
        return answer((401, json!({ "name": "AUTHENTICATION_FAILURE" })));
    }
    match inner.lock().expect("lock").orders.get(&id) {
        Some(o) => answer((200, o.clone())),
        None => answer((
            404,
            json!({ "name": "RESOURCE_NOT_FOUND", "details": [{ "issue": "INVALID_RESOURCE_ID" }] }),
        )),
    }
}

async fn approve(
    State((_, inner)): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut i = inner.lock().expect("lock");
    let Some(order) = q.get("token").and_then(|t| i.orders.get_mut(t)) else {
        return (StatusCode::NOT_FOUND, "no such order").into_response();
    };
    if order["status"] == "CREATED" {
        order["status"] = json!("APPROVED");
        order["payer"] =
            json!({ "payer_id": "STANDINPAYER1", "email_address": "buyer@example.com" });
    }
    let back = order["application_context"]["return_url"]
        .as_str()
        .unwrap_or("/")
        .to_owned();
    let id = order["id"].as_str().unwrap_or("").to_owned();
    Redirect::to(&format!("{back}?token={id}&PayerID=STANDINPAYER1")).into_response()
}

async fn capture(
    State((_, inner)): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorised(&headers) {
        return answer((401, json!({ "name": "AUTHENTICATION_FAILURE" })));
    }
    let mut i = inner.lock().expect("lock");
    answer(i.once(&headers, |i| {
        let Some(order) = i.orders.get(&id).cloned() else {
            return (404, json!({ "name": "RESOURCE_NOT_FOUND", "details": [{ "issue": "INVALID_RESOURCE_ID" }] }));
        };
        match order["status"].as_str() {
            Some("APPROVED") => {}
            Some("COMPLETED") => return unprocessable("ORDER_ALREADY_CAPTURED"),
            _ => return unprocessable("ORDER_NOT_APPROVED"),
        }
        let capture_id = i.id("3C");
        let amount = order["purchase_units"][0]["amount"].clone();
        i.captures.insert(capture_id.clone(), (id.clone(), cents(&amount["value"]), 0));
        i.capture_calls += 1;
        let order = i.orders.get_mut(&id).expect("order");
        order["status"] = json!("COMPLETED");
        order["purchase_units"][0]["payments"] = json!({ "captures": [{
            "id": capture_id, "status": "COMPLETED", "amount": amount, "final_capture": true,
        }]});
        (201, order.clone())
    }))
}

async fn refund(
    State((_, inner)): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if !authorised(&headers) {
        return answer((401, json!({ "name": "AUTHENTICATION_FAILURE" })));
    }
    let mut i = inner.lock().expect("lock");
    answer(i.once(&headers, |i| {
        let Some((_, captured, refunded)) = i.captures.get(&id).cloned() else {
            return (404, json!({ "name": "RESOURCE_NOT_FOUND", "details": [{ "issue": "INVALID_RESOURCE_ID" }] }));
        };
        let amount = if body["amount"].is_null() { captured - refunded } else { cents(&body["amount"]["value"]) };
        if amount <= 0 || refunded + amount > captured {
            return unprocessable("REFUND_AMOUNT_EXCEEDED");
        }
        i.refund_calls += 1;
        if let Some(c) = i.captures.get_mut(&id) {
            c.2 += amount;
        }
        let refund_id = i.id("1R");
        (201, json!({ "id": refund_id, "status": "COMPLETED", "amount": body["amount"] }))
    }))
}

async fn verify(
    State((_, inner)): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !authorised(&headers) {
        return answer((401, json!({ "name": "AUTHENTICATION_FAILURE" })));
    }
    for field in [
        "auth_algo",
        "cert_url",
        "transmission_id",
        "transmission_sig",
        "transmission_time",
        "webhook_id",
    ] {
        if body[field].as_str().is_none_or(str::is_empty) || body["webhook_event"].is_null() {
            return answer((
                400,
                json!({ "name": "VALIDATION_ERROR", "details": [{ "field": field, "issue": "MISSING_REQUIRED_PARAMETER" }] }),
            ));
        }
    }
    let i = inner.lock().expect("lock");
    let genuine = body["webhook_id"] == WEBHOOK_ID
        && i.sent
            .get(body["transmission_id"].as_str().unwrap_or(""))
            .is_some_and(|(sig, time, event)| {
                body["transmission_sig"] == sig.as_str()
                    && body["transmission_time"] == time.as_str()
                    && body["webhook_event"] == *event
            });
    answer((
        200,
        json!({ "verification_status": if genuine { "SUCCESS" } else { "FAILURE" } }),
    ))
}
