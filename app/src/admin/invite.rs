//! `/staff-invite?token=…`: the link of a staff invitation. Following it only shows a form
//! (mail scanners fetch links); accepting it with a password (the account's own, or a new
//! one for a new account) grants the role and signs in, and two-factor set-up comes next.

use crate::components::error_view::set_status;
use crate::components::forms::{action_error, Field, FormAlert};
use crate::components::layout::{await_layout, loading, Frame, LayoutResource};
#[cfg(feature = "ssr")]
use crate::components::server::{client_ip, services, session, start_sign_in, with_status};
use crate::error::AppError;
use domain::account::{PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, PASSWORD_RULES};
use domain::staff::InviteView;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_query_map;

#[server(prefix = "/api", endpoint = "staff_invite")]
pub async fn check_staff_invite(token: String) -> Result<InviteView, AppError> {
    with_status(async move { Ok(services()?.auth.check_invite(&token).await?) }.await)
}

#[server(prefix = "/api", endpoint = "staff_invite_accept")]
pub async fn accept_staff_invite(
    token: String,
    password: String,
    name: Option<String>,
) -> Result<(), AppError> {
    with_status(
        async move {
            let s = services()?;
            let ip = client_ip().await;
            let user = s
                .auth
                .accept_invite(&ip, &token, name.as_deref().unwrap_or_default(), &password)
                .await?;
            tracing::info!(user_id = user.user.id, role = user.user.role.as_str(), "staff invitation accepted");
            let session = session().await?;
            start_sign_in(&session, &s.auth, &user).await.map_err(|_| {
                AppError::Unavailable(
                    "You have joined the staff, but we could not sign you in just now. Please sign in in a moment."
                        .into(),
                )
            })?;
            leptos_axum::redirect("/admin/two-factor");
            Ok(())
        }
        .await,
    )
}

#[component]
pub fn StaffInvitePage() -> impl IntoView {
    let layout = expect_context::<LayoutResource>();
    let query = use_query_map();
    let token = query.read_untracked().get("token").unwrap_or_default();
    let invite = Resource::new(move || token.clone(), check_staff_invite);
    let action = ServerAction::<AcceptStaffInvite>::new();
    let error = action_error(action.value());
    let token = query.read_untracked().get("token").unwrap_or_default();
    view! {
        <Suspense fallback=loading>
            {move || {
                let token = token.clone();
                Suspend::new(async move {
                    let (layout, invite) = (await_layout(layout).await, invite.await);
                    let body = match invite {
                        Ok(i) => view! {
                            <p class="text-sm text-stone-700" data-testid="invite-for">
                                "You are invited to join the staff as " <strong>{i.role.label()}</strong>
                                " (" {i.role.summary()} "), with " <strong>{i.email.clone()}</strong> "."
                            </p>
                            <ActionForm action attr:class="space-y-4" attr:data-testid="accept-invite-form">
                                <input type="hidden" name="token" value=token />
                                <FormAlert error fields=&["password", "name"] />
                                {if i.has_account {
                                    view! {
                                        <Field name="password" label="Password of your account" kind="password" autocomplete="current-password" required=true error />
                                    }.into_any()
                                } else {
                                    view! {
                                        <Field name="name" label="Your name" autocomplete="name" maxlength=100 error />
                                        <Field name="password" label="Choose a password" kind="password" autocomplete="new-password" hint=PASSWORD_RULES required=true minlength=PASSWORD_MIN_CHARS maxlength=PASSWORD_MAX_CHARS error />
                                    }.into_any()
                                }}
                                <button type="submit" class="btn-primary w-full">"Accept and continue"</button>
                            </ActionForm>
                        }
                        .into_any(),
                        Err(e) => {
                            set_status(e.status());
                            view! {
                                <div role="alert" class="rounded-md border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900" data-testid="invite-problem">{e.to_string()}</div>
                            }
                            .into_any()
                        }
                    };
                    view! {
                        <Frame layout>
                            <Title text="Join the staff" />
                            <Meta name="robots" content="noindex" />
                            <div class="mx-auto max-w-md py-12">
                                <h1 class="text-2xl font-semibold tracking-tight">"Join the staff"</h1>
                                <div class="card mt-6 space-y-5">{body}</div>
                            </div>
                        </Frame>
                    }
                })
            }}
        </Suspense>
    }
    .into_any()
}
