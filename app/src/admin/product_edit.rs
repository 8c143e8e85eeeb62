//! `/admin/products/new` and `/admin/products/:id`: a product's fields, its options (the
//! variant matrix is made from them), each variant's SKU, price, compare-at price, weight
//! and barcode, and duplicate, archive, restore and delete. Every save carries the
//! version it was made from; a save over someone else's newer one is refused and says
//! what they changed.

// A plain HTML form posts one argument per field, and so does the server function's
// client side: more than clippy's usual seven.
#![allow(clippy::too_many_arguments)]

use super::shell::admin_page;
use crate::components::forms::{action_error, Field, FormAlert, FormError};
#[cfg(feature = "ssr")]
use crate::components::server::{require_staff, services, with_status};
use crate::error::AppError;
use domain::product_admin::{
    format_options, CategoryChoice, ProductEdit, ProductFields, VariantInput,
};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// The category select of a form.
fn category_select(choices: &[CategoryChoice], selected: i64, error: FormError) -> impl IntoView {
    let message = move || error.get().and_then(|e| e.field_message("category_id"));
    view! {
        <div class="space-y-1">
            <label for="field-category_id" class="block text-sm font-medium">"Category"</label>
            <select id="field-category_id" name="category_id" class="field" required>
                {choices.iter().map(|c| view! { <option value=c.id.to_string() selected=c.id == selected>{c.path.clone()}</option> }).collect_view()}
            </select>
            {move || message().map(|m| view! { <p class="text-sm text-red-700">{m}</p> })}
        </div>
    }
}

/// A labelled checkbox (sent as `on` when ticked).
fn checkbox(
    name: &'static str,
    label: &'static str,
    checked: bool,
    disabled: bool,
) -> impl IntoView {
    let id = format!("field-{name}");
    view! {
        <div class="flex items-center gap-2">
            <input id=id.clone() type="checkbox" name=name checked=checked disabled=disabled class="h-4 w-4" />
            <label for=id class="text-sm font-medium">{label}</label>
        </div>
    }
}

const DESCRIPTION_HINT: &str = "Paragraphs, bold, italic, lists, small headings and links, written as HTML (<p>, <strong>, <em>, <ul>, <li>, <h3>, <a href>). Anything else is removed when saved.";
const OPTIONS_HINT: &str = "One option per line, its values after a colon: “Colour: Red, Blue, Green”. A variant is made for every combination (at most 100). Leave empty for a product with a single variant.";

/// The product's own fields (shared by the new and the edit screens).
fn fields_form(
    f: &ProductFields,
    categories: &[CategoryChoice],
    archived: bool,
    error: FormError,
) -> impl IntoView {
    view! {
        <FormAlert error fields=&["name", "slug", "brand", "category_id", "description", "seo_title", "seo_description", "attributes", "published", "options", "price"] />
        <div class="grid gap-4 sm:grid-cols-2">
            <Field name="name" label="Name" value=f.name.clone() required=true maxlength=200 error />
            <Field name="slug" label="Web address (slug)" value=f.slug.clone() maxlength=120 hint="Lowercase letters, digits and hyphens; made from the name when empty. A changed address sends its old links here." error />
            <Field name="brand" label="Brand" value=f.brand.clone() maxlength=100 error />
            {category_select(categories, f.category_id, error)}
        </div>
        <Field name="description" label="Description" value=f.description.clone() hint=DESCRIPTION_HINT rows=6 maxlength=20000 error />
        <div class="flex flex-wrap gap-6">
            {checkbox("published", if archived { "Published (restore it from the archive first)" } else { "Published: shown in the shop" }, f.published, archived)}
            {checkbox("featured", "Featured on the home page", f.featured, false)}
        </div>
        <div class="grid gap-4 sm:grid-cols-2">
            <Field name="seo_title" label="SEO title" value=f.seo_title.clone() maxlength=200 hint="For search engines; the name when empty." error />
            <Field name="seo_description" label="SEO description" value=f.seo_description.clone() maxlength=500 hint="For search engines; the description's start when empty." error />
        </div>
        <Field name="attributes" label="Attributes" value=f.attributes.clone() hint="One per line: “Material: linen”." rows=3 error />
    }
}

