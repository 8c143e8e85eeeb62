//! Form pieces shared by the account pages: labelled fields that show the server's
//! message for them, and the alert above a form.

use crate::error::AppError;
use leptos::prelude::*;

/// The last error of an action, as a signal the fields read.
pub type FormError = Signal<Option<AppError>>;

/// The error of a server action's last result, if it failed.
pub fn action_error<O, S>(value: S) -> FormError
where
    O: Clone + Send + Sync + 'static,
    S: Get<Value = Option<Result<O, AppError>>> + Send + Sync + 'static,
{
    Signal::derive(move || value.get().and_then(Result::err))
}

/// A labelled input. Shows the server's message for `name` under it and marks the input
/// invalid for assistive technology.
#[component]
pub fn Field(
    name: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional, into)] value: String,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional)] hint: &'static str,
    #[prop(default = false)] required: bool,
    #[prop(optional)] minlength: Option<usize>,
    #[prop(optional)] maxlength: Option<usize>,
    /// A text area of this many rows instead of a one-line input.
    #[prop(optional)]
    rows: Option<u32>,
    error: FormError,
) -> impl IntoView {
    let id = format!("field-{name}");
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let message = move || error.get().and_then(|e| e.field_message(name));
    let described_by = {
        let (hint_id, error_id) = (hint_id.clone(), error_id.clone());
        move || {
            let mut ids = Vec::new();
            if !hint.is_empty() {
                ids.push(hint_id.clone());
            }
            if message().is_some() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    let label_for = id.clone();
    let control = match rows {
        Some(rows) => view! {
            <textarea
                id=id
                name=name
                rows=rows.to_string()
                required=required
                maxlength=maxlength.map(|n| n.to_string())
                aria-invalid=move || message().is_some().then_some("true")
                aria-describedby=described_by
                class="field"
            >{value}</textarea>
        }
        .into_any(),
        None => view! {
            <input
                id=id
                name=name
                type=kind
                value=value
                autocomplete=(!autocomplete.is_empty()).then_some(autocomplete)
                required=required
                minlength=minlength.map(|n| n.to_string())
                maxlength=maxlength.map(|n| n.to_string())
                aria-invalid=move || message().is_some().then_some("true")
                aria-describedby=described_by
                class="field"
            />
        }
        .into_any(),
    };
    view! {
        <div class="space-y-1">
            <label for=label_for class="block text-sm font-medium text-stone-800">{label}</label>
            {control}
            {(!hint.is_empty()).then(|| view! { <p id=hint_id class="text-xs text-stone-500">{hint}</p> })}
            {move || message().map(|m| view! {
                <p id=error_id.clone() class="text-sm text-red-700" data-testid=format!("error-{name}")>{m}</p>
            })}
        </div>
    }
    .into_any()
}

/// The message for the whole form (wrong password, throttled, unavailable …): every
/// error that is not about one of `fields`.
#[component]
pub fn FormAlert(error: FormError, fields: &'static [&'static str]) -> impl IntoView {
    move || {
        error.get().and_then(|e| e.form_message(fields)).map(|m| {
            view! {
                <div role="alert" class="rounded-md border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-800" data-testid="form-error">
                    {m}
                </div>
            }
        })
    }
}

/// A green confirmation box.
#[component]
pub fn Notice(children: Children) -> impl IntoView {
    view! {
        <div role="status" class="rounded-md border border-emerald-200 bg-emerald-50 px-4 py-3 text-sm text-emerald-900" data-testid="notice">
            {children()}
        </div>
    }
    .into_any()
}
