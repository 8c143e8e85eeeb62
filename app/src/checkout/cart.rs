//! `/cart`: the cart, with quantities changed and lines removed in place.

use crate::components::client::{provide_form_error, show_cart_count};
use crate::components::error_view::ErrorView;
use crate::components::forms::{action_error, FormAlert};
use crate::components::layout::{await_layout, loading, Frame, LayoutResource};
#[cfg(feature = "ssr")]
use crate::components::server::{
    cart_owner, remember_order, services, session, settle_checkout, with_status,
};
use crate::error::AppError;
use domain::CartView;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};

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
    let cart = Resource::new(|| (), |_| get_cart());
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
                            <CartEditor cart />
                        </div>
                    }.into_any(),
                };
                view! { <Frame layout>{body}</Frame> }
            })}
        </Suspense>
    }
    .into_any()
}

/// The cart's lines and totals. Each quantity and remove button is a form that posts
/// (the server answers with the cart page again); after hydration (an island) they submit
/// in place: the cart is read again and the header's count follows.
#[island]
fn CartEditor(cart: CartView) -> impl IntoView {
    provide_form_error();
    let update = ServerAction::<UpdateCartLine>::new();
    let remove = ServerAction::<RemoveCartLine>::new();
    let update_error = action_error(update.value());
    let remove_error = action_error(remove.value());
    let cart = RwSignal::new(cart);
    let reload = Action::new(|_: &()| get_cart());
    // After each change that went through, the cart as it now is.
    Effect::new(move |_| {
        let changed = matches!(update.value().get(), Some(Ok(())))
            || matches!(remove.value().get(), Some(Ok(())));
        if changed {
            reload.dispatch(());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(now)) = reload.value().get() {
            show_cart_count(now.item_count());
            cart.set(now);
        }
    });
    view! {
        <div class="mt-6 space-y-3">
            <FormAlert error=update_error fields=&[] />
            <FormAlert error=remove_error fields=&[] />
            {move || update_error.get().and_then(|e| e.field_message("quantity")).map(|m| view! {
                <div role="alert" class="rounded-md border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-800" data-testid="error-quantity">{m}</div>
            })}
            {move || cart.with(|c| c.notices.iter().map(|n| view! {
                <div role="status" class="rounded-md border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900" data-testid="cart-notice">{n.message()}</div>
            }).collect_view())}
        </div>
        {move || {
            let cart = cart.get();
            if cart.lines.is_empty() { empty_cart().into_any() } else { view! { <CartTable cart update remove /> }.into_any() }
        }}
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

#[server(prefix = "/api", endpoint = "cart")]
pub async fn get_cart() -> Result<CartView, AppError> {
    with_status(
        async move {
            let s = services()?;
            match cart_owner(false).await? {
                Some(owner) => {
                    let placed = settle_checkout(&s, &owner).await?;
                    let mut cart = s.cart.view(&owner).await?;
                    if let Some(number) = placed {
                        let session = session().await?;
                        remember_order(&session, &number).await;
                        cart.notices
                            .push(domain::CartNotice::OrderPlaced { number });
                    }
                    Ok(cart)
                }
                None => Ok(CartView::empty(s.catalog.currency())),
            }
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "cart_update")]
pub async fn update_cart_line(sku: String, quantity: String) -> Result<(), AppError> {
    with_status(
        async move {
            let quantity = services::cart::parse_quantity(&quantity)?;
            let owner = cart_owner(false)
                .await?
                .ok_or_else(|| AppError::NotFound("Your cart is empty.".into()))?;
            services()?
                .cart
                .set_quantity(&owner, &sku, quantity)
                .await?;
            leptos_axum::redirect("/cart");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "cart_remove")]
pub async fn remove_cart_line(sku: String) -> Result<(), AppError> {
    with_status(
        async move {
            let owner = cart_owner(false)
                .await?
                .ok_or_else(|| AppError::NotFound("Your cart is empty.".into()))?;
            services()?.cart.remove(&owner, &sku).await?;
            leptos_axum::redirect("/cart");
            Ok(())
        }
        .await,
    )
}