#[component]
pub fn AdminNewProductPage() -> impl IntoView {
    let create = ServerAction::<CreateProduct>::new();
    let error = action_error(create.value());
    let data = Resource::new(|| (), |_| new_product_form());
    admin_page(
        "New product",
        "/admin/products",
        vec![("/admin/products", "Products"), ("", "New product")],
        data,
        move |categories: Vec<CategoryChoice>| {
            let fields = ProductFields {
                category_id: categories.first().map(|c| c.id).unwrap_or_default(),
                ..ProductFields::default()
            };
            view! {
                <ActionForm action=create attr:class="card space-y-4" attr:data-testid="product-form">
                    {fields_form(&fields, &categories, false, error)}
                    <div class="grid gap-4 sm:grid-cols-2">
                        <Field name="options" label="Options" hint=OPTIONS_HINT rows=3 error />
                        <Field name="price" label="Price of each variant" value="" required=true hint="Such as 19.90; each variant's price can be changed afterwards." error />
                    </div>
                    <button type="submit" class="btn-primary">"Create product"</button>
                </ActionForm>
            }
            .into_any()
        },
    )
}

#[component]
pub fn AdminProductPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|i| i.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let save = ServerAction::<SaveProduct>::new();
    let options = ServerAction::<SaveProductOptions>::new();
    let variants = ServerAction::<SaveVariants>::new();
    let duplicate = ServerAction::<DuplicateProduct>::new();
    let archive = ServerAction::<ArchiveProduct>::new();
    let delete = ServerAction::<DeleteProduct>::new();
    let save_image = ServerAction::<SaveImage>::new();
    let move_image = ServerAction::<MoveImage>::new();
    let remove_image = ServerAction::<RemoveImage>::new();
    let query = leptos_router::hooks::use_query_map();
    let upload_error = move || {
        query
            .read_untracked()
            .get("image_error")
            .and_then(|code| upload_error_text(&code))
    };
    let save_error = action_error(save.value());
    let options_error = action_error(options.value());
    let variants_error = action_error(variants.value());
    let other_error = Signal::derive(move || {
        duplicate
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| archive.value().get().and_then(Result::err))
            .or_else(|| delete.value().get().and_then(Result::err))
            .or_else(|| save_image.value().get().and_then(Result::err))
            .or_else(|| move_image.value().get().and_then(Result::err))
            .or_else(|| remove_image.value().get().and_then(Result::err))
    });
    let product = Resource::new(id, admin_product);
    admin_page(
        "Product",
        "/admin/products",
        vec![("/admin/products", "Products"), ("", "Product")],
        product,
        move |p: ProductEdit| {
            let pid = p.id;
            let version = p.version;
            let hidden = move || {
                view! {
                    <input type="hidden" name="id" value=pid.to_string() />
                    <input type="hidden" name="version" value=version.to_string() />
                }
            };
            let state = if p.archived {
                "Archived"
            } else if p.fields.published {
                "Published"
            } else {
                "Draft"
            };
            let (on_sale, archived_variants): (Vec<_>, Vec<_>) =
                p.variants.into_iter().partition(|v| !v.archived);
            let option_names = p.options.iter().map(|o| o.name.clone()).collect::<Vec<_>>();
            let values: Vec<String> = p.options.iter().flat_map(|o| o.values.clone()).collect();
            let image_count = p.images.len();
            view! {
            <FormAlert error=other_error fields=&[] />
            <section class="card flex flex-wrap items-start justify-between gap-4" aria-label="Summary">
                <div>
                    <p class="text-lg font-semibold" data-testid="product-title">{p.fields.name.clone()}</p>
                    <p class="text-sm text-stone-600">
                        <span class="rounded bg-stone-100 px-2 py-0.5 font-medium text-stone-800" data-testid="product-state">{state}</span>
                        {format!(" · last saved {} UTC by {}", p.updated, p.updated_by)}
                    </p>
                </div>
                <div class="flex flex-wrap gap-2 text-sm">
                    {(p.fields.published && !p.archived).then(|| view! { <a href=format!("/p/{}", p.fields.slug) class="btn-secondary" data-testid="view-in-shop">"View in the shop"</a> })}
                    <a href=format!("/admin/products/{pid}/stock") class="btn-secondary" data-testid="product-stock">"Stock"</a>
                    {p.may_read_history.then(|| view! { <a href=format!("/admin/audit?entity=product&entity_id={pid}") class="btn-secondary">"History"</a> })}
                </div>
            </section>

            <section class="card space-y-4" aria-labelledby="details-heading">
                <h2 id="details-heading" class="text-lg font-semibold">"Details"</h2>
                <ActionForm action=save attr:class="space-y-4" attr:data-testid="product-form">
                    {hidden()}
                    {fields_form(&p.fields, &p.categories, p.archived, save_error)}
                    <button type="submit" class="btn-primary">"Save"</button>
                </ActionForm>
            </section>

            <section class="card space-y-4" aria-labelledby="options-heading">
                <h2 id="options-heading" class="text-lg font-semibold">"Options"</h2>
                <ActionForm action=options attr:class="space-y-4" attr:data-testid="options-form">
                    {hidden()}
                    <FormAlert error=options_error fields=&["options"] />
                    <Field name="options" label="Options and their values" value=format_options(&p.options) hint=OPTIONS_HINT rows=3 error=options_error />
                    <p class="text-xs text-stone-500">"A removed value deletes its variants, or archives them when orders refer to them; a new value adds variants at the product's lowest price with no stock."</p>
                    <button type="submit" class="btn-secondary">"Make the variants"</button>
                </ActionForm>
            </section>

            <section class="card space-y-4" aria-labelledby="variants-heading">
                <h2 id="variants-heading" class="text-lg font-semibold">{format!("Variants ({})", on_sale.len())}</h2>
                <ActionForm action=variants attr:class="space-y-4" attr:data-testid="variants-form">
                    {hidden()}
                    <FormAlert error=variants_error fields=&[] />
                    <div class="overflow-x-auto">
                        <table class="w-full text-sm" data-testid="variants-table">
                            <thead class="border-b border-stone-200 text-left text-stone-600">
                                <tr>
                                    {option_names.iter().map(|n| view! { <th scope="col" class="px-2 py-2 font-medium">{n.clone()}</th> }).collect_view()}
                                    <th scope="col" class="px-2 py-2 font-medium">"SKU"</th>
                                    <th scope="col" class="px-2 py-2 font-medium">{format!("Price ({})", p.currency.code())}</th>
                                    <th scope="col" class="px-2 py-2 font-medium">"Compare-at"</th>
                                    <th scope="col" class="px-2 py-2 font-medium">"Weight (g)"</th>
                                    <th scope="col" class="px-2 py-2 font-medium">"Barcode"</th>
                                    <th scope="col" class="px-2 py-2 font-medium">"Stock"</th>
                                </tr>
                            </thead>
                            <tbody class="divide-y divide-stone-100">
                                {on_sale.into_iter().enumerate().map(|(i, v)| {
                                    let field = move |f: &str| format!("variants[{i}][{f}]");
                                    let label = format!("{} {}", v.sku, v.options.join(" / "));
                                    view! {
                                        <tr data-testid="variant-row">
                                            {v.options.iter().map(|o| view! { <td class="px-2 py-1" data-testid="variant-option">{o.clone()}</td> }).collect_view()}
                                            <td class="px-2 py-1">
                                                <input type="hidden" name=field("id") value=v.id.to_string() />
                                                <input name=field("sku") value=v.sku.clone() class="field w-48 font-mono text-xs" aria-label=format!("SKU of {label}") required maxlength="64" data-testid="variant-sku" />
                                            </td>
                                            <td class="px-2 py-1"><input name=field("price") value=v.price.clone() class="field w-24" inputmode="decimal" aria-label=format!("Price of {label}") required data-testid="variant-price" /></td>
                                            <td class="px-2 py-1"><input name=field("compare_at") value=v.compare_at.clone() class="field w-24" inputmode="decimal" aria-label=format!("Compare-at price of {label}") /></td>
                                            <td class="px-2 py-1"><input name=field("weight_grams") value=v.weight_grams.clone() class="field w-24" inputmode="numeric" aria-label=format!("Weight in grams of {label}") /></td>
                                            <td class="px-2 py-1"><input name=field("barcode") value=v.barcode.clone() class="field w-36" aria-label=format!("Barcode of {label}") maxlength="40" /></td>
                                            <td class="px-2 py-1">{v.stock}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    <button type="submit" class="btn-primary">"Save the variants"</button>
                </ActionForm>
                {(!archived_variants.is_empty()).then(|| view! {
                    <div>
                        <h3 class="text-sm font-semibold">"Archived variants (kept for their orders, not on sale)"</h3>
                        <ul class="mt-1 text-sm text-stone-600" data-testid="archived-variants">
                            {archived_variants.into_iter().map(|v| view! { <li>{format!("{} · {}", v.sku, v.options.join(" / "))}</li> }).collect_view()}
                        </ul>
                    </div>
                })}
            </section>

            <section id="images" class="card space-y-4" aria-labelledby="images-heading">
                <h2 id="images-heading" class="text-lg font-semibold">"Images"</h2>
                {upload_error().map(|m| view! { <div role="alert" class="rounded-md border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-800" data-testid="image-error">{m}</div> })}
                <ul class="space-y-3" data-testid="product-images">
                    {p.images.into_iter().enumerate().map(|(i, img)| {
                        let image_id = img.id.to_string();
                        let product = pid.to_string();
                        let ids = move || view! {
                            <input type="hidden" name="product" value=product.clone() />
                            <input type="hidden" name="image" value=image_id.clone() />
                        };
                        let (ids_move_up, ids_move_down, ids_remove) = (ids.clone(), ids.clone(), ids.clone());
                        let values = values.clone();
                        let chosen = img.option_value.clone();
                        view! {
                            <li class="flex flex-wrap items-end gap-3" data-testid="product-image">
                                <img src=img.url.clone() alt=img.alt.clone() width="96" height="96" class="h-24 w-24 rounded object-cover" />
                                <ActionForm action=save_image attr:class="flex flex-wrap items-end gap-2">
                                    {ids()}
                                    <div class="space-y-1">
                                        <label for=format!("alt-{i}") class="block text-sm font-medium">{format!("Alt text of image {}", i + 1)}</label>
                                        <input id=format!("alt-{i}") name="alt" value=img.alt.clone() class="field" maxlength="300" />
                                    </div>
                                    <div class="space-y-1">
                                        <label for=format!("value-{i}") class="block text-sm font-medium">"Shown first for"</label>
                                        <select id=format!("value-{i}") name="option_value" class="field">
                                            <option value="" selected=chosen.is_none()>"Every variant"</option>
                                            {values.into_iter().map(|v| view! { <option value=v.clone() selected=chosen.as_deref() == Some(v.as_str())>{v.clone()}</option> }).collect_view()}
                                        </select>
                                    </div>
                                    <button type="submit" class="btn-secondary">"Save"</button>
                                </ActionForm>
                                <ActionForm action=move_image>
                                    {ids_move_up()}
                                    <input type="hidden" name="earlier" value="true" />
                                    <button type="submit" class="btn-secondary px-2" disabled=i == 0 aria-label=format!("Move image {} earlier", i + 1)>"↑"</button>
                                </ActionForm>
                                <ActionForm action=move_image>
                                    {ids_move_down()}
                                    <input type="hidden" name="earlier" value="false" />
                                    <button type="submit" class="btn-secondary px-2" disabled=i + 1 == image_count aria-label=format!("Move image {} later", i + 1)>"↓"</button>
                                </ActionForm>
                                <ActionForm action=remove_image>
                                    {ids_remove()}
                                    <button type="submit" class="btn-secondary" aria-label=format!("Remove image {}", i + 1)>"Remove"</button>
                                </ActionForm>
                            </li>
                        }
                    }).collect_view()}
                </ul>
                <form method="post" action=format!("/admin/products/{pid}/images") enctype="multipart/form-data" class="grid gap-3 sm:grid-cols-[1fr_1fr_auto] sm:items-end" data-testid="image-upload">
                    <div class="space-y-1">
                        <label for="image-file" class="block text-sm font-medium">"Image file"</label>
                        <input id="image-file" type="file" name="file" accept="image/jpeg,image/png,image/webp" required class="block text-sm" aria-describedby="image-file-hint" />
                        <p id="image-file-hint" class="text-xs text-stone-500">"JPEG, PNG or WebP, up to 20 MB and 40 million pixels. Turned upright, resized, and its metadata (camera, place) removed."</p>
                    </div>
                    <div class="space-y-1">
                        <label for="image-alt" class="block text-sm font-medium">"Alt text"</label>
                        <input id="image-alt" name="alt" class="field" maxlength="300" />
                    </div>
                    <button type="submit" class="btn-primary">"Upload"</button>
                </form>
            </section>

            <section class="card space-y-3" aria-labelledby="manage-heading">
                <h2 id="manage-heading" class="text-lg font-semibold">"Copy, archive, delete"</h2>
                <div class="flex flex-wrap gap-2">
                    <ActionForm action=duplicate>
                        <input type="hidden" name="id" value=pid.to_string() />
                        <button type="submit" class="btn-secondary" data-testid="duplicate">"Duplicate"</button>
                    </ActionForm>
                    <ActionForm action=archive>
                        <input type="hidden" name="id" value=pid.to_string() />
                        <input type="hidden" name="archive" value=if p.archived { "false" } else { "true" } />
                        <button type="submit" class="btn-secondary" data-testid="archive">{if p.archived { "Restore from the archive" } else { "Archive" }}</button>
                    </ActionForm>
                    {if p.deletable {
                        view! {
                            <ActionForm action=delete attr:class="flex items-center gap-2">
                                <input type="hidden" name="id" value=pid.to_string() />
                                <input id="confirm-delete" type="checkbox" name="confirm" required class="h-4 w-4" />
                                <label for="confirm-delete" class="text-sm">"Delete for good"</label>
                                <button type="submit" class="btn-primary bg-red-700 hover:bg-red-800" data-testid="delete">"Delete"</button>
                            </ActionForm>
                        }.into_any()
                    } else {
                        view! { <p class="text-sm text-stone-600">"Orders refer to this product, so it can be archived but not deleted."</p> }.into_any()
                    }}
                </div>
            </section>
        }
        .into_any()
        },
    )
}

/// What the page says after an upload was refused (fixed sentences by code).
fn upload_error_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "too-big" => "The file is larger than 20 MB.",
        "not-an-image" => "That file is not a JPEG, PNG or WebP image.",
        "too-many-pixels" => {
            "The image has more than 40 million pixels (or more than 12,000 on a side)."
        }
        "unreadable" => "The image could not be read: the file is damaged or incomplete.",
        "no-file" => "Choose an image file to upload.",
        "alt" => "Alt text is up to 300 characters, without control characters.",
        "store" => "The image could not be stored just now. Please try again in a moment.",
        "refused" => "Your role may not change products.",
        "not-found" => "There is no such product.",
        _ => return None,
    })
}

