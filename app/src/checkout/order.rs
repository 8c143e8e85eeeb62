//! An order's page (the confirmation right after checkout, and the detail page later) and
//! the guest order lookup.

use crate::components::error_view::ErrorView;
use crate::components::forms::{action_error, Field, FormAlert};
use crate::components::layout::{await_layout, loading, Frame, LayoutResource};
#[cfg(feature = "ssr")]
use crate::components::server::{
    cart_owner, client_ip, current_user, remember_order, second_factor_given, services, session,
    session_orders, with_status,
};
use crate::error::AppError;
use domain::OrderView;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
fn OrderDetails(order: OrderView) -> impl IntoView {
    view! {
        <div class="grid gap-8 lg:grid-cols-3">
            <section class="card lg:col-span-2" aria-labelledby="items-heading">
                <h2 id="items-heading" class="text-lg font-semibold">"Items"</h2>
                <ul class="mt-4 divide-y divide-stone-100 text-sm" data-testid="order-lines">
                    {order.lines.iter().map(|l| view! {
                        <li class="flex justify-between gap-3 py-3" data-testid="order-line">
                            <span>
                                <a href=format!("/p/{}", l.product_slug) class="font-medium hover:underline">{l.product_name.clone()}</a>
                                <span class="block text-stone-500">{format!("{} · {} × {}", l.variant_label, l.quantity, l.unit_price)}</span>
                            </span>
                            <span class="font-medium">{l.line_total.to_string()}</span>
                        </li>
                    }).collect_view()}
                </ul>
                <dl class="mt-4 space-y-2 border-t border-stone-200 pt-4 text-sm">
                    <div class="flex justify-between"><dt>"Subtotal"</dt><dd>{order.subtotal.to_string()}</dd></div>
                    <div class="flex justify-between"><dt>{format!("Shipping ({})", order.shipping_method)}</dt><dd data-testid="order-shipping">{order.shipping.to_string()}</dd></div>
                    <div class="flex justify-between"><dt>{format!("Tax ({}%)", f64::from(order.tax_rate_bps) / 100.0)}</dt><dd data-testid="order-tax">{order.tax.to_string()}</dd></div>
                    <div class="flex justify-between text-base font-semibold"><dt>"Total"</dt><dd data-testid="order-total">{order.total.to_string()}</dd></div>
                </dl>
            </section>
            <aside class="space-y-4">
                <div class="card text-sm">
                    <h2 class="font-semibold">"Shipping to"</h2>
                    <address class="mt-2 not-italic leading-6 text-stone-700">
                        {order.ship_to.iter().map(|l| view! { <span class="block">{l.clone()}</span> }).collect_view()}
                    </address>
                </div>
                <div class="card text-sm">
                    <h2 class="font-semibold">"Payment"</h2>
                    <p class="mt-2">{order.payment_method.clone()}</p>
                    <p class="mt-1 text-stone-600" data-testid="payment-status">{order.state.payment.label()}</p>
                    {(!order.payment_instructions.is_empty()).then(|| view! {
                        <p class="mt-2 text-stone-600" data-testid="payment-instructions">{order.payment_instructions.clone()}</p>
                    })}
                    {(!order.refunds.is_empty()).then(|| view! {
                        <ul class="mt-2 space-y-1" data-testid="order-refunds">
                            {order.refunds.iter().map(|r| view! {
                                <li data-testid="order-refund">{format!("Refunded {} on {} {}", r.amount, r.on, r.to)}</li>
                            }).collect_view()}
                        </ul>
                    })}
                </div>
            </aside>
        </div>
    }
    .into_any()
}

/// An order's page: the confirmation right after checkout, and the detail page later.
#[component]
pub fn OrderPage() -> impl IntoView {
    let layout = expect_context::<LayoutResource>();
    let params = use_params_map();
    let query = use_query_map();
    let order = Resource::new(
        move || {
            (
                params.read().get("number").unwrap_or_default(),
                query.read().get("key"),
                query.read().get("payment"),
            )
        },
        |(number, key, payment)| get_order(number, key, payment),
    );
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let (layout, order) = (await_layout(layout).await, order.await);
                let body = match order {
                    Err(e) => view! { <ErrorView error=e /> }.into_any(),
                    Ok(order) => view! {
                        <Title text=format!("Order {}", order.number) />
                        <Meta name="robots" content="noindex" />
                        <div class="py-10 space-y-6">
                            <div>
                                <p class="text-sm font-semibold uppercase tracking-widest text-amber-700" data-testid="order-status">{order.state.label()}</p>
                                <h1 class="mt-2 text-3xl font-semibold tracking-tight">"Thank you for your order"</h1>
                                <p class="mt-2 text-stone-600">
                                    "Order " <strong data-testid="order-number">{order.number.clone()}</strong>
                                    {format!(", placed {}. A confirmation is on its way to {}.", order.placed_at, order.email)}
                                </p>
                            </div>
                            {order.notice.clone().map(|n| view! {
                                <div role="status" class="rounded-md border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900" data-testid="payment-notice">{n}</div>
                            })}
                            {order.card_form.clone().map(|form| view! {
                                <CardPayment number=order.number.clone() total=order.total.to_string() form />
                            })}
                            {order.pay_link.clone().map(|url| view! {
                                <section class="card space-y-3" aria-label="Pay with PayPal">
                                    <p class="text-sm text-stone-600">{format!("Pay {} with PayPal: you approve it on PayPal's site and come back here.", order.total)}</p>
                                    <a href=url class="btn-primary" data-testid="paypal-approve">"Pay with PayPal"</a>
                                </section>
                            })}
                            {(order.state.order == domain::OrderStatus::Open && order.state.payment.is_unpaid()).then(|| view! {
                                <CancelOrder number=order.number.clone() />
                            })}
                            <OrderDetails order />
                        </div>
                    }.into_any(),
                };
                view! { <Frame layout>{body}</Frame> }
            })}
        </Suspense>
    }
    .into_any()
}

