//! Accounts: e-mail addresses, password length rules, roles, the signed-in user as pages
//! see it, and postal addresses with their validation.
//!
//! The list of common passwords is server-only (it would bloat the wasm bundle); the length
//! rules live here so the browser can hint them exactly as the server enforces them.

use serde::{Deserialize, Serialize};
use std::fmt;

pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 128;
/// The rules in words, for the hint under a new-password field.
pub const PASSWORD_RULES: &str = "8 to 128 characters; not a commonly used password.";
const EMAIL_MAX_LEN: usize = 254;
const NAME_MAX_CHARS: usize = 100;

/// A rule that a form field broke, with a message naming the rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A syntactically valid e-mail address, trimmed and lower-cased so one mailbox is one
/// account whatever the capitalisation it was typed with.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let bad = |m: &str| Err(FieldError::new("email", m));
        let s = input.trim().to_lowercase();
        if s.is_empty() {
            return bad("Enter your e-mail address.");
        }
        if s.len() > EMAIL_MAX_LEN {
            return bad("That e-mail address is too long (at most 254 characters).");
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return bad("Enter an e-mail address like name@example.com (it needs an @).");
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !local_ok || !domain_ok {
            return bad("Enter an e-mail address like name@example.com.");
        }
        // Reserved (RFC 2606): no mail reaches it, and erased accounts are given one.
        if domain == "invalid" || domain.ends_with(".invalid") {
            return bad("That address cannot receive e-mail: enter the one you use.");
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The length rules every new password meets (the server also refuses common ones).
pub fn check_password_length(password: &str) -> Result<(), FieldError> {
    let n = password.chars().count();
    if n < PASSWORD_MIN_CHARS {
        Err(FieldError::new(
            "password",
            format!("Use at least {PASSWORD_MIN_CHARS} characters for your password."),
        ))
    } else if n > PASSWORD_MAX_CHARS {
        Err(FieldError::new(
            "password",
            format!("Use at most {PASSWORD_MAX_CHARS} characters for your password."),
        ))
    } else {
        Ok(())
    }
}

/// A person's display name: trimmed, at most 100 characters, may be empty.
pub fn parse_name(input: &str) -> Result<String, FieldError> {
    let name = input.trim();
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(FieldError::new(
            "name",
            "Your name is too long (at most 100 characters).",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(FieldError::new(
            "name",
            "Your name contains characters we cannot store.",
        ));
    }
    Ok(name.to_owned())
}

/// Who an account is: a customer, or staff with one role (what each role may do is
/// [`Role::may`], in `staff`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    Customer,
    /// Everything, including staff, roles and settings.
    Owner,
    /// Everything except staff and roles.
    Admin,
    /// Products, categories, images, stock, imports.
    Catalog,
    /// Orders, payments, refunds, shipping, returns; reads customers.
    Orders,
    /// Reads orders; looks after customers.
    Support,
}

codes!(Role {
    Customer => "customer",
    Owner => "owner",
    Admin => "admin",
    Catalog => "catalog",
    Orders => "orders",
    Support => "support",
});

/// The signed-in user as pages show them. Never holds a password hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
}

impl UserSummary {
    /// Staff of any role (who the admin area opens for, after the second factor).
    pub fn is_staff(&self) -> bool {
        self.role.is_staff()
    }

    /// What the header calls the user: their first name, or the e-mail's local part.
    pub fn greeting_name(&self) -> String {
        self.name
            .split_whitespace()
            .next()
            .map(str::to_owned)
            .unwrap_or_else(|| self.email.split('@').next().unwrap_or_default().to_owned())
    }
}

/// Counts shown on the admin dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOverview {
    pub users: i64,
    pub admins: i64,
    pub new_users_7d: i64,
    pub published_products: i64,
    pub sold_out_variants: i64,
}

/// A saved postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub id: i64,
    pub full_name: String,
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
    pub phone: String,
    pub is_default: bool,
}

impl Address {
    /// The address as lines for display.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![self.full_name.clone(), self.line1.clone()];
        if !self.line2.is_empty() {
            out.push(self.line2.clone());
        }
        let mut city = self.city.clone();
        if !self.region.is_empty() {
            city.push_str(", ");
            city.push_str(&self.region);
        }
        city.push(' ');
        city.push_str(&self.postal_code);
        out.push(city);
        out.push(
            country_name(&self.country)
                .unwrap_or(&self.country)
                .to_owned(),
        );
        if !self.phone.is_empty() {
            out.push(self.phone.clone());
        }
        out
    }
}

/// An address as typed into the form, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressInput {
    pub full_name: String,
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
    pub phone: String,
}