/// Back to the product's images with a flash code.
#[cfg(feature = "ssr")]
fn back_to_images(id: i64) {
    leptos_axum::redirect(&format!("/admin/products/{id}?done=image#images"));
}

#[server(prefix = "/api", endpoint = "admin_product_image")]
pub async fn save_image(
    product: i64,
    image: i64,
    alt: String,
    option_value: Option<String>,
) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            services()?
                .catalog
                .update_image(&actor, image, &alt, option_value.as_deref())
                .await?;
            back_to_images(product);
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_product_image_move")]
pub async fn move_image(product: i64, image: i64, earlier: bool) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            services()?
                .catalog
                .move_image(&actor, image, earlier)
                .await?;
            back_to_images(product);
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_product_image_remove")]
pub async fn remove_image(product: i64, image: i64) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            let s = services()?;
            s.catalog.delete_image(&actor, &s.media, image).await?;
            back_to_images(product);
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_product")]
pub async fn admin_product(id: i64) -> Result<ProductEdit, AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            Ok(services()?.catalog.product_for_edit(&actor, id).await?)
        }
        .await,
    )
}

/// The category choices of the new-product form.
#[server(prefix = "/api", endpoint = "admin_product_new")]
pub async fn new_product_form() -> Result<Vec<CategoryChoice>, AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            Ok(services()?.catalog.category_screen(&actor).await?.choices)
        }
        .await,
    )
}

