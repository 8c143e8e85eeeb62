//! Cart, checkout, order confirmation, order history and guest order lookup.
//!
//! Every form posts to a server function, so the whole journey works before the wasm
//! loads; after hydration the same forms submit in place.

use crate::api::shop::{
    checkout_quote, get_cart, get_checkout, get_order, order_history, AddToCart, LookupOrder,
    PlaceOrder, RemoveCartLine, UpdateCartLine,
};
use crate::components::error_view::ErrorView;
use crate::components::forms::{action_error, Field, FormAlert, FormError};
use crate::components::layout::{await_layout, loading, Frame};
use crate::pages::account::gated_page;
use crate::pages::auth::refresh_layout_on_success;
use crate::LayoutResource;
use domain::account::COUNTRIES;
use domain::{CartView, CheckoutPage, OrderView};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;

/// The "Add to cart" form of a product page.
#[component]
pub fn AddToCartForm(
    #[prop(into)] sku: Signal<String>,
    #[prop(into)] in_stock: Signal<bool>,
    #[prop(into)] max_qty: Signal<String>,
) -> impl IntoView {
    let action = ServerAction::<AddToCart>::new();
    refresh_layout_on_success(action.value());
    let error = action_error(action.value());
    view! {
        <ActionForm action attr:class="mt-6" attr:data-testid="add-to-cart">
            <input type="hidden" name="sku" value=move || sku.get() />
            <div class="flex items-end gap-3">
                <div>
                    <label for="quantity" class="block text-sm font-semibold">"Quantity"</label>
                    <input id="quantity" name="quantity" type="number" min="1" max=move || max_qty.get() value="1" inputmode="numeric" class="field mt-2 w-24" />
                </div>
                <button type="submit" class="btn-primary flex-1 py-3" disabled=move || !in_stock.get() || action.pending().get()>
                    {move || if !in_stock.get() { "Sold out" } else if action.pending().get() { "Adding…" } else { "Add to cart" }}
                </button>
            </div>
            <div class="mt-2"><FormAlert error fields=&[] /></div>
            {move || error.get().and_then(|e| e.field_message("quantity")).map(|m| view! {
                <p role="alert" class="mt-2 text-sm text-red-700" data-testid="error-quantity">{m}</p>
            })}
        </ActionForm>
    }
    .into_any()
}

fn empty_cart() -> impl IntoView {
    view! {
        <div class="card py-16 text-center" data-testid="empty-cart">
            <p class="text-lg font-medium">"Your cart is empty."</p>
            <a href="/" class="btn-primary mt-6">"Continue shopping"</a>
        </div>
    }
}

#[component]
pub fn CartPage() -> impl IntoView {
    let layout = expect_context::<LayoutResource>();
    let update = ServerAction::<UpdateCartLine>::new();
    let remove = ServerAction::<RemoveCartLine>::new();
    refresh_layout_on_success(update.value());
    refresh_layout_on_success(remove.value());
    let cart = Resource::new(
        move || (update.version().get(), remove.version().get()),
        |_| get_cart(),
    );
    let update_error = action_error(update.value());
    let remove_error = action_error(remove.value());
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let (layout, cart) = (await_layout(layout).await, cart.await);
                let body = match cart {
                    Err(e) => view! { <ErrorView error=e /> }.into_any(),
                    Ok(cart) => view! {
                        <Title text="Your cart" />
                        <Meta name="robots" content="noindex" />
                        <div class="py-10">
                            <h1 class="text-3xl font-semibold tracking-tight">"Your cart"</h1>
                            <div class="mt-6 space-y-3">
                                <FormAlert error=update_error fields=&[] />
                                <FormAlert error=remove_error fields=&[] />
                                {update_error.get_untracked().and_then(|e| e.field_message("quantity")).map(|m| view! {
                                    <div role="alert" class="rounded-md border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-800" data-testid="error-quantity">{m}</div>
                                })}
                                {cart.notices.iter().map(|n| view! {
                                    <div role="status" class="rounded-md border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900" data-testid="cart-notice">{n.message()}</div>
                                }).collect_view()}
                            </div>
                            {if cart.lines.is_empty() { empty_cart().into_any() } else { view! { <CartTable cart update remove /> }.into_any() }}
                        </div>
                    }.into_any(),
                };
                view! { <Frame layout>{body}</Frame> }
            })}
        </Suspense>
    }
    .into_any()
}

