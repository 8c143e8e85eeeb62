//! `/checkout`: address, shipping, payment, the totals and placing the order.

// A server function takes one argument per form field; the checkout form has many.
#![allow(clippy::too_many_arguments)]

use crate::components::client::provide_form_error;
use crate::components::forms::{action_error, Field, FormAlert};
use crate::components::layout::{await_layout, loading, Frame, LayoutResource};
#[cfg(feature = "ssr")]
use crate::components::server::{
    cart_owner, client_ip, current_user, merged_carts, remember_order, services, session,
    settle_checkout, with_status,
};
use crate::error::AppError;
use domain::account::COUNTRIES;
use domain::CheckoutPage;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};

#[component]
pub fn CheckoutPageView() -> impl IntoView {
    let layout = expect_context::<LayoutResource>();
    let checkout = Resource::new(|| (), |_| get_checkout());
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let (layout, checkout) = (await_layout(layout).await, checkout.await);
                let body = match checkout {
                    Err(e) => view! {
                        <Title text="Checkout" />
                        <div class="py-10">
                            <h1 class="text-3xl font-semibold tracking-tight">"Checkout"</h1>
                            <div role="alert" class="card mt-8 text-center" data-testid="checkout-problem">
                                <p>{e.to_string()}</p>
                                <a href="/cart" class="btn-primary mt-6">"Back to your cart"</a>
                            </div>
                        </div>
                    }.into_any(),
                    Ok(page) => view! {
                        <Title text="Checkout" />
                        <Meta name="robots" content="noindex" />
                        <div class="py-10">
                            <h1 class="text-3xl font-semibold tracking-tight">"Checkout"</h1>
                            <CheckoutForm page />
                        </div>
                    }.into_any(),
                };
                view! { <Frame layout>{body}</Frame> }
            })}
        </Suspense>
    }
    .into_any()
}

const CHECKOUT_FIELDS: &[&str] = &[
    "email",
    "address_id",
    "full_name",
    "line1",
    "line2",
    "city",
    "region",
    "postal_code",
    "country",
    "phone",
    "shipping",
    "payment",
];