/// Back to the product's page with a flash code.
#[cfg(feature = "ssr")]
fn back(id: i64, done: &str) {
    leptos_axum::redirect(&format!("/admin/products/{id}?done={done}"));
}

#[cfg(feature = "ssr")]
fn fields_of(
    name: String,
    slug: String,
    description: String,
    brand: String,
    category_id: String,
    published: Option<String>,
    featured: Option<String>,
    seo_title: String,
    seo_description: String,
    attributes: String,
) -> Result<ProductFields, AppError> {
    Ok(ProductFields {
        name,
        slug,
        description,
        brand,
        category_id: category_id
            .trim()
            .parse()
            .map_err(|_| AppError::field("category_id", "Choose a category."))?,
        published: published.is_some(),
        featured: featured.is_some(),
        seo_title,
        seo_description,
        attributes,
    })
}

#[server(prefix = "/api", endpoint = "admin_product_create")]
pub async fn create_product(
    name: String,
    slug: String,
    description: String,
    brand: String,
    category_id: String,
    published: Option<String>,
    featured: Option<String>,
    seo_title: String,
    seo_description: String,
    attributes: String,
    options: String,
    price: String,
) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            let fields = fields_of(
                name,
                slug,
                description,
                brand,
                category_id,
                published,
                featured,
                seo_title,
                seo_description,
                attributes,
            )?;
            let id = services()?
                .catalog
                .create_product(&actor, &fields, &options, &price)
                .await?;
            back(id, "created");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_product_save")]
