//! Command line of the Emporium server.

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use server::config::Config;
use server::{connect_postgres, connect_redis, telemetry, Application};
use services::catalog::seed;
use services::CatalogService;
use std::process::ExitCode;

/// mimalloc instead of the system allocator: a page render makes thousands of small
/// allocations, and with glibc's malloc they took about 40% of the render's CPU time
/// (perf, category page with the page cache off).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "server", about = "Emporium: an e-commerce server")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database and serve the shop (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load the demo catalog; running it again adds only what is missing.
    Seed {
        /// Number of products to generate.
        #[arg(long, default_value_t = seed::DEFAULT_PRODUCT_COUNT)]
        products: usize,
    },
    /// Rebuild the search index from PostgreSQL.
    Reindex,
    /// Check that every variant's stock on hand is the sum of its stock movements (exits
    /// with 1, listing them, when one is not).
    CheckStock,
    /// Check a Shopify product CSV and tell what importing it would do (nothing is
    /// written without --apply).
    Import {
        /// The CSV file (Shopify's product format).
        file: std::path::PathBuf,
        /// Write it: one transaction up to 10,000 rows, else batches of 1,000.
        #[arg(long)]
        apply: bool,
        /// Fetch the images its Image Src columns name (otherwise they are listed).
        #[arg(long)]
        fetch_images: bool,
    },
    /// Write the whole catalog as a Shopify product CSV.
    Export {
        /// Where to write it ("-" for standard output).
        file: std::path::PathBuf,
    },
    /// Make an account an owner (every admin right), creating it if needed.
    CreateAdmin {
        /// E-mail address of the account.
        #[arg(long)]
        email: String,
        /// Read the password for a new account from standard input (otherwise
        /// ADMIN_PASSWORD, otherwise a random one is generated and printed once).
        #[arg(long)]
        password_stdin: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    let result = match Cli::parse().command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => migrate(config).await,
        Command::Seed { products } => load_seed(config, products).await,
        Command::Reindex => reindex(config).await,
        Command::CheckStock => check_stock(config).await,
        Command::Import {
            file,
            apply,
            fetch_images,
        } => import(config, &file, apply, fetch_images).await,
        Command::Export { file } => export(config, &file).await,
        Command::CreateAdmin {
            email,
            password_stdin,
        } => create_admin(config, &email, password_stdin).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let public_url = config.public_url.clone();
    let app = Application::build(config).await?;
    tracing::info!(url = %public_url, "Emporium is serving");
    println!("Emporium is running at {public_url}  (Ctrl-C to stop)");
    println!("{}", app.services().auth.mailer().describe());
    app.run_until_stopped().await?;
    Ok(())
}

async fn create_admin(config: Config, email: &str, password_stdin: bool) -> anyhow::Result<()> {
    let pool = connect_postgres(&config).await?;
    services::MIGRATOR.run(&pool).await?;
    let redis = connect_redis(&config).await?;
    let signer = services::signing::Signer::load(&pool, config.secret_key.as_deref()).await?;
    let auth = server::auth_service(&config, pool, redis, signer)?;
    let (password, generated) = if password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        (line.trim_end_matches(['\r', '\n']).to_owned(), false)
    } else if let Ok(p) = std::env::var("ADMIN_PASSWORD") {
        (p, false)
    } else {
        (services::random::hex(12)?, true)
    };
    match auth.create_or_promote_owner(email, Some(&password)).await {
        Ok(true) if generated => println!(
            "created the owner {email} with the password {password}\n(shown once: change it under /account after signing in; /admin asks to set up two-factor sign-in first)"
        ),
        Ok(true) => println!("created the owner {email}"),
        Ok(false) => println!("{email} is now an owner (its password is unchanged)"),
        Err(e) => anyhow::bail!("{e}"),
    }
    Ok(())
}

async fn check_stock(config: Config) -> anyhow::Result<()> {
    let pool = connect_postgres(&config).await?;
    services::MIGRATOR.run(&pool).await?;
    let (checked, wrong) = services::stock::check(&pool).await?;
    for m in &wrong {
        println!(
            "{}: {} on hand, its movements add up to {}",
            m.sku, m.on_hand, m.movements
        );
    }
    if wrong.is_empty() {
        println!(
            "{checked} variants checked: each one's stock on hand is the sum of its movements"
        );
        Ok(())
    } else {
        anyhow::bail!(
            "{} of {checked} variants differ from their movements",
            wrong.len()
        )
    }
}

