-- CSV import and export of the catalog in Shopify's product CSV format: a product's tags,
-- where an imported image came from, each import run with its report and progress, and
-- the products a file has already written (so running the same file again finishes what
-- is missing and changes nothing else).

ALTER TABLE products
    ADD COLUMN tags TEXT[] NOT NULL DEFAULT '{}';

ALTER TABLE product_images
    -- The address an imported image was fetched from: the same file run again, or a file
    -- exported elsewhere with it, finds the image and does not fetch it twice.
    ADD COLUMN source_url TEXT CHECK (length(source_url) <= 2000);
CREATE UNIQUE INDEX product_images_source_idx ON product_images (product_id, source_url)
    WHERE source_url IS NOT NULL;

CREATE TABLE catalog_imports (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- SHA-256 of the file, in hex.
    file_sha256   TEXT NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    file_name     TEXT NOT NULL DEFAULT '' CHECK (length(file_name) <= 255),
    -- The file itself while it waits to be applied from the admin; NULL once applied.
    file          BYTEA,
    rows          INT NOT NULL CHECK (rows >= 0),
    state         TEXT NOT NULL CHECK (state IN ('checked', 'applying', 'applied', 'failed')),
    fetch_images  BOOLEAN NOT NULL DEFAULT FALSE,
    batches_total INT NOT NULL DEFAULT 0,
    batches_done  INT NOT NULL DEFAULT 0,
    -- The dry run's report, then the apply's.
    report        JSONB NOT NULL,
    error         TEXT NOT NULL DEFAULT '',
    created_by    BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX catalog_imports_recent_idx ON catalog_imports (id DESC);

-- A product a file has written, in the same transaction as the writes: running the file
-- again leaves it alone (whatever orders or staff changed since).
CREATE TABLE catalog_import_products (
    file_sha256 TEXT NOT NULL,
    product_id  BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    PRIMARY KEY (file_sha256, product_id)
);
CREATE INDEX catalog_import_products_product_idx ON catalog_import_products (product_id);