/// Contact, address, shipping, payment and the review. A form that posts (the server
/// answers with the order's page); after hydration (an island) the review's totals follow
/// the chosen country and shipping method, and the order is placed without a reload of
/// this page.
#[island]
fn CheckoutForm(page: CheckoutPage) -> impl IntoView {
    provide_form_error();
    let place = ServerAction::<PlaceOrder>::new();
    let error = action_error(place.value());
    let CheckoutPage {
        cart,
        email,
        signed_in,
        addresses,
        shipping,
        payments,
        idempotency_key,
        quote,
        country,
    } = page;
    let has_saved = !addresses.is_empty();
    let default_country = country.clone();
    // The review's totals follow the chosen country and shipping method (after
    // hydration; before it, they are those of the preselected ones).
    let country = RwSignal::new(country);
    let method = RwSignal::new(shipping.first().map(|s| s.code.clone()).unwrap_or_default());
    // Each answer carries the choice it was for; one for a choice since changed (answers
    // can arrive out of order) is never shown.
    let requote = Action::new(|choice: &(String, String)| {
        let choice = choice.clone();
        async move {
            let answer = checkout_quote(choice.0.clone(), choice.1.clone()).await;
            (choice, answer)
        }
    });
    Effect::watch(
        move || (country.get(), method.get()),
        move |choice, _, _| {
            requote.dispatch(choice.clone());
        },
        false,
    );
    let latest = RwSignal::new(quote);
    Effect::new(move |_| {
        if let Some((choice, Ok(q))) = requote.value().get() {
            if choice == (country.get_untracked(), method.get_untracked()) {
                latest.set(q);
            }
        }
    });
    let shown = Signal::derive(move || latest.get());
    let address_countries: Vec<(i64, String)> = addresses
        .iter()
        .map(|a| (a.id, a.country.clone()))
        .collect();
    let message =
        move |field: &'static str| move || error.get().and_then(|e| e.field_message(field));
    view! {
            <ActionForm action=place attr:class="mt-8 grid gap-8 lg:grid-cols-3" attr:data-testid="checkout-form">
                <input type="hidden" name="idempotency_key" value=idempotency_key />
                <div class="space-y-6 lg:col-span-2">
                    <FormAlert error fields=CHECKOUT_FIELDS />
                    {move || message("cart")().map(|m| view! {
                        <div role="alert" class="rounded-md border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-800" data-testid="checkout-sold-out">{m}</div>
                    })}
                    {cart.notices.iter().map(|n| view! {
                        <div role="status" class="rounded-md border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900" data-testid="cart-notice">{n.message()}</div>
                    }).collect_view()}
                    <section class="card space-y-4" aria-labelledby="contact-heading">
                        <h2 id="contact-heading" class="text-lg font-semibold">"1. Contact"</h2>
                        {match email {
                            Some(e) => view! { <p class="text-sm">"Signed in as " <strong>{e}</strong></p> }.into_any(),
                            None => view! {
                                <Field name="email" label="E-mail for your receipt" kind="email" autocomplete="email" required=true error />
                                <p class="text-sm text-stone-600">"Have an account? " <a href="/sign-in?next=/checkout" class="link">"Sign in"</a> " — your cart comes with you."</p>
                            }.into_any(),
                        }}
                    </section>
                    <section class="card space-y-4" aria-labelledby="address-heading">
                        <h2 id="address-heading" class="text-lg font-semibold">"2. Shipping address"</h2>
                        {has_saved.then(|| view! {
                            <fieldset class="space-y-2">
                                <legend class="text-sm font-medium">"Your saved addresses"</legend>
                                {addresses.iter().map(|a| {
                                    let id = a.id.to_string();
                                    view! {
                                        <label class="flex items-start gap-3 rounded-lg border border-stone-200 p-3 text-sm">
                                            <input type="radio" name="address_id" value=id checked=a.is_default class="mt-1"
                                                on:change={
                                                    let c = address_countries.iter().find(|(i, _)| *i == a.id).map(|(_, c)| c.clone()).unwrap_or_default();
                                                    move |_| country.set(c.clone())
                                                } />
                                            <span>{a.lines().join(", ")}</span>
                                        </label>
                                    }
                                }).collect_view()}
                                <label class="flex items-center gap-3 rounded-lg border border-stone-200 p-3 text-sm">
                                    <input type="radio" name="address_id" value="new" />
                                    <span>"A new address (fill in below)"</span>
                                </label>
                            </fieldset>
                        })}
                        <div class="grid gap-4 sm:grid-cols-2">
                            <div class="sm:col-span-2"><Field name="full_name" label="Full name" autocomplete="name" required=!has_saved maxlength=100 error /></div>
                            <div class="sm:col-span-2"><Field name="line1" label="Street address" autocomplete="address-line1" required=!has_saved maxlength=120 error /></div>
                            <div class="sm:col-span-2"><Field name="line2" label="Apartment, suite, etc. (optional)" autocomplete="address-line2" maxlength=120 error /></div>
                            <Field name="city" label="Town or city" autocomplete="address-level2" required=!has_saved maxlength=80 error />
                            <Field name="region" label="State or region (optional)" autocomplete="address-level1" maxlength=80 error />
                            <Field name="postal_code" label="Postal code" autocomplete="postal-code" required=!has_saved maxlength=16 error />
                            <div class="space-y-1">
                                <label for="field-country" class="block text-sm font-medium text-stone-800">"Country"</label>
                                <select id="field-country" name="country" autocomplete="country" class="field" on:change=move |ev| country.set(event_target_value(&ev))>
                                    {COUNTRIES.iter().map(|(code, name)| view! {
                                        <option value=*code selected=*code == default_country>{*name}</option>
                                    }).collect_view()}
                                </select>
                                {move || message("country")().map(|m| view! { <p class="text-sm text-red-700" data-testid="error-country">{m}</p> })}
                            </div>
                            <div class="sm:col-span-2"><Field name="phone" label="Phone (optional)" kind="tel" autocomplete="tel" maxlength=32 error /></div>
                        </div>
                    </section>
                    <section class="card space-y-3" aria-labelledby="shipping-heading">
                        <h2 id="shipping-heading" class="text-lg font-semibold">"3. Shipping method"</h2>
                        {shipping.into_iter().enumerate().map(|(i, s)| view! {
                            <label class="flex items-center justify-between gap-3 rounded-lg border border-stone-200 p-3 text-sm">
                                <span class="flex items-center gap-3">
                                    <input type="radio" name="shipping" value=s.code.clone() checked=i == 0 required=true
                                        on:change={
                                            let code = s.code.clone();
                                            move |_| method.set(code.clone())
                                        } />
                                    <span><strong>{s.name.clone()}</strong><span class="block text-stone-500">{s.description.clone()}</span></span>
                                </span>
                                <span class="font-medium">{if s.price.amount_minor() == 0 { "Free".to_owned() } else { s.price.to_string() }}</span>
                            </label>
                        }).collect_view()}
                        {move || message("shipping")().map(|m| view! { <p class="text-sm text-red-700">{m}</p> })}
                    </section>
                    <section class="card space-y-3" aria-labelledby="payment-heading">
                        <h2 id="payment-heading" class="text-lg font-semibold">"4. Payment"</h2>
                        {payments.into_iter().enumerate().map(|(i, p)| view! {
                            <label class="flex items-start gap-3 rounded-lg border border-stone-200 p-3 text-sm">
                                <input type="radio" name="payment" value=p.code.clone() checked=i == 0 required=true class="mt-1" />
                                <span><strong>{p.name.clone()}</strong><span class="block text-stone-500">{p.description.clone()}</span></span>
                            </label>
                        }).collect_view()}
                        {move || message("payment")().map(|m| view! { <p class="text-sm text-red-700">{m}</p> })}
                    </section>
                </div>
                <aside class="card h-fit space-y-4" aria-labelledby="review-heading">
                    <h2 id="review-heading" class="text-lg font-semibold">"5. Review"</h2>
                    <ul class="divide-y divide-stone-100 text-sm" data-testid="review-lines">
                        {cart.lines.iter().map(|l| view! {
                            <li class="flex justify-between gap-3 py-2">
                                <span>{format!("{} × {}", l.quantity, l.product_name)}<span class="block text-stone-500">{l.variant_label.clone()}</span></span>
                                <span>{l.line_total.to_string()}</span>
                            </li>
                        }).collect_view()}
                    </ul>
                    <dl class="space-y-2 border-t border-stone-200 pt-3 text-sm">
                        <div class="flex justify-between"><dt>"Subtotal"</dt><dd data-testid="review-subtotal">{move || shown.get().subtotal.to_string()}</dd></div>
                        <div class="flex justify-between"><dt>"Shipping"</dt><dd data-testid="review-shipping">{move || { let s = shown.get().shipping; if s.amount_minor() == 0 { "Free".to_owned() } else { s.to_string() } }}</dd></div>
                        <div class="flex justify-between"><dt>{move || format!("Tax ({})", shown.get().tax_rate_label())}</dt><dd data-testid="review-tax">{move || shown.get().tax.to_string()}</dd></div>
                        <div class="flex justify-between text-base font-semibold"><dt>"Total"</dt><dd data-testid="review-total">{move || shown.get().total.to_string()}</dd></div>
                    </dl>
                    <p class="text-xs text-stone-500">"Prices and stock are checked again when you place the order."</p>
                    <button type="submit" class="btn-primary w-full py-3" disabled=move || place.pending().get() data-testid="place-order">
                        {move || if place.pending().get() { "Placing your order…" } else { "Place order" }}
                    </button>
                    {(!signed_in).then(|| view! { <p class="text-xs text-stone-500">"You can check out as a guest."</p> })}
                </aside>
            </ActionForm>
    }
    .into_any()
}

