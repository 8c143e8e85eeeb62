//! The shopper's account: sign-in, registration and password reset; profile and
//! password; the address book; order history. Signed out, the profile, address book and
//! order history redirect to sign-in and come back afterwards.

pub mod addresses;
pub mod orders;
pub mod profile;
mod shell;
pub mod sign_in;

/// A local path to go to after signing in; anything else (another site, `//host`,
/// odd characters) falls back to the account page.
pub fn safe_next(next: Option<&str>) -> String {
    crate::components::gate::safe_next_or(next, "/account")
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/account/addresses")), "/account/addresses");
        assert_eq!(safe_next(Some("/c/shoes?page=2")), "/c/shoes?page=2");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "/api/sign_out",
            "/a b",
            "",
            "account",
        ] {
            assert_eq!(safe_next(Some(bad)), "/account", "{bad}");
        }
        assert_eq!(safe_next(None), "/account");
    }
}
