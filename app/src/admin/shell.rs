//! The admin shell every admin screen shares: navigation (only what the role may open),
//! breadcrumbs, the flash message of the last action, and the pieces of a table (sortable
//! column headings, pagination). All of it is links and plain forms, so a screen works
//! before the wasm loads; screens are server-rendered pages, so the admin adds nothing to
//! the storefront's bundle beyond what its few forms need.

use crate::components::gate::{protected_error, urlencode};
use crate::components::layout::{await_layout, loading, Frame, LayoutResource};
use crate::error::AppError;
use domain::staff::Permission;
use domain::Role;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_query_map;

/// What an action's redirect says, by its code in `?done=`: fixed sentences only, so a
/// link cannot make the shell say anything else.
fn flash_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "invited" => "Invitation sent. It works once, for 7 days.",
        "revoked" => "Invitation withdrawn.",
        "role" => "Role changed.",
        "removed" => "Removed from the staff and signed out everywhere.",
        "two-factor-reset" => "Two-factor sign-in reset: they are signed out and set it up again at their next sign-in.",
        "order" => "Order updated.",
        "two-factor" => "Two-factor sign-in is on. Welcome to the admin.",
        "verified" => "Signed in with your second factor.",
        "saved" => "Saved.",
        "disabled" => "The account is disabled and signed out everywhere.",
        "enabled" => "The account can sign in again.",
        "reset-sent" => "A password reset e-mail is on its way to the customer.",
        "note" => "Note added.",
        "groups" => "Groups updated.",
        "group-created" => "Group created.",
        "erased" => "The customer's personal data was erased.",
        "created" => "Product created. It stays a draft until you publish it.",
        "variants" => "Variants made from the options.",
        "duplicated" => "This is the copy: a draft, with new SKUs and no stock.",
        "archived" => "Archived: hidden from the shop, kept for its orders.",
        "restored" => "Restored from the archive as a draft.",
        "deleted" => "Product deleted.",
        "bulk" => "The ticked products were changed.",
        "image" => "Images updated.",
        "stock" => "Stock movement recorded.",
        "refunded" => "Refund recorded; the customer is e-mailed.",
        "captured" => "Payment captured.",
        "cancelled" => "Order cancelled; the customer is e-mailed.",
        "paid" => "Marked paid.",
        "review" => "The review flag is cleared.",
        _ => return None,
    })
}

/// The admin sections, each with what it needs.
const SECTIONS: &[(&str, &str, Option<Permission>)] = &[
    ("/admin", "Dashboard", None),
    ("/admin/orders", "Orders", Some(Permission::ReadOrders)),
    ("/admin/products", "Products", Some(Permission::Catalog)),
    ("/admin/stock", "Stock", Some(Permission::Catalog)),
    (
        "/admin/customers",
        "Customers",
        Some(Permission::ReadCustomers),
    ),
    ("/admin/staff", "Staff", Some(Permission::ManageStaff)),
    ("/admin/audit", "Audit log", Some(Permission::ReadAudit)),
];