/// The card form: Stripe.js's card element, driven by `/card-payment.js` (plain
/// JavaScript, loaded only here and only when Stripe is configured). Paying needs
/// JavaScript: Stripe's card fields are theirs, never the shop's.
#[component]
fn CardPayment(number: String, total: String, form: domain::CardForm) -> impl IntoView {
    view! {
        <section class="card space-y-4" aria-labelledby="card-heading" data-testid="card-payment">
            <h2 id="card-heading" class="text-lg font-semibold">{format!("Pay {total} by card")}</h2>
            <form id="card-payment-form" class="space-y-3" data-number=number data-key=form.publishable_key data-endpoint="/api/order_pay_card">
                <label for="card-element" class="block text-sm font-medium">"Card details"</label>
                <div id="card-element" class="rounded-md border border-stone-300 bg-white px-3 py-3" data-testid="card-element"></div>
                <p id="card-error" role="alert" aria-live="assertive" class="text-sm text-red-700" data-testid="card-error"></p>
                <button type="submit" class="btn-primary" data-testid="pay-button">{format!("Pay {total}")}</button>
            </form>
            <noscript><p class="text-sm text-stone-600">"Paying by card needs JavaScript. Please turn it on, or cancel this order and choose bank transfer."</p></noscript>
            <script src=form.js_url defer=true></script>
            <script src="/card-payment.js" defer=true></script>
        </section>
    }
}

/// While an order awaits payment, its owner can cancel it (its stock goes back).
#[component]
fn CancelOrder(number: String) -> impl IntoView {
    let action = ServerAction::<CancelOrderAction>::new();
    let error = action_error(action.value());
    view! {
        <ActionForm action attr:class="card flex flex-wrap items-center justify-between gap-3 text-sm" attr:data-testid="cancel-order">
            <FormAlert error fields=&[] />
            <input type="hidden" name="number" value=number />
            <span class="text-stone-600">"Changed your mind? Until it is paid you can cancel this order."</span>
            <button type="submit" class="btn-secondary">"Cancel this order"</button>
        </ActionForm>
    }
}

/// `/order-lookup`: a guest opens an order with its number and e-mail.
#[component]
pub fn OrderLookupPage() -> impl IntoView {
    let layout = expect_context::<LayoutResource>();
    let action = ServerAction::<LookupOrder>::new();
    let error = action_error(action.value());
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let layout = await_layout(layout).await;
                view! {
                    <Frame layout>
                        <Title text="Find your order" />
                        <div class="mx-auto max-w-md py-12">
                            <h1 class="text-2xl font-semibold tracking-tight">"Find your order"</h1>
                            <ActionForm action attr:class="card mt-6 space-y-4" attr:data-testid="lookup-form">
                                <FormAlert error fields=&["number", "email"] />
                                <Field name="number" label="Order number" hint="Like EMP-100001, from your confirmation e-mail" required=true error />
                                <Field name="email" label="E-mail used for the order" kind="email" autocomplete="email" required=true error />
                                <button type="submit" class="btn-primary w-full">"Find order"</button>
                            </ActionForm>
                        </div>
                    </Frame>
                }
            })}
        </Suspense>
    }
    .into_any()
}

#[cfg(feature = "ssr")]
async fn order_viewer(
    number: &str,
    key: Option<String>,
    owner_only: bool,
) -> Result<services::orders::Viewer, AppError> {
    let s = services()?;
    let session = session().await?;
    if let Some(key) = key.filter(|k| !k.is_empty()) {
        // The signed link from the confirmation e-mail: this browser may see the order
        // from now on (and pay or cancel it while unpaid).
        let viewer = services::orders::Viewer::Link { key };
        s.orders.view(number, &viewer).await?;
        remember_order(&session, number).await;
        return Ok(viewer);
    }
    let numbers = session_orders(&session).await;
    if numbers.iter().any(|n| n == number) {
        return Ok(services::orders::Viewer::Session { numbers });
    }
    let user = current_user(&session, &s.auth).await.ok().flatten();
    match user {
        // Staff whose role reads orders see every order once their session has had its
        // second factor; paying or cancelling is for the order's owner (staff change
        // orders from the admin, checked and audited there).
        Some(u) if !owner_only && u.is_staff() && second_factor_given(&session).await => {
            Ok(services::orders::Viewer::Staff {
                user_id: u.id,
                role: u.role,
            })
        }
        Some(u) => Ok(services::orders::Viewer::User(u.id)),
        None => Err(services::orders::OrderError::NotFound.into()),
    }
}

