//! Customers as the admin's customer screens show them.

use crate::account::Address;
use crate::money::Money;
use crate::order::OrderSummary;
use serde::{Deserialize, Serialize};

/// How the customer list is sorted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CustomerSort {
    #[default]
    Newest,
    Oldest,
    Email,
    EmailDesc,
    Name,
    NameDesc,
}

impl CustomerSort {
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerSort::Newest => "newest",
            CustomerSort::Oldest => "oldest",
            CustomerSort::Email => "email",
            CustomerSort::EmailDesc => "email-desc",
            CustomerSort::Name => "name",
            CustomerSort::NameDesc => "name-desc",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "oldest" => CustomerSort::Oldest,
            "email" => CustomerSort::Email,
            "email-desc" => CustomerSort::EmailDesc,
            "name" => CustomerSort::Name,
            "name-desc" => CustomerSort::NameDesc,
            _ => CustomerSort::Newest,
        }
    }

    /// The column it sorts by ("joined", "email", "name") and whether descending.
    pub fn column(self) -> (&'static str, bool) {
        match self {
            CustomerSort::Newest => ("joined", true),
            CustomerSort::Oldest => ("joined", false),
            CustomerSort::Email => ("email", false),
            CustomerSort::EmailDesc => ("email", true),
            CustomerSort::Name => ("name", false),
            CustomerSort::NameDesc => ("name", true),
        }
    }

    /// The sort of a column heading's link.
    pub fn of_column(column: &str, descending: bool) -> Self {
        match (column, descending) {
            ("email", false) => CustomerSort::Email,
            ("email", true) => CustomerSort::EmailDesc,
            ("name", false) => CustomerSort::Name,
            ("name", true) => CustomerSort::NameDesc,
            ("joined", false) => CustomerSort::Oldest,
            _ => CustomerSort::Newest,
        }
    }
}

/// What the customer list asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomerQuery {
    /// Part of the e-mail address or the name.
    pub q: String,
    /// Only members of this group.
    pub group: Option<i64>,
    pub sort: CustomerSort,
    /// 1-based.
    pub page: u32,
}

/// Rows per page of the customer list.
pub const CUSTOMERS_PER_PAGE: u32 = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub joined: String,
    pub disabled: bool,
    pub orders: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerGroup {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerList {
    pub rows: Vec<CustomerRow>,
    pub page: u32,
    pub has_next: bool,
    pub groups: Vec<CustomerGroup>,
    /// The role may change customers (shows the forms that do).
    pub may_edit: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerNote {
    pub id: i64,
    pub author: String,
    pub at: String,
    pub body: String,
}

/// One customer's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerDetail {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub joined: String,
    pub disabled: bool,
    pub erased: bool,
    /// Paid or partly refunded orders' totals, less refunds, in the shop's currency.
    pub total_spent: Money,
    pub orders: Vec<OrderSummary>,
    pub addresses: Vec<Address>,
    pub notes: Vec<CustomerNote>,
    /// Every group, and whether the customer is in it.
    pub groups: Vec<(CustomerGroup, bool)>,
    pub may_edit: bool,
    pub may_erase: bool,
}
