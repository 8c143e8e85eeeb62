//! Fetching a file from an address someone else gave (a CSV import's `Image Src`), with
//! the protections a server needs against being made to reach inside its own network
//! (SSRF): http and https only; the host is resolved first and every address it has must
//! be public (no loopback, private, link-local, carrier-grade NAT, multicast, documentation
//! or unspecified ones) unless the shop's setting allows them; the connection goes to the
//! address that was checked, so a second DNS answer cannot swap it; redirects are followed
//! by hand (at most 3), each checked the same way; a size limit read as it arrives and a
//! time limit for the whole fetch.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// What an outside fetch may do.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    /// Private and loopback addresses too (for a shop whose images sit on its own
    /// network, and for tests against a local server).
    pub allow_private: bool,
    pub timeout: Duration,
    pub max_bytes: usize,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            allow_private: false,
            timeout: Duration::from_secs(15),
            max_bytes: crate::media::MAX_BYTES,
        }
    }
}

/// Why a fetch failed, as a sentence for the import's report.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    #[error("not an http or https address")]
    Scheme,
    /// (The address itself is kept out of the sentence: it would tell staff how the shop's
    /// own network resolves names.)
    #[error("its host is not on a public address (private, loopback or reserved addresses are not fetched)")]
    NotPublic(String),
    #[error("the host could not be found")]
    Unresolved,
    #[error("no answer within {0} seconds")]
    Timeout(u64),
    #[error("the file is larger than {0} MB")]
    TooLarge(usize),
    #[error("the server answered {0}")]
    Status(u16),
    #[error("more than 3 redirects")]
    Redirects,
    #[error("the connection failed")]
    Connection,
}

/// Whether `ip` is an address on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (18..20).contains(&o[1]))
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || (s[0] == 0x64 && s[1] == 0xff9b))
        }
    }
}

/// The address to connect to for `url`, checked against the policy.
async fn checked_address(
    url: &reqwest::Url,
    policy: &FetchPolicy,
) -> Result<SocketAddr, FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::Scheme);
    }
    let host = url.host_str().ok_or(FetchError::Unresolved)?;
    let port = url.port_or_known_default().ok_or(FetchError::Scheme)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> =
        tokio::time::timeout(policy.timeout, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| FetchError::Timeout(policy.timeout.as_secs()))?
            .map_err(|_| FetchError::Unresolved)?
            .collect();
    let first = *addrs.first().ok_or(FetchError::Unresolved)?;
    if !policy.allow_private {
        if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
            return Err(FetchError::NotPublic(bad.ip().to_string()));
        }
    }
    Ok(first)
}

/// The body at `url`, within the policy's limits.
pub async fn fetch(url: &str, policy: &FetchPolicy) -> Result<Vec<u8>, FetchError> {
    let limit = policy.timeout;
    tokio::time::timeout(limit, fetch_inner(url, policy))
        .await
        .map_err(|_| FetchError::Timeout(limit.as_secs()))?
}

async fn fetch_inner(url: &str, policy: &FetchPolicy) -> Result<Vec<u8>, FetchError> {
    let mut url = reqwest::Url::parse(url).map_err(|_| FetchError::Scheme)?;
    for _ in 0..=3 {
        let addr = checked_address(&url, policy).await?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve the host itself, past the address checked here.
            .no_proxy()
            .timeout(policy.timeout)
            .resolve(&host, addr)
            .user_agent("Emporium catalog import")
            .build()
            .map_err(|_| FetchError::Connection)?;
        let mut response = client.get(url.clone()).send().await.map_err(|e| {
            if e.is_timeout() {
                FetchError::Timeout(policy.timeout.as_secs())
            } else {
                FetchError::Connection
            }
        })?;
        let status = response.status();
        if status.is_redirection() {
            let next = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .ok_or(FetchError::Status(status.as_u16()))?;
            url = next;
            continue;
        }
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        let too_large = FetchError::TooLarge(policy.max_bytes / (1024 * 1024));
        if response
            .content_length()
            .is_some_and(|n| n > policy.max_bytes as u64)
        {
            return Err(too_large);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|_| FetchError::Connection)? {
            if body.len() + chunk.len() > policy.max_bytes {
                return Err(too_large);
            }
            body.extend_from_slice(&chunk);
        }
        return Ok(body);
    }
    Err(FetchError::Redirects)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
        ] {
            let ip: IpAddr = private.parse().expect("address");
            assert!(!is_public(ip), "{private} counted as public");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_public(public.parse().expect("address")), "{public}");
        }
    }

    #[tokio::test]
    async fn loopback_and_odd_schemes_are_refused_unless_allowed() {
        let policy = FetchPolicy::default();
        assert_eq!(
            fetch("http://127.0.0.1:9/x.png", &policy).await,
            Err(FetchError::NotPublic("127.0.0.1".into()))
        );
        assert!(matches!(
            fetch("http://localhost:9/x.png", &policy).await,
            Err(FetchError::NotPublic(_))
        ));
        assert_eq!(
            fetch("file:///etc/passwd", &policy).await,
            Err(FetchError::Scheme)
        );
        assert_eq!(
            fetch("ftp://example.com/a", &policy).await,
            Err(FetchError::Scheme)
        );
    }
}
