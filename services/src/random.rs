//! Secure random values from the operating system.

/// `n_bytes` random bytes as lower-case hex (twice as many characters).
pub fn hex(n_bytes: usize) -> Result<String, getrandom::Error> {
    let mut buf = vec![0u8; n_bytes];
    getrandom::fill(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_has_the_asked_length_and_differs() {
        let a = super::hex(16).expect("random");
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, super::hex(16).expect("random"));
    }
}
