//! Notifications: e-mail to shoppers.
//!
//! One [`Mailer`] with two transports: by default every message is written as an `.eml`
//! file into a local outbox folder (open it with any mail program, or read it in tests);
//! with `SMTP_URL` set, messages go out over SMTP with lettre.

pub mod templates;

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// A message ready to send: both an HTML and a plain-text part.
#[derive(Debug, Clone)]
pub struct OutgoingEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address {0:?}")]
    Address(String),
    #[error("could not build the message: {0}")]
    Build(String),
    #[error("could not write to the outbox {path}: {cause}")]
    Outbox { path: String, cause: std::io::Error },
    #[error("SMTP: {0}")]
    Smtp(String),
}

enum Transport {
    Outbox(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// Sends e-mail; cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    transport: Arc<Transport>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

fn parse_from(from: &str) -> Result<Mailbox, MailError> {
    from.parse()
        .map_err(|_| MailError::Address(from.to_owned()))
}

impl Mailer {
    /// Writes every message into `dir` (created if missing).
    pub fn outbox(dir: impl Into<PathBuf>, from: &str) -> Result<Self, MailError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|cause| MailError::Outbox {
            path: dir.display().to_string(),
            cause,
        })?;
        let dir = dir.canonicalize().unwrap_or(dir);
        Ok(Self {
            transport: Arc::new(Transport::Outbox(dir)),
            from: parse_from(from)?,
        })
    }

    /// Sends over SMTP, e.g. `smtps://user:pass@smtp.example.com` or
    /// `smtp://localhost:25` (see lettre's URL format).
    pub fn smtp(url: &str, from: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::Smtp(e.to_string()))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Self {
            transport: Arc::new(Transport::Smtp(transport)),
            from: parse_from(from)?,
        })
    }

    /// Where mail goes, for the start-up message (never includes a password).
    pub fn describe(&self) -> String {
        match self.transport.as_ref() {
            Transport::Outbox(dir) => format!("e-mail is written to {}", dir.display()),
            Transport::Smtp(_) => "e-mail is sent over SMTP (SMTP_URL)".to_owned(),
        }
    }

    /// The outbox folder, when mail is written to files.
    pub fn outbox_dir(&self) -> Option<&Path> {
        match self.transport.as_ref() {
            Transport::Outbox(dir) => Some(dir),
            Transport::Smtp(_) => None,
        }
    }

    /// Deletes every outbox file that mentions `address` (in a header, or in a body once
    /// quoted-printable is undone), for erasing a customer; returns how many. Mail sent
    /// over SMTP has left the shop and cannot be recalled: nothing to do then.
    pub async fn forget(&self, address: &str) -> Result<usize, MailError> {
        let Some(dir) = self.outbox_dir() else {
            return Ok(0);
        };
        let needle = address.to_lowercase();
        let io = |cause| MailError::Outbox {
            path: dir.display().to_string(),
            cause,
        };
        let mut entries = match tokio::fs::read_dir(dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(io(e)),
        };
        let mut removed = 0;
        while let Some(entry) = entries.next_entry().await.map_err(io)? {
            let path = entry.path();
            let Ok(raw) = tokio::fs::read(&path).await else {
                continue;
            };
            let text = String::from_utf8_lossy(&raw).to_lowercase();
            if mentions(&text, &needle) || mentions(&undo_quoted_printable(&text), &needle) {
                tokio::fs::remove_file(&path).await.map_err(io)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn build(&self, email: &OutgoingEmail, id: Option<&str>) -> Result<Message, MailError> {
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|_| MailError::Address(email.to.clone()))?;
        let mut builder = Message::builder();
        if let Some(id) = id {
            // The same message id for every resend, so receivers can drop duplicates; under
            // the sender's own domain, so two shops never send the same id.
            builder = builder.message_id(Some(format!("<{id}@{}>", self.from.email.domain())));
        }
        builder
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(email.text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(email.html.clone()),
                    ),
            )
            .map_err(|e| MailError::Build(e.to_string()))
    }

    /// Sends one message. The outbox write is atomic: a reader never sees half a file.
    pub async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        self.deliver(email, None).await
    }

    /// Sends a message with a fixed id: sending it again replaces the outbox file (and
    /// carries the same Message-ID over SMTP), so a retried send is not a second e-mail.
    pub async fn send_as(&self, email: &OutgoingEmail, id: &str) -> Result<(), MailError> {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(MailError::Build(format!("unusable message id {id:?}")));
        }
        self.deliver(email, Some(id)).await
    }

    async fn deliver(&self, email: &OutgoingEmail, id: Option<&str>) -> Result<(), MailError> {
        let message = self.build(email, id)?;
        match self.transport.as_ref() {
            Transport::Outbox(dir) => {
                let name = match id {
                    Some(id) => format!("{id}.eml"),
                    None => {
                        let hex =
                            crate::random::hex(6).map_err(|e| MailError::Build(e.to_string()))?;
                        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ");
                        format!("{stamp}-{hex}.eml")
                    }
                };
                let tmp = dir.join(format!(".{name}.tmp"));
                let path = dir.join(&name);
                let io = |cause| MailError::Outbox {
                    path: path.display().to_string(),
                    cause,
                };
                tokio::fs::write(&tmp, message.formatted())
                    .await
                    .map_err(io)?;
                tokio::fs::rename(&tmp, &path).await.map_err(io)?;
                tracing::info!(file = %path.display(), subject = %email.subject, "e-mail written to the outbox");
                Ok(())
            }
            Transport::Smtp(smtp) => {
                smtp.send(message)
                    .await
                    .map_err(|e| MailError::Smtp(e.to_string()))?;
                tracing::info!(subject = %email.subject, "e-mail sent over SMTP");
                Ok(())
            }
        }
    }
}