#[server(prefix = "/api", endpoint = "checkout")]
pub async fn get_checkout() -> Result<CheckoutPage, AppError> {
    // Set when this cart's last checkout already placed an order: the answer is then a
    // redirect to it, whose 302 must not be replaced by the error's status.
    let mut placed_already = false;
    let result = async {
        let s = services()?;
        let session = session().await?;
        let user = current_user(&session, &s.auth).await?;
        let owner = cart_owner(false).await?;
        let Some(owner) = owner else {
            return Err(services::orders::OrderError::EmptyCart.into());
        };
        if let Some(number) = settle_checkout(&s, &owner).await? {
            // This cart's last checkout placed an order: show it, not a second checkout.
            remember_order(&session, &number).await;
            leptos_axum::redirect(&format!("/order/{number}"));
            placed_already = true;
            return Err(AppError::Conflict(format!(
                "Your order {number} was already placed from this cart."
            )));
        }
        let cart = s.cart.view(&owner).await?;
        if cart.lines.is_empty() {
            return Err(services::orders::OrderError::EmptyCart.into());
        }
        let idempotency_key = s.cart.checkout_key(&owner).await?;
        let addresses = match &user {
            Some(u) => s.auth.addresses(u.id).await?,
            None => Vec::new(),
        };
        let shipping = s.orders.shipping_options(cart.subtotal).await?;
        let country = addresses
            .iter()
            .find(|a| a.is_default)
            .map_or_else(|| "US".to_owned(), |a| a.country.clone());
        let first = shipping.first().map(|m| m.code.clone()).unwrap_or_default();
        Ok(CheckoutPage {
            quote: s.orders.quote(cart.subtotal, &country, &first).await?,
            country,
            shipping,
            payments: s.orders.payments().options(),
            email: user.as_ref().map(|u| u.email.clone()),
            signed_in: user.is_some(),
            addresses,
            idempotency_key,
            cart,
        })
    }
    .await;
    if placed_already {
        return result;
    }
    with_status(result)
}