pub async fn save_product(
    id: i64,
    version: i64,
    name: String,
    slug: String,
    description: String,
    brand: String,
    category_id: String,
    published: Option<String>,
    featured: Option<String>,
    seo_title: String,
    seo_description: String,
    attributes: String,
) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            let fields = fields_of(
                name,
                slug,
                description,
                brand,
                category_id,
                published,
                featured,
                seo_title,
                seo_description,
                attributes,
            )?;
            services()?
                .catalog
                .update_product(&actor, id, version, &fields)
                .await?;
            back(id, "saved");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_product_options")]
pub async fn save_product_options(id: i64, version: i64, options: String) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            services()?
                .catalog
                .set_options(&actor, id, version, &options)
                .await?;
            back(id, "variants");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_product_variants")]
pub async fn save_variants(
    id: i64,
    version: i64,
    variants: Option<Vec<VariantInput>>,
) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            services()?
                .catalog
                .update_variants(&actor, id, version, &variants.unwrap_or_default())
                .await?;
            back(id, "saved");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_product_duplicate")]
pub async fn duplicate_product(id: i64) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            let copy = services()?.catalog.duplicate_product(&actor, id).await?;
            back(copy, "duplicated");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_product_archive")]
pub async fn archive_product(id: i64, archive: bool) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            services()?
                .catalog
                .archive_product(&actor, id, archive)
                .await?;
            back(id, if archive { "archived" } else { "restored" });
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_product_delete")]
pub async fn delete_product(id: i64, confirm: Option<String>) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            if confirm.is_none() {
                return Err(AppError::BadRequest(
                    "Tick “Delete for good” to delete the product.".into(),
                ));
            }
            let s = services()?;
            let files = s.catalog.delete_product(&actor, id).await?;
            s.media.forget(&files).await;
            leptos_axum::redirect("/admin/products?done=deleted");
            Ok(())
        }
        .await,
    )
}