#[component]
fn CartTable(
    cart: CartView,
    update: ServerAction<UpdateCartLine>,
    remove: ServerAction<RemoveCartLine>,
) -> impl IntoView {
    let subtotal = cart.subtotal.to_string();
    view! {
        <div class="mt-8 grid gap-8 lg:grid-cols-3">
            <ul class="divide-y divide-stone-200 rounded-xl border border-stone-200 bg-white lg:col-span-2">
                {cart.lines.into_iter().map(|l| {
                    let sku = l.sku.clone();
                    let sku2 = l.sku.clone();
                    let qty_label = format!("Quantity of {}", l.product_name);
                    let remove_label = format!("Remove {}", l.product_name);
                    view! {
                        <li class="flex gap-4 p-4" data-testid="cart-line">
                            <img src=l.image_url.clone() alt="" width="96" height="96" class="h-24 w-24 rounded-lg bg-stone-100 object-cover" />
                            <div class="flex flex-1 flex-col gap-2">
                                <div class="flex justify-between gap-4">
                                    <div>
                                        <a href=format!("/p/{}?variant={}", l.product_slug, l.sku) class="font-medium hover:underline" data-testid="cart-line-name">{l.product_name.clone()}</a>
                                        <p class="text-sm text-stone-500">{l.variant_label.clone()}</p>
                                        <p class="text-sm text-stone-500">{format!("{} each", l.unit_price)}</p>
                                    </div>
                                    <p class="font-semibold" data-testid="cart-line-total">{l.line_total.to_string()}</p>
                                </div>
                                <div class="flex flex-wrap items-end gap-2">
                                    <ActionForm action=update attr:class="flex items-end gap-2">
                                        <input type="hidden" name="sku" value=sku />
                                        <label class="text-sm">
                                            <span class="block text-stone-600">"Quantity"</span>
                                            <input name="quantity" type="number" min="1" max=l.available.to_string() value=l.quantity.to_string() inputmode="numeric" class="field mt-1 w-20" aria-label=qty_label />
                                        </label>
                                        <button type="submit" class="btn-secondary">"Update"</button>
                                    </ActionForm>
                                    <ActionForm action=remove>
                                        <input type="hidden" name="sku" value=sku2 />
                                        <button type="submit" class="btn-secondary text-red-700" aria-label=remove_label>"Remove"</button>
                                    </ActionForm>
                                </div>
                            </div>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <aside class="card h-fit space-y-4">
                <div class="flex justify-between text-base"><span>"Subtotal"</span><span class="font-semibold" data-testid="cart-subtotal">{subtotal}</span></div>
                <p class="text-sm text-stone-500">"Shipping and tax are worked out at checkout."</p>
                <a href="/checkout" class="btn-primary w-full" data-testid="checkout-link">"Check out"</a>
            </aside>
        </div>
    }
    .into_any()
}

#[component]
pub fn CheckoutPageView() -> impl IntoView {
    let layout = expect_context::<LayoutResource>();
    let checkout = Resource::new(|| (), |_| get_checkout());
    let place = ServerAction::<PlaceOrder>::new();
    refresh_layout_on_success(place.value());
    let error = action_error(place.value());
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
                    Ok(page) => view! { <CheckoutForm page place error /> }.into_any(),
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

#[component]
fn CheckoutForm(
    page: CheckoutPage,
    place: ServerAction<PlaceOrder>,
    error: FormError,
) -> impl IntoView {
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
    let requote = Action::new(|(c, s): &(String, String)| checkout_quote(c.clone(), s.clone()));
    Effect::watch(
        move || (country.get(), method.get()),
        move |choice, _, _| {
            requote.dispatch(choice.clone());
        },
        false,
    );
    let shown = Signal::derive(move || match requote.value().get() {
        Some(Ok(q)) => q,
        _ => quote.clone(),
    });
    let address_countries: Vec<(i64, String)> = addresses
        .iter()
        .map(|a| (a.id, a.country.clone()))
        .collect();
    let message =
        move |field: &'static str| move || error.get().and_then(|e| e.field_message(field));
    view! {
        <Title text="Checkout" />
        <Meta name="robots" content="noindex" />
        <div class="py-10">
            <h1 class="text-3xl font-semibold tracking-tight">"Checkout"</h1>
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
        </div>
    }
    .into_any()
}

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
                    {(!order.payment_instructions.is_empty()).then(|| view! {
                        <p class="mt-2 text-stone-600" data-testid="payment-instructions">{order.payment_instructions.clone()}</p>
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
    let order = Resource::new(
        move || params.read().get("number").unwrap_or_default(),
        get_order,
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
                                <p class="text-sm font-semibold uppercase tracking-widest text-amber-700" data-testid="order-status">{order.status.label()}</p>
                                <h1 class="mt-2 text-3xl font-semibold tracking-tight">"Thank you for your order"</h1>
                                <p class="mt-2 text-stone-600">
                                    "Order " <strong data-testid="order-number">{order.number.clone()}</strong>
                                    {format!(", placed {}. A confirmation is on its way to {}.", order.placed_at, order.email)}
                                </p>
                            </div>
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

/// `/account/orders`: the signed-in shopper's orders.
#[component]
pub fn OrdersPage() -> impl IntoView {
    let orders = Resource::new(|| (), |_| order_history());
    gated_page(orders, move |orders| {
        view! {
            <Title text="Your orders" />
            <Meta name="robots" content="noindex" />
            <div class="py-10">
                <h1 class="text-3xl font-semibold tracking-tight">"Your orders"</h1>
                {if orders.is_empty() {
                    view! { <p class="mt-6 text-stone-600" data-testid="no-orders">"You have not placed any orders yet."</p> }.into_any()
                } else {
                    view! {
                        <ul class="mt-8 divide-y divide-stone-200 rounded-xl border border-stone-200 bg-white" data-testid="order-history">
                            {orders.into_iter().map(|o| view! {
                                <li class="flex flex-wrap items-center justify-between gap-3 p-4" data-testid="order-row">
                                    <a href=format!("/account/orders/{}", o.number) class="font-medium hover:underline">{o.number.clone()}</a>
                                    <span class="text-sm text-stone-600">{o.placed_at.clone()}</span>
                                    <span class="text-sm">{format!("{} item{}", o.item_count, if o.item_count == 1 { "" } else { "s" })}</span>
                                    <span class="text-sm font-medium">{o.status.label()}</span>
                                    <span class="font-semibold">{o.total.to_string()}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </div>
        }
        .into_any()
    })
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