/// The review's totals for another country or shipping method.
#[server(prefix = "/api", endpoint = "checkout_quote")]
pub async fn checkout_quote(
    country: String,
    shipping: String,
) -> Result<domain::order::Quote, AppError> {
    with_status(
        async move {
            let s = services()?;
            let owner = cart_owner(false)
                .await?
                .ok_or(services::orders::OrderError::EmptyCart)?;
            let cart = s.cart.view(&owner).await?;
            Ok(s.orders.quote(cart.subtotal, &country, &shipping).await?)
        }
        .await,
    )
}

/// Places the order for the cart. `address_id` picks a saved address (signed in);
/// otherwise the address fields are used.
#[server(prefix = "/api", endpoint = "place_order")]
pub async fn place_order(
    idempotency_key: String,
    email: Option<String>,
    address_id: Option<String>,
    full_name: Option<String>,
    line1: Option<String>,
    line2: Option<String>,
    city: Option<String>,
    region: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    phone: Option<String>,
    shipping: Option<String>,
    payment: Option<String>,
) -> Result<(), AppError> {
    with_status(
        async move {
            let s = services()?;
            let session = session().await?;
            let user = current_user(&session, &s.auth).await?;
            // No cart at all: nothing this visitor placed can hold the key either.
            let owner = cart_owner(false).await?.ok_or_else(|| {
                AppError::BadRequest(
                    "Your cart is empty. Add something before checking out.".into(),
                )
            })?;
            let known_as = match &user {
                Some(_) => merged_carts(&session).await,
                None => Vec::new(),
            };
            let saved = match (
                &user,
                address_id
                    .as_deref()
                    .filter(|v| !v.is_empty() && *v != "new"),
            ) {
                (Some(u), Some(id)) => {
                    let id: i64 = id.parse().map_err(|_| {
                        AppError::field("address_id", "Choose one of your addresses.")
                    })?;
                    Some(s.auth.address(u.id, id).await.map_err(|_| {
                        AppError::field("address_id", "Choose one of your addresses.")
                    })?)
                }
                _ => None,
            };
            let address = match saved {
                Some(a) => domain::AddressInput {
                    full_name: a.full_name,
                    line1: a.line1,
                    line2: a.line2,
                    city: a.city,
                    region: a.region,
                    postal_code: a.postal_code,
                    country: a.country,
                    phone: a.phone,
                },
                None => domain::AddressInput {
                    full_name: full_name.unwrap_or_default(),
                    line1: line1.unwrap_or_default(),
                    line2: line2.unwrap_or_default(),
                    city: city.unwrap_or_default(),
                    region: region.unwrap_or_default(),
                    postal_code: postal_code.unwrap_or_default(),
                    country: country.unwrap_or_default(),
                    phone: phone.unwrap_or_default(),
                },
            };
            let email = match &user {
                Some(u) => u.email.clone(),
                None => email.unwrap_or_default(),
            };
            let lines = s.cart.checkout_lines(&owner).await?;
            let ordered: Vec<String> = lines.iter().map(|l| l.sku.clone()).collect();
            let placed = s
                .orders
                .place(&services::orders::PlaceOrder {
                    idempotency_key,
                    owner: owner.key(),
                    known_as,
                    client_ip: client_ip().await,
                    user_id: user.as_ref().map(|u| u.id),
                    email,
                    address,
                    shipping_code: shipping.unwrap_or_default(),
                    payment_code: payment.unwrap_or_default(),
                    lines,
                })
                .await?;
            // From here on the order stands: nothing below may turn this into an error.
            if placed.created {
                tracing::info!(order = %placed.number, "order placed");
            }
            // Only what was ordered leaves the cart (with the checkout's key); anything
            // added meanwhile stays. If this fails, the cart's next view settles it.
            if let Err(e) = s.cart.finish_checkout(&owner, &ordered).await {
                tracing::warn!(order = %placed.number, error = %e, "order placed but the cart could not be emptied yet");
            }
            remember_order(&session, &placed.number).await;
            leptos_axum::redirect(&format!("/order/{}", placed.number));
            Ok(())
        }
        .await,
    )
}
