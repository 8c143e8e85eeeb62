//! Test harness: the real application on port 0, against its own PostgreSQL database.
//!
//! Each test gets a fresh database cloned from a template that is migrated and seeded
//! once (`CREATE DATABASE … TEMPLATE` copies files, far faster than seeding), so tests
//! run in parallel and never see each other's writes.

use server::config::Config;
use server::Application;
use services::Services;
// Database names below are built from hex digits and counters only, never from input.
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use std::sync::atomic::{AtomicU32, Ordering};

pub const PUBLIC_URL: &str = "http://shop.test";

fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://emporium@127.0.0.1:54329/emporium".into())
}

fn url_for(db: &str) -> String {
    let base = admin_url();
    let cut = base.rfind('/').map_or(base.len(), |i| i);
    format!("{}/{db}", &base[..cut])
}

/// Name of the template for the current migrations and seed generator.
fn template_name() -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for m in services::MIGRATOR.iter() {
        for b in m.checksum.iter().copied().chain(m.version.to_le_bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    // Everything that shapes the seeded data.
    for file in [
        &include_bytes!("../../../services/src/catalog/seed.rs")[..],
        &include_bytes!("../../../services/src/catalog/images.rs")[..],
        &include_bytes!("../../../services/src/stock.rs")[..],
        &include_bytes!("../../../domain/src/slug.rs")[..],
    ] {
        for b in file {
            h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    format!("emporium_template_{h:016x}")
}

async fn ensure_template(admin: &mut PgConnection) -> String {
    let name = template_name();
    // Test processes race to build it; one advisory lock lets one of them do it.
    sqlx::query("SELECT pg_advisory_lock(728001)")
        .execute(&mut *admin)
        .await
        .expect("lock");
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut *admin)
            .await
            .expect("query pg_database");
    if !exists {
        let building = format!("{name}_building");
        sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {building}")))
            .execute(&mut *admin)
            .await
            .expect("drop");
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {building}")))
            .execute(&mut *admin)
            .await
            .expect("create template");
        {
            let pool = sqlx::PgPool::connect(&url_for(&building))
                .await
                .expect("connect template");
            services::MIGRATOR
                .run(&pool)
                .await
                .expect("migrate template");
            let catalog = services::CatalogService::new(pool.clone(), domain::Currency::Usd);
            let data =
                services::catalog::seed::generate(services::catalog::seed::DEFAULT_PRODUCT_COUNT);
            catalog
                .load_seed(&data, domain::Currency::Usd, |_, _| {})
                .await
                .expect("seed template");
            pool.close().await;
        }
        sqlx::query(AssertSqlSafe(format!(
            "ALTER DATABASE {building} RENAME TO {name}"
        )))
        .execute(&mut *admin)
        .await
        .expect("rename");
    }
    sqlx::query("SELECT pg_advisory_unlock(728001)")
        .execute(&mut *admin)
        .await
        .expect("unlock");
    name
}

/// A fresh database cloned from the seeded template; returns its URL.
pub async fn fresh_database() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let mut admin = PgConnection::connect(&admin_url()).await.expect(
        "PostgreSQL must be running for integration tests: run `make services` or set DATABASE_URL",
    );
    let template = ensure_template(&mut admin).await;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!(
        "emporium_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    );
    sqlx::query(AssertSqlSafe(format!(
        "CREATE DATABASE {name} TEMPLATE {template}"
    )))
    .execute(&mut admin)
    .await
    .expect("clone template");
    url_for(&name)
}

/// The password of accounts the helpers make.
const PASSWORD: &str = "violet-harbour-19";

/// Configuration for a test app on port 0.
pub fn test_config(database_url: String) -> Config {
    let mut config = Config::from_env().expect("default config");
    config.database_url = database_url;
    config.redis_url =
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:63799/0".into());
    config.bind = "127.0.0.1:0".parse().expect("addr");
    config.public_url = PUBLIC_URL.into();
    config.db_max_connections = 5;
    // Each app has its own Redis keys and outbox, so parallel tests never share counters,
    // sessions or e-mail.
    static APPS: AtomicU32 = AtomicU32::new(0);
    let unique = format!(
        "{}-{}",
        std::process::id(),
        APPS.fetch_add(1, Ordering::Relaxed)
    );
    config.redis_prefix = format!("emporium-test:{unique}:");
    config.mail_outbox = std::env::temp_dir().join(format!("emporium-test-outbox-{unique}"));
    let _ = std::fs::remove_dir_all(&config.mail_outbox);
    config.media_dir = std::env::temp_dir().join(format!("emporium-test-media-{unique}"));
    config.search_index_dir = std::env::temp_dir().join(format!("emporium-test-index-{unique}"));
    let _ = std::fs::remove_dir_all(&config.search_index_dir);
    // Test apps search with their own embedded index; the Meilisearch engine is held to
    // the same conformance suite with an index of its own (search.rs).
    config.meili_url = None;
    config.cookie_secure = false;
    // Tests run the scheduled jobs themselves, when they mean to.
    config.scheduler = false;
    // Two worker loops: parallel delivery is exercised, and the small pool stays free.
    config.event_workers = 2;
    config.stripe = None;
    config.paypal = None;
    config
}

/// A running application and a client for it.
pub struct TestApp {
    pub base: String,
    pub database_url: String,
    pub client: reqwest::Client,
    pub services: Services,
    pub outbox: std::path::PathBuf,
    pub redis_prefix: String,
    /// A pool of the test's own on this database, made at first use.
    db: tokio::sync::OnceCell<sqlx::PgPool>,
}

/// A response as a user agent sees it.
pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

/// One multi-threaded runtime for every test server in this process, as in production.
/// Leptos keeps its task spawner in process-wide state; with a runtime per test, a render
/// task could be handed to another test's runtime as it shut down, stalling a response.
fn server_runtime() -> &'static tokio::runtime::Handle {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("server runtime")
        })
        .handle()
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns with `adjust` applied to the configuration first.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        Self::spawn_on(None, adjust).await
    }

    /// Another instance of the shop on `other`'s database, as behind a load balancer
    /// (its own Redis prefix and search index; the same mail server, so the outbox is
    /// shared: either instance's event worker may send a mail the other's action caused).
    pub async fn spawn_beside(
        other: &TestApp,
        adjust: impl FnOnce(&mut Config) + Send + 'static,
    ) -> Self {
        let outbox = other.outbox.clone();
        Self::spawn_on(Some(other.database_url.clone()), move |config| {
            config.mail_outbox = outbox;
            adjust(config);
        })
        .await
    }

    async fn spawn_on(
        database: Option<String>,
        adjust: impl FnOnce(&mut Config) + Send + 'static,
    ) -> Self {
        let runtime = server_runtime();
        let (app, database_url, outbox, redis_prefix) = runtime
            .spawn(async {
                let url = match database {
                    Some(url) => url,
                    None => fresh_database().await,
                };
                let mut config = test_config(url.clone());
                adjust(&mut config);
                let outbox = config.mail_outbox.clone();
                let prefix = config.redis_prefix.clone();
                let app = Application::build(config).await.expect("build app");
                (app, url, outbox, prefix)
            })
            .await
            .expect("build task");
        let base = format!("http://127.0.0.1:{}", app.port());
        let services = app.services().clone();
        runtime.spawn(app.run_until_stopped());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .expect("client");
        Self {
            base,
            database_url,
            client,
            services,
            outbox,
            redis_prefix,
            db: tokio::sync::OnceCell::new(),
        }
    }

    /// A new browser: its own cookie jar, redirects not followed.
    pub fn browser(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .expect("client")
    }

    /// GET with `client`, as a browser asking for a page.
    pub async fn visit(&self, client: &reqwest::Client, path: &str) -> Page {
        Page::read(
            client
                .get(format!("{}{path}", self.base))
                .header("accept", "text/html")
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    /// A GET with `client` (its cookies) and extra `headers`.
    pub async fn client_get(
        &self,
        client: &reqwest::Client,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Page {
        let mut request = client.get(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Page::read(request.send().await.expect("request")).await
    }

    /// POSTs a form to a server function the way the wasm client does (answer in JSON).
    pub async fn call(&self, client: &reqwest::Client, path: &str, form: &[(&str, &str)]) -> Page {
        Page::read(
            client
                .post(format!("{}{path}", self.base))
                .header("accept", "application/json")
                .form(form)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    /// Registers and signs `client` in; returns nothing, panics on failure.
    pub async fn register(&self, client: &reqwest::Client, email: &str, password: &str) {
        let page = self
            .call(
                client,
                "/api/register",
                &[
                    ("email", email),
                    ("password", password),
                    ("name", "Test Shopper"),
                ],
            )
            .await;
        assert_eq!(page.status, 200, "register {email}: {}", page.body);
        // The shopper reads the e-mail (it leaves the outbox) and follows its link.
        let token = self.registration_token(email, true).await;
        let done = self
            .call(
                client,
                "/api/confirm_registration",
                &[("token", &token), ("password", password)],
            )
            .await;
        assert_eq!(done.status, 200, "confirm {email}: {}", done.body);
    }

    /// An account made straight in the database, and `client` signed in to it (for apps
    /// whose e-mail cannot arrive: no event worker, or a mail server that is down).
    pub async fn sign_up_directly(&self, client: &reqwest::Client, email: &str, password: &str) {
        self.services
            .auth
            .create_customer(email, password, "Test Shopper")
            .await
            .expect("create the account");
        let page = self
            .call(
                client,
                "/api/sign_in",
                &[("email", email), ("password", password)],
            )
            .await;
        assert_eq!(page.status, 200, "sign in {email}: {}", page.body);
    }

    /// The code `user_id`'s authenticator app shows `steps` time steps from now (30 s
    /// each), from the two-factor secret the shop keeps for them.
    pub async fn totp_code(&self, user_id: i64, steps: i64) -> String {
        let secret: Vec<u8> =
            sqlx::query_scalar("SELECT secret FROM staff_two_factor WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(&self.pool().await)
                .await
                .expect("a two-factor secret");
        let totp = totp_rs::TOTP::new(
            totp_rs::Algorithm::SHA1,
            6,
            0,
            30,
            secret,
            None,
            "test".into(),
        )
        .expect("totp");
        let now = u64::try_from(chrono::Utc::now().timestamp() + steps * 30).expect("time");
        totp.generate(now)
    }

    /// A connection pool to this app's database, for looking at what tests cannot see
    /// over HTTP.
    pub async fn pool(&self) -> sqlx::PgPool {
        self.db
            .get_or_init(|| async {
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(5)
                    .connect(&self.database_url)
                    .await
                    .expect("connect")
            })
            .await
            .clone()
    }

    /// A member of staff with `role` (made a customer account first, then given the role),
    /// signed in on a new browser that has set up and given its second factor. Returns
    /// the browser and the account's id.
    pub async fn staff(&self, email: &str, role: domain::Role) -> (reqwest::Client, i64) {
        let browser = self.browser();
        self.sign_up_directly(&browser, email, PASSWORD).await;
        let id: i64 =
            sqlx::query_scalar("UPDATE users SET role = $2 WHERE email = $1 RETURNING id")
                .bind(email)
                .bind(role.as_str())
                .fetch_one(&self.pool().await)
                .await
                .expect("give the role");
        // The two-factor page makes the secret; the first code finishes the set-up.
        let page = self.call(&browser, "/api/admin_two_factor", &[]).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let code = self.totp_code(id, 0).await;
        let done = self
            .call(&browser, "/api/admin_two_factor_enrol", &[("code", &code)])
            .await;
        assert_eq!(done.status, 200, "enrol {email}: {}", done.body);
        (browser, id)
    }

    /// The token of the link that finishes `email`'s registration, from the outbox (the
    /// event worker sends it; waits up to 10 s). With `take`, the e-mail is removed.
    pub async fn registration_token(&self, email: &str, take: bool) -> String {
        let to = format!("To: {}", email.to_lowercase());
        let marker = "/register/confirm?token=";
        for _ in 0..100 {
            let files = std::fs::read_dir(&self.outbox)
                .map(|d| {
                    d.filter_map(Result::ok)
                        .map(|e| e.path())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            for file in files {
                let mail = decode_qp(&std::fs::read_to_string(&file).unwrap_or_default());
                if let (true, Some(at)) = (mail.contains(&to), mail.find(marker)) {
                    if take {
                        let _ = std::fs::remove_file(&file);
                    }
                    return mail[at + marker.len()..]
                        .chars()
                        .take_while(char::is_ascii_hexdigit)
                        .collect();
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "no registration e-mail to {email} in {}",
            self.outbox.display()
        );
    }

    /// The first e-mail in the outbox containing `needle` (waits up to 10 s).
    pub async fn outbox_message_with(&self, needle: &str) -> String {
        for _ in 0..100 {
            let found = std::fs::read_dir(&self.outbox)
                .map(|d| {
                    d.filter_map(Result::ok)
                        .map(|e| e.path())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
                .into_iter()
                .map(|f| decode_qp(&std::fs::read_to_string(f).unwrap_or_default()))
                .find(|m| m.contains(needle));
            if let Some(mail) = found {
                return mail;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("no e-mail with {needle:?} in {}", self.outbox.display());
    }

    /// The e-mails in the outbox, oldest first, as raw text with quoted-printable soft
    /// line breaks undone. Waits up to 5 s for `at_least` of them (they are sent in the
    /// background).
    pub async fn outbox_messages(&self, at_least: usize) -> Vec<String> {
        for _ in 0..50 {
            let mut files: Vec<_> = std::fs::read_dir(&self.outbox)
                .map(|d| {
                    d.filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                        .collect()
                })
                .unwrap_or_default();
            if files.len() >= at_least {
                files.sort();
                return files
                    .iter()
                    .map(|f| decode_qp(&std::fs::read_to_string(f).expect("read eml")))
                    .collect();
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "fewer than {at_least} e-mails arrived in {}",
            self.outbox.display()
        );
    }

    pub async fn get(&self, path: &str) -> Page {
        self.get_with(path, &[]).await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Page {
        let mut req = self.client.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await.unwrap_or_default();
        Page {
            status,
            headers,
            body,
        }
    }
}

impl Page {
    pub async fn read(resp: reqwest::Response) -> Self {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await.unwrap_or_default();
        Page {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The value of the session cookie this response sets, if any ("" when it removes it).
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix("emporium_session="))
            .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
    }

    /// Texts of elements carrying `data-testid="{id}"`, with inner tags stripped.
    pub fn texts(&self, id: &str) -> Vec<String> {
        let marker = format!("data-testid=\"{id}\"");
        self.body
            .match_indices(&marker)
            .filter_map(|(i, _)| {
                let rest = &self.body[i..];
                let start = rest.find('>')? + 1;
                let end = rest[start..].find("</")? + start;
                Some(strip_tags(&rest[start..end]))
            })
            .collect()
    }

    /// Whole elements carrying `data-testid="{id}"` (up to `end`), as text without tags.
    pub fn blocks(&self, id: &str, end: &str) -> Vec<String> {
        let marker = format!("data-testid=\"{id}\"");
        self.body
            .split(&marker)
            .skip(1)
            .map(|chunk| {
                let inner = chunk.split_once('>').map_or("", |(_, rest)| rest);
                strip_tags(inner.split(end).next().unwrap_or_default())
            })
            .collect()
    }

    /// Product slugs linked from product cards, in page order.
    pub fn card_slugs(&self) -> Vec<String> {
        self.body
            .split("data-testid=\"product-card\"")
            .skip(1)
            .filter_map(|chunk| {
                let i = chunk.find("href=\"/p/")? + 9;
                let j = chunk[i..].find('"')? + i;
                Some(chunk[i..j].to_owned())
            })
            .collect()
    }

    /// Card prices in cents, in page order.
    pub fn card_prices(&self) -> Vec<i64> {
        self.texts("card-price").iter().map(|t| cents(t)).collect()
    }
}

/// Undoes quoted-printable encoding (soft line breaks and `=XX` escapes).
pub fn decode_qp(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = |b: u8| char::from(b).to_digit(16);
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("<!>", "").trim().to_owned()
}

/// "$1,234.56" or "From $12.00" in cents.
pub fn cents(text: &str) -> i64 {
    let digits: String = text
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let digits = digits.trim_start_matches('.');
    let (major, minor) = digits.split_once('.').unwrap_or((digits, "0"));
    major.parse::<i64>().expect("price") * 100 + minor.parse::<i64>().expect("cents")
}

/// The idempotency key the checkout page rendered into its form.
pub fn idempotency_key(body: &str) -> String {
    let marker = r#"name="idempotency_key" value=""#;
    let at = body.find(marker).expect("key field") + marker.len();
    body[at..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect()
}

pub fn checkout_form(key: &str) -> Vec<(&str, &str)> {
    vec![
        ("idempotency_key", key),
        ("email", "guest@example.com"),
        ("full_name", "Gus Guest"),
        ("line1", "9 Elm Row"),
        ("city", "Leeds"),
        ("postal_code", "LS1 1AA"),
        ("country", "GB"),
        ("shipping", "standard"),
        ("payment", "bank_transfer"),
    ]
}
