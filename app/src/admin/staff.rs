//! `/admin/staff`: who is on the staff, with which role; invitations by e-mail; role
//! changes and removal. Owners only: the services refuse everyone else (403).

use super::shell::admin_page;
use crate::components::forms::{action_error, Field, FormAlert};
#[cfg(feature = "ssr")]
use crate::components::server::{require_staff, services, with_status};
use crate::error::AppError;
use domain::staff::StaffScreen;
use domain::Role;
use leptos::form::ActionForm;
use leptos::prelude::*;

/// A `<select name="role">` of the staff roles, `selected` chosen.
fn role_select(id: String, selected: Role) -> impl IntoView {
    view! {
        <select id=id name="role" class="field py-1.5">
            {Role::STAFF.into_iter().map(|r| view! {
                <option value=r.as_str() selected=r == selected>{format!("{} ({})", r.label(), r.summary())}</option>
            }).collect_view()}
        </select>
    }
}

#[component]
pub fn AdminStaffPage() -> impl IntoView {
    let invite = ServerAction::<InviteStaff>::new();
    let role = ServerAction::<ChangeStaffRole>::new();
    let remove = ServerAction::<RemoveStaff>::new();
    let revoke = ServerAction::<RevokeInvite>::new();
    let reset = ServerAction::<ResetStaffTwoFactor>::new();
    let screen = Resource::new(
        move || {
            (
                invite.version().get(),
                role.version().get(),
                remove.version().get(),
                revoke.version().get(),
                reset.version().get(),
            )
        },
        |_| get_staff_screen(),
    );
    let invite_error = action_error(invite.value());
    let change_error = Signal::derive(move || {
        role.value()
            .get()
            .and_then(Result::err)
            .or_else(|| remove.value().get().and_then(Result::err))
            .or_else(|| revoke.value().get().and_then(Result::err))
            .or_else(|| reset.value().get().and_then(Result::err))
    });
    admin_page(
        "Staff",
        "/admin/staff",
        vec![("/admin/staff", "Staff")],
        screen,
        move |s: StaffScreen| {
            view! {
            <FormAlert error=change_error fields=&[] />
            <section aria-labelledby="staff-list" class="card">
                <h2 id="staff-list" class="text-lg font-semibold">"Staff"</h2>
                <div class="mt-4 overflow-x-auto">
                    <table class="w-full text-sm" data-testid="staff-table">
                        <thead class="border-b border-stone-200 text-stone-600">
                            <tr>
                                <th scope="col" class="px-3 py-2 text-left font-medium">"Person"</th>
                                <th scope="col" class="px-3 py-2 text-left font-medium">"Role"</th>
                                <th scope="col" class="px-3 py-2 text-left font-medium">"Two-factor"</th>
                                <th scope="col" class="px-3 py-2 text-left font-medium">"Since"</th>
                                <th scope="col" class="px-3 py-2"><span class="sr-only">"Actions"</span></th>
                            </tr>
                        </thead>
                        <tbody class="divide-y divide-stone-100">
                            {s.staff.into_iter().map(|m| {
                                let me = m.id == s.me;
                                let select_id = format!("role-{}", m.id);
                                let role_label = format!("Role of {}", m.email);
                                let remove_label = format!("Remove {} from the staff", m.email);
                                let reset_label = format!("Reset the two-factor sign-in of {}", m.email);
                                view! {
                                    <tr data-testid="staff-row">
                                        <td class="px-3 py-2">
                                            <div class="font-medium" data-testid="staff-email">{m.email.clone()}</div>
                                            <div class="text-stone-600">{m.name.clone()}</div>
                                        </td>
                                        <td class="px-3 py-2">
                                            <ActionForm action=role attr:class="flex items-center gap-2">
                                                <input type="hidden" name="user_id" value=m.id.to_string() />
                                                <label for=select_id.clone() class="sr-only">{role_label}</label>
                                                {role_select(select_id, m.role)}
                                                <button type="submit" class="btn-secondary py-1.5">"Change"</button>
                                            </ActionForm>
                                        </td>
                                        <td class="px-3 py-2">
                                            {if m.two_factor { "On" } else { "Not set up yet" }}
                                            {(m.two_factor && !me).then(|| view! {
                                                <ActionForm action=reset attr:class="mt-1">
                                                    <input type="hidden" name="user_id" value=m.id.to_string() />
                                                    <button type="submit" class="link text-xs" aria-label=reset_label>"Reset (lost phone)"</button>
                                                </ActionForm>
                                            })}
                                        </td>
                                        <td class="px-3 py-2 text-stone-600">{m.since.clone()}</td>
                                        <td class="px-3 py-2 text-right">
                                            {(!me).then(|| view! {
                                                <ActionForm action=remove>
                                                    <input type="hidden" name="user_id" value=m.id.to_string() />
                                                    <button type="submit" class="btn-secondary py-1.5" aria-label=remove_label>"Remove"</button>
                                                </ActionForm>
                                            })}
                                            <a href=format!("/admin/audit?entity=staff&entity_id={}", m.id) class="link ml-2">"History"</a>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </section>

            <section aria-labelledby="invite-heading" class="card">
                <h2 id="invite-heading" class="text-lg font-semibold">"Invite someone"</h2>
                <p class="mt-1 text-sm text-stone-600">"They get a link by e-mail that works once, for 7 days; they set up two-factor sign-in before the admin opens."</p>
                <ActionForm action=invite attr:class="mt-4 grid gap-4 sm:grid-cols-[1fr_auto_auto] sm:items-end" attr:data-testid="invite-form">
                    <FormAlert error=invite_error fields=&["email", "role"] />
                    <Field name="email" label="E-mail" kind="email" autocomplete="off" required=true error=invite_error />
                    <div class="space-y-1">
                        <label for="invite-role" class="block text-sm font-medium text-stone-800">"Role"</label>
                        {role_select("invite-role".into(), Role::Catalog)}
                    </div>
                    <button type="submit" class="btn-primary">"Send invitation"</button>
                </ActionForm>
                {(!s.invites.is_empty()).then(|| view! {
                    <h3 class="mt-6 text-sm font-semibold">"Open invitations"</h3>
                    <ul class="mt-2 divide-y divide-stone-100 text-sm" data-testid="invites">
                        {s.invites.into_iter().map(|i| view! {
                            <li class="flex flex-wrap items-center gap-4 py-2" data-testid="invite-row">
                                <span class="font-medium">{i.email.clone()}</span>
                                <span>{i.role.label()}</span>
                                <span class="text-stone-600">{format!("until {} UTC", i.expires)}</span>
                                <ActionForm action=revoke attr:class="ml-auto">
                                    <input type="hidden" name="invite_id" value=i.id.to_string() />
                                    <button type="submit" class="btn-secondary py-1.5" aria-label=format!("Withdraw the invitation of {}", i.email)>"Withdraw"</button>
                                </ActionForm>
                            </li>
                        }).collect_view()}
                    </ul>
                })}
            </section>
        }
        .into_any()
        },
    )
}

#[server(prefix = "/api", endpoint = "admin_staff")]
pub async fn get_staff_screen() -> Result<StaffScreen, AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            Ok(services()?.auth.staff_screen(&actor).await?)
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_invite_staff")]
pub async fn invite_staff(email: String, role: String) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            services()?.auth.invite_staff(&actor, &email, &role).await?;
            leptos_axum::redirect("/admin/staff?done=invited");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_revoke_invite")]
pub async fn revoke_invite(invite_id: i64) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            services()?.auth.revoke_invite(&actor, invite_id).await?;
            leptos_axum::redirect("/admin/staff?done=revoked");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_staff_role")]
pub async fn change_staff_role(user_id: i64, role: String) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            services()?
                .auth
                .change_staff_role(&actor, user_id, &role)
                .await?;
            leptos_axum::redirect("/admin/staff?done=role");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_remove_staff")]
pub async fn remove_staff(user_id: i64) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            services()?.auth.remove_staff(&actor, user_id).await?;
            leptos_axum::redirect("/admin/staff?done=removed");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_reset_two_factor")]
pub async fn reset_staff_two_factor(user_id: i64) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            services()?.auth.reset_two_factor(&actor, user_id).await?;
            leptos_axum::redirect("/admin/staff?done=two-factor-reset");
            Ok(())
        }
        .await,
    )
}