/// Whether `text` holds `address` as a whole address (`ann@x.org` is not in
/// `joann@x.org`).
fn mentions(text: &str, address: &str) -> bool {
    let part = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
    text.match_indices(address).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let mut after = text[at + address.len()..].chars();
        // A full stop ending a sentence is not a longer domain; `.uk` would be.
        let longer = match after.next() {
            Some('.') => after.next().is_some_and(|c| c.is_ascii_alphanumeric()),
            Some(c) => part(c),
            None => false,
        };
        !before.is_some_and(part) && !longer
    })
}

/// Quoted-printable undone (soft line breaks joined, `=XX` decoded), for searching a
/// message's text.
fn undo_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_found_whole_only() {
        assert!(super::mentions("to: ann@x.org\r\n", "ann@x.org"));
        assert!(super::mentions("write to <ann@x.org>.", "ann@x.org"));
        assert!(!super::mentions("to: joann@x.org", "ann@x.org"));
        assert!(!super::mentions("to: ann@x.org.uk", "ann@x.org"));
        assert!(!super::mentions("to: ann@x.orgs", "ann@x.org"));
    }

    #[tokio::test]
    async fn outbox_holds_one_complete_message_per_send() {
        let dir = std::env::temp_dir().join(format!("emporium-outbox-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mailer = Mailer::outbox(&dir, "Emporium <shop@example.com>").expect("outbox");
        let email = OutgoingEmail {
            to: "ann@example.com".into(),
            subject: "Hello".into(),
            text: "Plain body".into(),
            html: "<p>HTML body</p>".into(),
        };
        mailer.send(&email).await.expect("send");
        let files: Vec<_> = std::fs::read_dir(&dir)
            .expect("read dir")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        assert!(files[0].extension().is_some_and(|e| e == "eml"));
        let raw = std::fs::read_to_string(&files[0]).expect("read");
        assert!(raw.contains("To: ann@example.com"));
        assert!(raw.contains("Subject: Hello"));
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("Plain body") && raw.contains("<p>HTML body</p>"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_fixed_id_is_one_file_and_a_message_id_of_the_senders_domain() {
        let dir =
            std::env::temp_dir().join(format!("emporium-outbox-id-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mailer = Mailer::outbox(&dir, "Shop <orders@shop.example>").expect("outbox");
        let email = OutgoingEmail {
            to: "ann@example.com".into(),
            subject: "Hello".into(),
            text: "Plain body".into(),
            html: "<p>HTML body</p>".into(),
        };
        mailer
            .send_as(&email, "order-1-confirmation")
            .await
            .expect("send");
        mailer
            .send_as(&email, "order-1-confirmation")
            .await
            .expect("resend");
        let files: Vec<_> = std::fs::read_dir(&dir)
            .expect("read dir")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        let raw = std::fs::read_to_string(&files[0]).expect("read");
        assert!(
            raw.contains("Message-ID: <order-1-confirmation@shop.example>"),
            "{raw}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_addresses_are_errors_not_panics() {
        assert!(Mailer::outbox(std::env::temp_dir(), "not an address").is_err());
    }
}