#[component]
fn AdminNav(role: Role, current: &'static str) -> impl IntoView {
    view! {
        <nav aria-label="Admin" class="lg:w-52">
            <ul class="flex flex-wrap gap-2 lg:flex-col">
                {SECTIONS
                    .iter()
                    .filter(|(_, _, needs)| needs.is_none_or(|p| role.may(p)))
                    .map(|(href, label, _)| {
                        let active = *href == current;
                        view! {
                            <li>
                                <a
                                    href=*href
                                    aria-current=active.then_some("page")
                                    class=if active { "block rounded-lg bg-stone-900 px-3 py-2 text-sm font-medium text-white" } else { "block rounded-lg px-3 py-2 text-sm font-medium text-stone-700 hover:bg-stone-100" }
                                >
                                    {*label}
                                </a>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            <p class="mt-4 hidden text-xs text-stone-500 lg:block" data-testid="admin-role">{format!("Signed in as {}", role.label())}</p>
        </nav>
    }
    .into_any()
}

/// Where a screen sits: "Admin › Staff › …"; the last one is the page itself.
#[component]
fn Breadcrumbs(crumbs: Vec<(String, String)>) -> impl IntoView {
    let last = crumbs.len().saturating_sub(1);
    view! {
        <nav aria-label="Breadcrumb" class="text-sm text-stone-600">
            <ol class="flex flex-wrap gap-1">
                {crumbs
                    .into_iter()
                    .enumerate()
                    .map(|(i, (href, label))| {
                        if i == last {
                            view! { <li aria-current="page" class="font-medium text-stone-900">{label}</li> }.into_any()
                        } else {
                            view! { <li><a href=href class="link">{label}</a>" ›"</li> }.into_any()
                        }
                    })
                    .collect_view()}
            </ol>
        </nav>
    }
    .into_any()
}

/// The flash message of the last action (from `?done=`), announced to screen readers.
#[component]
fn Flash() -> impl IntoView {
    let query = use_query_map();
    let text = query
        .read_untracked()
        .get("done")
        .and_then(|c| flash_text(&c));
    text.map(|t| {
        view! {
            <div role="status" class="rounded-md border border-emerald-200 bg-emerald-50 px-4 py-3 text-sm text-emerald-900" data-testid="flash">{t}</div>
        }
    })
}

/// An admin screen: the layout and `data` awaited in one Suspense, then the shell (nav for
/// the signed-in role, breadcrumbs, flash) around `render`'s content. Signed out goes to
/// sign-in, staff without their second factor to give it; a refusal is shown inside the
/// shell with its sentence (and 403).
pub fn admin_page<T>(
    title: &'static str,
    current: &'static str,
    crumbs: Vec<(&'static str, &'static str)>,
    data: Resource<Result<T, AppError>>,
    render: impl Fn(T) -> AnyView + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    let layout = expect_context::<LayoutResource>();
    let crumbs: Vec<(String, String)> = std::iter::once(("/admin", "Admin"))
        .chain(crumbs)
        .map(|(h, l)| (h.to_owned(), l.to_owned()))
        .collect();
    view! {
        <Suspense fallback=loading>
            {move || {
                let render = render.clone();
                let crumbs = crumbs.clone();
                Suspend::new(async move {
                    let (layout, data) = (await_layout(layout).await, data.await);
                    let role = layout.personal.user.as_ref().map(|u| u.role);
                    let body = match (data, role) {
                        (Err(e @ (AppError::Unauthorized(_) | AppError::SecondFactor(_))), _) => {
                            return view! { <Frame layout>{protected_error(e)}</Frame> }.into_any();
                        }
                        (Err(e), Some(role)) if role.is_staff() => {
                            crate::components::error_view::set_status(e.status());
                            view! {
                                <div role="alert" class="rounded-md border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-900" data-testid="error-message">{e.to_string()}</div>
                            }
                            .into_any()
                        }
                        (Err(e), _) => {
                            return view! { <Frame layout>{protected_error(e)}</Frame> }.into_any();
                        }
                        (Ok(data), _) => render(data),
                    };
                    let role = role.unwrap_or(Role::Customer);
                    view! {
                        <Frame layout>
                            <Title text=format!("{title} · Admin") />
                            <Meta name="robots" content="noindex" />
                            <div class="py-8" data-testid="admin-shell">
                                <Breadcrumbs crumbs />
                                <div class="mt-4 flex flex-col gap-8 lg:flex-row">
                                    <AdminNav role current />
                                    <div class="min-w-0 flex-1 space-y-6">
                                        <h1 class="text-3xl font-semibold tracking-tight">{title}</h1>
                                        <Flash />
                                        {body}
                                    </div>
                                </div>
                            </div>
                        </Frame>
                    }
                    .into_any()
                })
            }}
        </Suspense>
    }
}

/// A link to `path` with `params` as its query string (empty values left out).
pub fn href_with(path: &str, params: &[(&str, String)]) -> String {
    let query: Vec<String> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// Previous and next page links of a table; `link(page)` makes a page's address.
#[component]
pub fn Pager(page: u32, has_next: bool, link: Callback<u32, String>) -> impl IntoView {
    view! {
        <nav aria-label="Pages" class="flex items-center justify-between text-sm" data-testid="pager">
            {(page > 1).then(|| view! { <a href=link.run(page - 1) rel="prev" class="btn-secondary py-1.5">"Previous"</a> })}
            <span class="text-stone-600">{format!("Page {page}")}</span>
            {has_next.then(|| view! { <a href=link.run(page + 1) rel="next" class="btn-secondary py-1.5">"Next"</a> })}
        </nav>
    }
    .into_any()
}

/// A sortable column heading: a link that sorts by `key`, the other way round when it
/// already does; `aria-sort` tells screen readers the current order.
#[component]
pub fn SortHeader(
    label: &'static str,
    key: &'static str,
    /// The current sort key and whether it is descending.
    current: (String, bool),
    link: Callback<(String, bool), String>,
) -> impl IntoView {
    let active = current.0 == key;
    let descending = active && current.1;
    let next = (key.to_owned(), active && !descending);
    view! {
        <th
            scope="col"
            class="px-3 py-2 text-left font-medium"
            aria-sort=if active { if descending { "descending" } else { "ascending" } } else { "none" }
        >
            <a href=link.run(next) class="hover:underline">
                {label}
                {active.then_some(if descending { " ↓" } else { " ↑" })}
            </a>
        </th>
    }
    .into_any()
}