/// Countries the shop ships to, by ISO code.
pub const COUNTRIES: &[(&str, &str)] = &[
    ("AU", "Australia"),
    ("AT", "Austria"),
    ("BE", "Belgium"),
    ("CA", "Canada"),
    ("DK", "Denmark"),
    ("FI", "Finland"),
    ("FR", "France"),
    ("DE", "Germany"),
    ("IE", "Ireland"),
    ("IT", "Italy"),
    ("JP", "Japan"),
    ("NL", "Netherlands"),
    ("NZ", "New Zealand"),
    ("NO", "Norway"),
    ("PL", "Poland"),
    ("PT", "Portugal"),
    ("ES", "Spain"),
    ("SE", "Sweden"),
    ("CH", "Switzerland"),
    ("GB", "United Kingdom"),
    ("US", "United States"),
];

pub fn country_name(code: &str) -> Option<&'static str> {
    COUNTRIES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

impl AddressInput {
    /// Trims every field and checks the rules; every broken rule is reported, by field.
    pub fn validate(&self) -> Result<AddressInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut field = |name: &str, label: &str, value: &str, required: bool, max: usize| {
            let v = value.trim().to_owned();
            if required && v.is_empty() {
                errors.push(FieldError::new(name, format!("Enter the {label}.")));
            } else if v.chars().count() > max {
                errors.push(FieldError::new(
                    name,
                    format!("The {label} is too long (at most {max} characters)."),
                ));
            } else if v.chars().any(char::is_control) {
                errors.push(FieldError::new(
                    name,
                    format!("The {label} contains characters we cannot store."),
                ));
            }
            v
        };
        let full_name = field("full_name", "full name", &self.full_name, true, 100);
        let line1 = field("line1", "street address", &self.line1, true, 120);
        let line2 = field("line2", "second address line", &self.line2, false, 120);
        let city = field("city", "town or city", &self.city, true, 80);
        let region = field("region", "state or region", &self.region, false, 80);
        let postal_code = field("postal_code", "postal code", &self.postal_code, true, 16);
        let phone = field("phone", "phone number", &self.phone, false, 32);
        let country = self.country.trim().to_uppercase();
        if country_name(&country).is_none() {
            errors.push(FieldError::new(
                "country",
                "Choose a country we ship to from the list.",
            ));
        }
        if !phone.is_empty()
            && !phone
                .chars()
                .all(|c| c.is_ascii_digit() || " +-()./".contains(c))
        {
            errors.push(FieldError::new(
                "phone",
                "Use only digits, spaces and + - ( ) in the phone number.",
            ));
        }
        if errors.is_empty() {
            Ok(AddressInput {
                full_name,
                line1,
                line2,
                city,
                region,
                postal_code,
                country,
                phone,
            })
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ann.Lee@Example.COM ").map(|e| e.0),
            Ok("ann.lee@example.com".into())
        );
        assert!(Email::parse("a+tag@mail.example.org").is_ok());
        for bad in [
            "",
            "plain",
            "a@b",
            "@example.com",
            "a@@example.com",
            "a b@example.com",
            "a@example..com",
            ".a@example.com",
            "a@-x.com",
            "erased-7@erased.invalid",
        ] {
            let e = Email::parse(bad).expect_err(bad);
            assert_eq!(e.field, "email");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long)
            .expect_err("too long")
            .message
            .contains("254"));
    }

    #[test]
    fn password_length_rule_names_the_limit() {
        assert!(check_password_length("short")
            .expect_err("short")
            .message
            .contains("at least 8"));
        assert!(check_password_length(&"x".repeat(129))
            .expect_err("long")
            .message
            .contains("at most 128"));
        assert!(check_password_length("eight ch").is_ok());
        assert!(
            PASSWORD_RULES.starts_with(&format!("{PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} "))
        );
        // Characters, not bytes: eight accented letters are enough.
        assert!(check_password_length("éééééééé").is_ok());
    }

    #[test]
    fn address_validation_reports_every_field() {
        let errors = AddressInput::default().validate().expect_err("empty");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["full_name", "line1", "city", "postal_code", "country"]
        );
        let ok = AddressInput {
            full_name: " Ann Lee ".into(),
            line1: "1 Main St".into(),
            city: "Springfield".into(),
            postal_code: "12345".into(),
            country: "us".into(),
            phone: "+1 (555) 010-0000".into(),
            ..Default::default()
        }
        .validate()
        .expect("valid");
        assert_eq!(ok.full_name, "Ann Lee");
        assert_eq!(ok.country, "US");
        let bad_phone = AddressInput {
            phone: "call me".into(),
            ..ok.clone()
        };
        assert_eq!(bad_phone.validate().expect_err("phone")[0].field, "phone");
    }

    #[test]
    fn greeting_uses_first_name_or_mailbox() {
        let mut u = UserSummary {
            id: 1,
            email: "ann@example.com".into(),
            name: "Ann Lee".into(),
            role: Role::Customer,
        };
        assert_eq!(u.greeting_name(), "Ann");
        u.name.clear();
        assert_eq!(u.greeting_name(), "ann");
    }
}