async fn import(
    config: Config,
    file: &std::path::Path,
    apply: bool,
    fetch_images: bool,
) -> anyhow::Result<()> {
    use services::catalog::{ImageFetching, ImportOptions};
    let size = std::fs::metadata(file)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
        .len();
    if size > domain::import::MAX_FILE_BYTES as u64 {
        anyhow::bail!(
            "{} is {} MB: an import file is at most {} MB",
            file.display(),
            size / 1_048_576,
            domain::import::MAX_FILE_BYTES / 1_048_576
        );
    }
    let bytes = std::fs::read(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let pool = connect_postgres(&config).await?;
    services::MIGRATOR.run(&pool).await?;
    let catalog = CatalogService::new(pool, config.currency);
    let store = if fetch_images {
        Some(server::media_store(&config)?)
    } else {
        None
    };
    let options = ImportOptions {
        public_url: &config.public_url,
        images: store.as_ref().map(|store| ImageFetching {
            store,
            policy: config.import_fetch.clone(),
        }),
        batching: services::catalog::Batching::default(),
    };
    let actor = services::audit::Actor::command_line();
    let started = std::time::Instant::now();
    let report = if apply {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "importing {bar:40.cyan/blue} {pos}/{len} batches ({elapsed})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let shown = bar.clone();
        let progress = move |done: usize, total: usize| {
            shown.set_length(total as u64);
            shown.set_position(done as u64);
        };
        let report = catalog
            .import_apply(&actor, &bytes, &options, &progress)
            .await?;
        bar.finish_and_clear();
        report
    } else {
        catalog.import_dry_run(&actor, &bytes, &options).await?
    };
    let seconds = started.elapsed().as_secs_f64();
    for p in &report.problems {
        println!("{p}");
    }
    if report.more_problems > 0 {
        println!("… and {} more bad rows", report.more_problems);
    }
    for p in report.planned.iter().filter(|p| !p.changes.is_empty()) {
        println!(
            "{} ({}): {}",
            p.handle,
            p.outcome.label(),
            p.changes.join("; ")
        );
    }
    for c in &report.new_categories {
        println!("new category: {c}");
    }
    for i in &report.images_to_upload {
        println!(
            "image to upload, line {} ({}): {} ({})",
            i.line, i.handle, i.url, i.reason
        );
    }
    println!("{}", report.summary());
    println!(
        "{} rows in {seconds:.2} s ({:.0} rows/s){}",
        report.rows,
        report.rows as f64 / seconds.max(1e-9),
        if report.applied {
            format!(
                ", {} batches, {} images fetched",
                report.batches, report.images_fetched
            )
        } else if report.has_problems() {
            String::new()
        } else {
            "; nothing written (add --apply)".to_owned()
        }
    );
    if report.has_problems() {
        anyhow::bail!(
            "{} bad rows: fix them, then import the file again",
            report.problems.len() + report.more_problems
        );
    }
    Ok(())
}

async fn export(config: Config, file: &std::path::Path) -> anyhow::Result<()> {
    let pool = connect_postgres(&config).await?;
    services::MIGRATOR.run(&pool).await?;
    let catalog = CatalogService::new(pool, config.currency);
    let bytes = catalog
        .export_csv(&services::audit::Actor::command_line(), &config.public_url)
        .await?;
    if file.as_os_str() == "-" {
        use std::io::Write as _;
        std::io::stdout().write_all(&bytes)?;
    } else {
        std::fs::write(file, &bytes).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        eprintln!("wrote {} ({} bytes)", file.display(), bytes.len());
    }
    Ok(())
}

async fn reindex(config: Config) -> anyhow::Result<()> {
    let pool = connect_postgres(&config).await?;
    services::MIGRATOR.run(&pool).await?;
    let catalog = CatalogService::new(pool.clone(), config.currency);
    let search =
        services::search::SearchService::new(&catalog, pool, server::search_engine(&config).await?);
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "indexing {bar:40.cyan/blue} {pos}/{len} products ({elapsed})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let shown = bar.clone();
    let started = std::time::Instant::now();
    let n = search
        .reindex_with_progress(std::sync::Arc::new(move |done, total| {
            shown.set_length(total as u64);
            shown.set_position(done as u64);
        }))
        .await?;
    bar.finish();
    let place = match &config.meili_url {
        Some(url) => format!(
            "Meilisearch index {:?} at {}",
            config.meili_index,
            server::config::redact_url(url)
        ),
        None => config.search_index_dir.display().to_string(),
    };
    println!(
        "search index rebuilt: {n} products in {:.1} s ({place})",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let pool = connect_postgres(&config).await?;
    services::MIGRATOR.run(&pool).await?;
    println!("database is up to date");
    Ok(())
}

async fn load_seed(config: Config, products: usize) -> anyhow::Result<()> {
    let pool = connect_postgres(&config).await?;
    services::MIGRATOR.run(&pool).await?;
    let catalog = CatalogService::new(pool, config.currency);
    let data = seed::generate(products);
    let bar = ProgressBar::new(data.products.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("seeding {bar:40.cyan/blue} {pos}/{len} products ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = catalog
        .load_seed(&data, config.currency, |done, _total| {
            bar.set_position(done as u64)
        })
        .await?;
    bar.finish();
    println!(
        "demo catalog: {} categories and {} products created, {} products already present",
        report.categories_created, report.products_created, report.products_skipped
    );
    Ok(())
}
