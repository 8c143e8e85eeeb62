//! Staff: what each role may do, and what the admin screens of staff and the audit log
//! show. The rules live here so the service that refuses an action and the screen that
//! hides its button read the same table.

use crate::account::Role;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Something an admin screen or action needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Permission {
    /// Invite, remove and change the role of staff.
    ManageStaff,
    /// Shop-wide settings.
    Settings,
    /// Products, categories, images, stock and imports.
    Catalog,
    /// Change orders: payments, refunds, shipping, returns.
    ManageOrders,
    /// See orders.
    ReadOrders,
    /// See customers.
    ReadCustomers,
    /// Edit, note, group, disable, reset the password of and export customers.
    ManageCustomers,
    /// Change a customer's e-mail address: with a reset link sent to it, a new address
    /// owns the account, so not for support.
    ChangeCustomerEmail,
    /// Erase a customer's personal data (cannot be undone).
    EraseCustomers,
    /// Read the audit log.
    ReadAudit,
}

impl Permission {
    /// The sentence a refusal answers with (403).
    pub fn refusal(self) -> &'static str {
        match self {
            Permission::ManageStaff => "Only an owner may manage staff and their roles.",
            Permission::Settings => "Only an owner or an admin may change the shop's settings.",
            Permission::Catalog => {
                "Your role does not include the catalog: products, categories, images and stock are for catalog managers, admins and owners."
            }
            Permission::ManageOrders => {
                "Your role does not include changing orders: that is for order managers, admins and owners."
            }
            Permission::ReadOrders => "Your role does not include orders.",
            Permission::ReadCustomers => "Your role does not include customers.",
            Permission::ManageCustomers => {
                "Your role does not include changing customers: that is for support staff, admins and owners."
            }
            Permission::ChangeCustomerEmail => {
                "Only an owner or an admin may change a customer's e-mail address."
            }
            Permission::EraseCustomers => "Only an owner or an admin may erase a customer.",
            Permission::ReadAudit => "Only an owner or an admin may read the audit log.",
        }
    }
}

impl Role {
    /// The roles staff can have, most powerful first.
    pub const STAFF: [Role; 5] = [
        Role::Owner,
        Role::Admin,
        Role::Catalog,
        Role::Orders,
        Role::Support,
    ];

    pub fn is_staff(self) -> bool {
        self != Role::Customer
    }

    /// The one table of who may do what.
    pub fn may(self, permission: Permission) -> bool {
        use Permission as P;
        match self {
            Role::Customer => false,
            Role::Owner => true,
            Role::Admin => permission != P::ManageStaff,
            Role::Catalog => permission == P::Catalog,
            Role::Orders => matches!(
                permission,
                P::ManageOrders | P::ReadOrders | P::ReadCustomers
            ),
            Role::Support => {
                matches!(
                    permission,
                    P::ReadOrders | P::ReadCustomers | P::ManageCustomers
                )
            }
        }
    }

    /// `Ok` when this role may; else the refusal.
    pub fn require(self, permission: Permission) -> Result<(), Refused> {
        if self.may(permission) {
            Ok(())
        } else {
            Err(Refused(permission))
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Customer => "Customer",
            Role::Owner => "Owner",
            Role::Admin => "Admin",
            Role::Catalog => "Catalog manager",
            Role::Orders => "Order manager",
            Role::Support => "Support",
        }
    }

    /// What the role may do, in a few words (the staff screen's role picker).
    pub fn summary(self) -> &'static str {
        match self {
            Role::Customer => "no admin access",
            Role::Owner => "everything, including staff, roles and settings",
            Role::Admin => "everything except staff and roles",
            Role::Catalog => "products, categories, images, stock, imports",
            Role::Orders => "orders, payments, refunds, shipping, returns; reads customers",
            Role::Support => "reads orders; customers (edit, reset password, disable)",
        }
    }
}

/// A refused admin action: the permission it needed. Shown as its sentence, with 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused(pub Permission);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.refusal())
    }
}

impl std::error::Error for Refused {}

/// A member of staff as the staff screen lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMember {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// Has finished setting up two-factor sign-in.
    pub two_factor: bool,
    pub since: String,
}

/// An invitation not yet used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingInvite {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub expires: String,
}

/// The staff screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffScreen {
    pub staff: Vec<StaffMember>,
    pub invites: Vec<PendingInvite>,
    /// The signed-in owner, who cannot remove themselves.
    pub me: i64,
}

/// What the page an invitation's link opens shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteView {
    pub email: String,
    pub role: Role,
    /// The address already has an account: its password accepts the invitation.
    pub has_account: bool,
}

/// What setting up two-factor sign-in shows: the QR code (an SVG drawn by the shop) and
/// the same secret as text, for apps that cannot scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    pub qr_svg: String,
    pub secret: String,
}

/// The two-factor page: either set it up, or enter a code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TwoFactorStep {
    Enrol(Enrolment),
    Verify,
}

/// One field an audited write changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    /// Empty when the entity is new.
    pub before: String,
    pub after: String,
}

/// One row of the audit log, as the audit screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    /// The member of staff (their e-mail), or what acted without one ("command line").
    pub actor: String,
    pub actor_id: Option<i64>,
    pub ip: String,
    pub entity: String,
    pub entity_id: String,
    pub action: String,
    pub changes: Vec<FieldChange>,
}

/// What the audit screen filters by; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditQuery {
    pub actor: Option<i64>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    /// `YYYY-MM-DD`, inclusive, UTC.
    pub from: Option<String>,
    pub to: Option<String>,
    pub oldest_first: bool,
    /// 1-based.
    pub page: u32,
}

/// A page of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub page: u32,
    pub has_next: bool,
    /// Everyone who ever appears as an actor, for the person filter.
    pub people: Vec<(i64, String)>,
}

/// Rows per page of the audit screen.
pub const AUDIT_PER_PAGE: u32 = 50;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_may_exactly_what_the_table_says() {
        use Permission as P;
        let all = [
            P::ManageStaff,
            P::Settings,
            P::Catalog,
            P::ManageOrders,
            P::ReadOrders,
            P::ReadCustomers,
            P::ManageCustomers,
            P::ChangeCustomerEmail,
            P::EraseCustomers,
            P::ReadAudit,
        ];
        let allowed = |role: Role| all.into_iter().filter(|p| role.may(*p)).collect::<Vec<_>>();
        assert_eq!(allowed(Role::Owner), all);
        assert_eq!(allowed(Role::Admin), all[1..]);
        assert_eq!(allowed(Role::Catalog), [P::Catalog]);
        assert_eq!(
            allowed(Role::Orders),
            [P::ManageOrders, P::ReadOrders, P::ReadCustomers]
        );
        assert_eq!(
            allowed(Role::Support),
            [P::ReadOrders, P::ReadCustomers, P::ManageCustomers]
        );
        assert!(allowed(Role::Customer).is_empty());
        assert_eq!(
            Role::Catalog
                .require(P::ManageStaff)
                .expect_err("refused")
                .to_string(),
            "Only an owner may manage staff and their roles."
        );
        assert!(Role::STAFF.iter().all(|r| r.is_staff()));
        assert_eq!(Role::parse("catalog"), Some(Role::Catalog));
        assert_eq!(Role::parse("root"), None);
    }
}
