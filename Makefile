# The two commands: `make run` serves the shop with demo data, `make test` runs every check.
# Both install what is missing and start a local PostgreSQL and Redis on first use.
.PHONY: run test services stop e2e bench bench-checkout bench-search bench-webhooks bench-admin-products bench-import bench-orders audit

run:
	@scripts/run.sh

test:
	@scripts/test.sh

# Start or stop the project-local PostgreSQL and Redis.
services:
	@scripts/services.sh start

stop:
	@scripts/services.sh stop
	@scripts/localstripe.sh stop
	@scripts/moto.sh stop

# Only the Playwright suite (builds and serves the site itself).
e2e:
	@scripts/services.sh start --ephemeral && scripts/e2e.sh

# Release build, demo catalog and load generator; prints req/s and latency.
bench:
	@bench/run.sh

# Orders per second and latency of placing orders (distinct SKUs, one hot SKU).
bench-checkout:
	@bench/checkout.sh

# Stripe webhook ingestion: verified, stored, deduplicated and processed events per second.
bench-webhooks:
	@bench/webhooks.sh

# Indexing time and query latency of the embedded search engine on 100,000 products.
bench-search:
	@bench/search.sh

# Server time of the admin's product list at 100,000 products (filtered, sorted, page 50).
bench-admin-products:
	@bench/admin-products.sh

# Server time of the admin's order list at 1,000,000 orders (filtered, sorted, page 100).
bench-orders:
	@bench/orders.sh

# Rows per second of a 10,000-row Shopify CSV import: dry run, apply, the same file again.
bench-import:
	@bench/import.sh

# Lighthouse (mobile) on home, category, product, search and cart of the release build.
audit:
	@bench/audit.sh