/// An order, for its owner: the signed-in user who placed it, or the browser that placed
/// or looked it up. Anyone else gets 404. With `payment` set the shopper's browser has
/// come back from paying: what Stripe says now is recorded first.
#[server(prefix = "/api", endpoint = "order")]
pub async fn get_order(
    number: String,
    key: Option<String>,
    payment: Option<String>,
) -> Result<OrderView, AppError> {
    with_status(
        async move {
            let s = services()?;
            let number = number.trim().to_uppercase();
            let viewer = order_viewer(&number, key, false).await?;
            let mut notice = None;
            if payment.as_deref() == Some("pending") {
                notice = Some("We could not confirm your PayPal payment with PayPal just now. If you approved it, this order will show as paid within a few minutes: please do not pay again.".to_owned());
            } else if payment.is_some() {
                match s.orders.refresh_card_payment(&number, &viewer).await {
                    Ok(state) if state.payment == domain::PaymentStatus::Failed => {
                        notice = Some("Your card payment did not go through. Please try again, or use another card.".to_owned());
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(order = %number, error = %e, "could not confirm a card payment on the shopper's return");
                        notice = Some("We could not confirm your card payment with our payment provider just now. If you paid, this order will show as paid within a few minutes: please do not pay again.".to_owned());
                    }
                }
            }
            let mut order = s.orders.view(&number, &viewer).await?;
            order.notice = notice;
            Ok(order)
        }
        .await,
    )
}

/// The shopper pays a card order with the card Stripe.js read (`payment_method`: a
/// PaymentMethod id, or the card id of a Stripe.js token).
#[server(prefix = "/api", endpoint = "order_pay_card")]
pub async fn pay_order_by_card(
    number: String,
    payment_method: String,
) -> Result<domain::CardOutcome, AppError> {
    with_status(
        async move {
            let s = services()?;
            let number = number.trim().to_uppercase();
            let viewer = order_viewer(&number, None, true).await?;
            // Counted with the checkouts of the same cart owner (a visitor, or an account),
            // or of this order when the visitor has no cart any more.
            let owner = cart_owner(false)
                .await
                .ok()
                .flatten()
                .map_or_else(|| format!("order:{number}"), |o| o.key());
            let outcome = s
                .orders
                .pay_by_card(
                    &number,
                    &viewer,
                    &payment_method,
                    &owner,
                    &client_ip().await,
                )
                .await?;
            // The outcome's kind only: NeedsAction carries the client secret.
            let kind = match &outcome {
                domain::CardOutcome::Done { .. } => "done",
                domain::CardOutcome::NeedsAction { .. } => "needs action",
                domain::CardOutcome::Processing => "processing",
            };
            tracing::info!(order = %number, outcome = kind, "card payment attempt");
            Ok(outcome)
        }
        .await,
    )
}

/// Cancels an order that awaits payment, for whoever may see it.
#[server(name = CancelOrderAction, prefix = "/api", endpoint = "order_cancel")]
pub async fn cancel_order(number: String) -> Result<(), AppError> {
    with_status(
        async move {
            let s = services()?;
            let number = number.trim().to_uppercase();
            // Only an order this visitor may see, and only while unpaid (checked again
            // under the order's lock).
            s.orders.view(&number, &order_viewer(&number, None, true).await?).await?;
            s.orders.cancel_unpaid(&number).await.map_err(|e| match e {
                services::orders::OrderError::Transition(_) => AppError::BadRequest(
                    "This order is no longer awaiting payment, so it cannot be cancelled here. Please contact us.".into(),
                ),
                other => other.into(),
            })?;
            tracing::info!(order = %number, "cancelled by its owner");
            leptos_axum::redirect(&format!("/order/{number}"));
            Ok(())
        }
        .await,
    )
}

/// A guest finds their order by its number and e-mail address.
#[server(prefix = "/api", endpoint = "order_lookup")]
pub async fn lookup_order(number: String, email: String) -> Result<(), AppError> {
    with_status(
        async move {
            let s = services()?;
            // Order numbers are sequential: without limits, anyone knowing an e-mail
            // address could walk through them, or try many addresses on one number.
            let number = number.trim().to_uppercase();
            if number.is_empty() || number.len() > 32 {
                return Err(AppError::field(
                    "number",
                    "Enter the order number from your confirmation e-mail, like EMP-1001.",
                ));
            }
            let limits = &s.settings.lookup;
            let network = services::limits::network_of(&client_ip().await);
            s.limits
                .hit(&format!("order-lookup:net:{network}"), limits.per_network)
                .await?;
            s.limits
                .hit(&format!("order-lookup:number:{number}"), limits.per_number)
                .await?;
            s.orders
                .view(&number, &services::orders::Viewer::Guest { email })
                .await?;
            let session = session().await?;
            remember_order(&session, &number).await;
            leptos_axum::redirect(&format!("/order/{number}"));
            Ok(())
        }
        .await,
    )
}
