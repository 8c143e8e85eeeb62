//! `/admin/categories`: the category tree. Create, rename, move (under another parent:
//! a move under itself is refused by the database) and reorder among siblings.

use super::shell::admin_page;
use crate::components::forms::{action_error, Field, FormAlert};
#[cfg(feature = "ssr")]
use crate::components::server::{require_staff, services, with_status};
use crate::error::AppError;
use domain::product_admin::{CategoryChoice, CategoryScreen};
use leptos::form::ActionForm;
use leptos::prelude::*;

/// The parent select of a category form; `own` is the category being edited.
fn parent_select(
    id: String,
    choices: &[CategoryChoice],
    selected: Option<i64>,
    own: Option<i64>,
) -> impl IntoView {
    view! {
        <div class="space-y-1">
            <label for=id.clone() class="block text-sm font-medium">"Parent"</label>
            <select id=id name="parent_id" class="field">
                <option value="" selected=selected.is_none()>"None (top level)"</option>
                {choices.iter().filter(|c| Some(c.id) != own).map(|c| view! {
                    <option value=c.id.to_string() selected=selected == Some(c.id)>{c.path.clone()}</option>
                }).collect_view()}
            </select>
        </div>
    }
}

#[component]
pub fn AdminCategoriesPage() -> impl IntoView {
    let create = ServerAction::<CreateCategory>::new();
    let update = ServerAction::<UpdateCategory>::new();
    let reorder = ServerAction::<ReorderCategory>::new();
    let create_error = action_error(create.value());
    let update_error = action_error(update.value());
    let reorder_error = action_error(reorder.value());
    let screen = Resource::new(|| (), |_| admin_categories());
    admin_page(
        "Categories",
        "/admin/products",
        vec![("/admin/products", "Products"), ("", "Categories")],
        screen,
        move |s: CategoryScreen| {
            let choices = s.choices.clone();
            let new_parent = parent_select("new-parent".into(), &choices, None, None);
            view! {
            <section class="card space-y-4" aria-labelledby="new-category-heading">
                <h2 id="new-category-heading" class="text-lg font-semibold">"New category"</h2>
                <ActionForm action=create attr:class="grid gap-4 sm:grid-cols-[1fr_1fr_1fr_auto] sm:items-end" attr:data-testid="category-create">
                    <FormAlert error=create_error fields=&["name", "slug"] />
                    <Field name="name" label="Name" required=true maxlength=200 error=create_error />
                    <Field name="slug" label="Web address (slug)" maxlength=120 hint="Made from the name when empty." error=create_error />
                    {new_parent}
                    <button type="submit" class="btn-primary">"Create"</button>
                </ActionForm>
            </section>
            <section class="card space-y-2" aria-labelledby="tree-heading">
                <h2 id="tree-heading" class="text-lg font-semibold">"Tree"</h2>
                <FormAlert error=update_error fields=&[] />
                <FormAlert error=reorder_error fields=&[] />
                <ul class="divide-y divide-stone-100" data-testid="category-tree">
                    {s.nodes.into_iter().map(|n| {
                        let indent = format!("padding-left: {}rem", n.depth as f32 * 1.5);
                        let id = n.id;
                        let parent = parent_select(format!("parent-{id}"), &choices, n.parent_id, Some(id));
                        let (up_label, down_label) = (format!("Move {} up", n.name), format!("Move {} down", n.name));
                        let name = n.name.clone();
                        view! {
                            <li class="py-2" style=indent data-testid="category-node">
                                <div class="flex flex-wrap items-center gap-3">
                                    <span class="font-medium" data-testid="category-name">{n.name.clone()}</span>
                                    <span class="font-mono text-xs text-stone-500">{format!("/c/{}", n.slug)}</span>
                                    <span class="text-xs text-stone-500">{format!("{} published", n.products)}</span>
                                    <ActionForm action=reorder>
                                        <input type="hidden" name="id" value=id.to_string() />
                                        <input type="hidden" name="up" value="true" />
                                        <button type="submit" class="btn-secondary px-2 py-0.5 text-xs" disabled=n.first aria-label=up_label>"↑"</button>
                                    </ActionForm>
                                    <ActionForm action=reorder>
                                        <input type="hidden" name="id" value=id.to_string() />
                                        <input type="hidden" name="up" value="false" />
                                        <button type="submit" class="btn-secondary px-2 py-0.5 text-xs" disabled=n.last aria-label=down_label>"↓"</button>
                                    </ActionForm>
                                </div>
                                <details class="mt-2">
                                    <summary class="cursor-pointer text-sm text-stone-700">"Rename or move"</summary>
                                    <ActionForm action=update attr:class="mt-2 grid gap-3 sm:grid-cols-[1fr_1fr_1fr_auto] sm:items-end" attr:data-testid="category-edit">
                                        <input type="hidden" name="id" value=id.to_string() />
                                        <div class="space-y-1">
                                            <label for=format!("name-{id}") class="block text-sm font-medium">"Name"</label>
                                            <input id=format!("name-{id}") name="name" value=name class="field" required maxlength="200" />
                                        </div>
                                        <div class="space-y-1">
                                            <label for=format!("slug-{id}") class="block text-sm font-medium">"Web address (slug)"</label>
                                            <input id=format!("slug-{id}") name="slug" value=n.slug.clone() class="field" maxlength="120" />
                                        </div>
                                        {parent}
                                        <button type="submit" class="btn-secondary">"Save"</button>
                                    </ActionForm>
                                </details>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
        }
        .into_any()
        },
    )
}

#[server(prefix = "/api", endpoint = "admin_categories")]
pub async fn admin_categories() -> Result<CategoryScreen, AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            Ok(services()?.catalog.category_screen(&actor).await?)
        }
        .await,
    )
}

/// An empty parent choice is the top level.
#[cfg(feature = "ssr")]
fn parent_of(parent_id: Option<String>) -> Result<Option<i64>, AppError> {
    match parent_id.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(p) => p
            .parse()
            .map(Some)
            .map_err(|_| AppError::field("parent_id", "Choose a parent category.")),
    }
}

#[server(prefix = "/api", endpoint = "admin_category_create")]
pub async fn create_category(
    name: String,
    slug: String,
    parent_id: Option<String>,
) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            services()?
                .catalog
                .create_category(&actor, &name, &slug, parent_of(parent_id)?)
                .await?;
            leptos_axum::redirect("/admin/categories?done=saved");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_category_update")]
pub async fn update_category(
    id: i64,
    name: String,
    slug: String,
    parent_id: Option<String>,
) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            services()?
                .catalog
                .update_category(&actor, id, &name, &slug, parent_of(parent_id)?)
                .await?;
            leptos_axum::redirect("/admin/categories?done=saved");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_category_reorder")]
pub async fn reorder_category(id: i64, up: bool) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            services()?.catalog.reorder_category(&actor, id, up).await?;
            leptos_axum::redirect("/admin/categories?done=saved");
            Ok(())
        }
        .await,
    )
}
