//! `/admin/products/import` (upload a Shopify product CSV, the recent imports, the export)
//! and `/admin/imports/:id` (what the dry run found, every bad row by line and column; then
//! apply, with its progress). The upload is a plain multipart form to `POST
//! /admin/imports`; applying runs on the server while the page refreshes itself.

use super::shell::admin_page;
use crate::components::forms::{action_error, FormAlert};
#[cfg(feature = "ssr")]
use crate::components::server::{require_staff, services, with_status};
use crate::error::AppError;
use domain::import::{ImportRun, ImportState, Outcome};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Meta;
use leptos_router::hooks::{use_params_map, use_query_map};

/// What a refused upload's code (`?error=`) says.
fn upload_error_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "too-big" => "The file is larger than 50 MB: split it into smaller files.",
        "no-file" => "Choose a CSV file to import.",
        "failed" => "The file could not be checked just now: try again.",
        _ => return None,
    })
}

#[component]
pub fn AdminImportPage() -> impl IntoView {
    let query = use_query_map();
    let error = move || {
        query
            .read_untracked()
            .get("error")
            .and_then(|c| upload_error_text(&c))
    };
    let runs = Resource::new(|| (), |_| admin_imports());
    admin_page(
        "Import products",
        "/admin/products",
        vec![("/admin/products", "Products"), ("", "Import")],
        runs,
        move |runs: Vec<ImportRun>| {
            view! {
                <section class="card space-y-3" aria-labelledby="import-heading">
                    <h2 id="import-heading" class="text-lg font-semibold">"Import a CSV"</h2>
                    <p class="text-sm text-stone-600">"Shopify's product CSV: one row per variant, the product's fields on its first row. Nothing is written until you have seen what the file would do and applied it. An import creates and changes products; it never deletes one."</p>
                    {error().map(|e| view! { <p role="alert" class="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-900">{e}</p> })}
                    <form method="post" action="/admin/imports" enctype="multipart/form-data" class="space-y-3" data-testid="import-upload">
                        <div class="space-y-1">
                            <label for="import-file" class="block text-sm font-medium">"CSV file"</label>
                            <input id="import-file" type="file" name="file" accept=".csv,text/csv" required class="block text-sm" />
                        </div>
                        <label class="flex items-center gap-2 text-sm">
                            <input type="checkbox" name="fetch_images" value="on" />
                            "Fetch the images its Image Src addresses name (otherwise they are listed for you to upload)"
                        </label>
                        <button type="submit" class="btn-primary">"Check the file"</button>
                    </form>
                </section>
                <section class="card space-y-3" aria-labelledby="export-heading">
                    <h2 id="export-heading" class="text-lg font-semibold">"Export"</h2>
                    <p class="text-sm text-stone-600">"The whole catalog in the same format: importing it back changes nothing."</p>
                    <a class="btn-secondary inline-block" href="/admin/products/export.csv" data-testid="export" rel="external" download="products.csv">"Download products.csv"</a>
                </section>
                <section class="card space-y-3" aria-labelledby="runs-heading">
                    <h2 id="runs-heading" class="text-lg font-semibold">"Recent imports"</h2>
                    {if runs.is_empty() {
                        view! { <p class="text-sm text-stone-600">"None yet."</p> }.into_any()
                    } else {
                        view! {
                            <table class="w-full text-sm">
                                <thead><tr class="text-left text-stone-600"><th class="py-1">"When"</th><th>"File"</th><th class="text-right">"Rows"</th><th>"State"</th></tr></thead>
                                <tbody>
                                    {runs.into_iter().map(|r| view! {
                                        <tr class="border-t border-stone-100">
                                            <td class="py-1 whitespace-nowrap">{r.created_at}</td>
                                            <td><a class="underline" href=format!("/admin/imports/{}", r.id)>{if r.file_name.is_empty() { "(no name)".to_owned() } else { r.file_name }}</a></td>
                                            <td class="text-right tabular-nums">{r.rows}</td>
                                            <td>{r.state.label()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any()
                    }}
                </section>
            }
            .into_any()
        },
    )
}

#[component]
pub fn AdminImportRunPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|i| i.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let apply = ServerAction::<ApplyImport>::new();
    let apply_error = action_error(apply.value());
    let run = Resource::new(id, admin_import);
    admin_page(
        "Import",
        "/admin/products",
        vec![
            ("/admin/products", "Products"),
            ("/admin/products/import", "Import"),
            ("", "File"),
        ],
        run,
        move |run: ImportRun| {
            let r = run.report.clone();
            let applying = run.state == ImportState::Applying;
            let can_apply = matches!(run.state, ImportState::Checked | ImportState::Failed)
                && !r.has_problems();
            view! {
                {applying.then(|| view! { <Meta http_equiv="refresh" content="2" /> })}
                <section class="card space-y-2" aria-labelledby="run-heading">
                    <h2 id="run-heading" class="text-lg font-semibold">{if run.file_name.is_empty() { "The file".to_owned() } else { run.file_name.clone() }}</h2>
                    <p data-testid="import-state">{run.state.label()}</p>
                    <p data-testid="import-summary">{r.summary()}</p>
                    {applying.then(|| view! {
                        <p role="status" data-testid="import-progress">
                            {format!("Batch {} of {} written", run.batches_done, run.batches_total.max(1))}
                        </p>
                        <progress class="w-full" max=run.batches_total.max(1).to_string() value=run.batches_done.to_string()></progress>
                    })}
                    {(!run.error.is_empty()).then(|| view! { <p role="alert" class="text-sm text-red-800">{run.error.clone()}</p> })}
                    {(!r.new_categories.is_empty()).then(|| view! {
                        <p class="text-sm">{format!("New categories: {}", r.new_categories.join(", "))}</p>
                    })}
                    {r.applied.then(|| view! {
                        <p class="text-sm">{format!("{} images fetched.", r.images_fetched)}</p>
                    })}
                    <FormAlert error=apply_error fields=&[] />
                    {can_apply.then(|| view! {
                        <ActionForm action=apply attr:data-testid="import-apply">
                            <input type="hidden" name="id" value=run.id.to_string() />
                            <button type="submit" class="btn-primary">{if run.state == ImportState::Failed { "Apply again" } else { "Apply the import" }}</button>
                        </ActionForm>
                    })}
                    {r.has_problems().then(|| view! {
                        <p class="text-sm">"Fix these rows in the file, then "<a class="underline" href="/admin/products/import">"import it again"</a>"."</p>
                    })}
                </section>
                {(!r.problems.is_empty()).then(|| view! {
                    <section class="card space-y-3" aria-labelledby="problems-heading">
                        <h2 id="problems-heading" class="text-lg font-semibold">{format!("Bad rows ({})", r.problems.len() + r.more_problems)}</h2>
                        <table class="w-full text-sm" data-testid="import-problems">
                            <thead><tr class="text-left text-stone-600"><th class="py-1">"Line"</th><th>"Column"</th><th>"What is wrong"</th></tr></thead>
                            <tbody>
                                {r.problems.iter().map(|p| view! {
                                    <tr class="border-t border-stone-100" data-testid="import-problem">
                                        <td class="py-1 tabular-nums">{p.line}</td>
                                        <td>{p.column.clone()}</td>
                                        <td>{p.message.clone()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </section>
                })}
                {(!r.images_to_upload.is_empty()).then(|| view! {
                    <section class="card space-y-3" aria-labelledby="images-heading">
                        <h2 id="images-heading" class="text-lg font-semibold">"Images to upload"</h2>
                        <ul class="space-y-1 text-sm" data-testid="images-to-upload">
                            {r.images_to_upload.iter().map(|i| view! {
                                <li>{format!("Line {} ({}): {} — {}", i.line, i.handle, i.url, i.reason)}</li>
                            }).collect_view()}
                        </ul>
                    </section>
                })}
                <section class="card space-y-3" aria-labelledby="planned-heading">
                    <h2 id="planned-heading" class="text-lg font-semibold">"Products"</h2>
                    <table class="w-full text-sm" data-testid="import-planned">
                        <thead><tr class="text-left text-stone-600"><th class="py-1">"Line"</th><th>"Handle"</th><th>"Title"</th><th>""</th><th>"What changes"</th></tr></thead>
                        <tbody>
                            {r.planned.iter().map(|p| view! {
                                <tr class="border-t border-stone-100" data-testid="import-product" data-outcome=match p.outcome { Outcome::Create => "create", Outcome::Change => "change", Outcome::Unchanged => "unchanged", Outcome::AlreadyImported => "imported" }>
                                    <td class="py-1 tabular-nums">{p.line}</td>
                                    <td class="font-mono">{p.handle.clone()}</td>
                                    <td>{p.title.clone()}</td>
                                    <td>{p.outcome.label()}</td>
                                    <td>{p.changes.join("; ")}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    {(r.more_planned > 0).then(|| view! { <p class="text-sm">{format!("… and {} more products.", r.more_planned)}</p> })}
                </section>
            }
            .into_any()
        },
    )
}

#[server(prefix = "/api", endpoint = "admin_imports")]
pub async fn admin_imports() -> Result<Vec<ImportRun>, AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            Ok(services()?.catalog.import_runs(&actor).await?)
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_import")]
pub async fn admin_import(id: i64) -> Result<ImportRun, AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            Ok(services()?.catalog.import_run(&actor, id).await?)
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_import_apply")]
pub async fn apply_import(id: i64) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            let s = services()?;
            s.catalog
                .import_start(
                    &actor,
                    id,
                    s.media.clone(),
                    s.settings.import_fetch.clone(),
                    s.settings.public_url.clone(),
                )
                .await?;
            leptos_axum::redirect(&format!("/admin/imports/{id}"));
            Ok(())
        }
        .await,
    )
}
