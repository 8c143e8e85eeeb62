-- Catalog: a category tree, products, their variants, images and attributes.

CREATE TABLE categories (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_id   BIGINT REFERENCES categories (id) ON DELETE RESTRICT,
    slug        TEXT NOT NULL CONSTRAINT categories_slug_key UNIQUE
                CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 120),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description TEXT NOT NULL DEFAULT '',
    image_url   TEXT NOT NULL DEFAULT '',
    position    INT NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (parent_id IS DISTINCT FROM id)
);
CREATE INDEX categories_parent_idx ON categories (parent_id, position);

CREATE TABLE products (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    category_id  BIGINT NOT NULL REFERENCES categories (id) ON DELETE RESTRICT,
    slug         TEXT NOT NULL CONSTRAINT products_slug_key UNIQUE
                 CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 120),
    name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description  TEXT NOT NULL DEFAULT '',
    brand        TEXT NOT NULL DEFAULT '',
    -- Names of the options that tell variants apart, e.g. {Colour,Size}.
    option_names TEXT[] NOT NULL DEFAULT '{}',
    published    BOOLEAN NOT NULL DEFAULT FALSE,
    featured     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX products_category_idx ON products (category_id) WHERE published;
CREATE INDEX products_created_idx ON products (created_at DESC) WHERE published;

CREATE TABLE variants (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id     BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    sku            TEXT NOT NULL CONSTRAINT variants_sku_key UNIQUE
                   CHECK (sku ~ '^[A-Z0-9]+(-[A-Z0-9]+)*$' AND length(sku) <= 64),
    -- Values aligned with products.option_names.
    option_values  TEXT[] NOT NULL DEFAULT '{}',
    price_minor    BIGINT NOT NULL CHECK (price_minor >= 0),
    currency       CHAR(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    stock_on_hand  INT NOT NULL DEFAULT 0 CONSTRAINT variants_stock_non_negative CHECK (stock_on_hand >= 0),
    position       INT NOT NULL DEFAULT 0,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX variants_product_idx ON variants (product_id, position);

CREATE TABLE product_images (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id  BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    url         TEXT NOT NULL,
    alt         TEXT NOT NULL DEFAULT '',
    position    INT NOT NULL DEFAULT 0
);
CREATE INDEX product_images_product_idx ON product_images (product_id, position);

CREATE TABLE product_attributes (
    product_id  BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    value       TEXT NOT NULL,
    position    INT NOT NULL DEFAULT 0,
    PRIMARY KEY (product_id, name)
);

-- Listing reads need each product's lowest price and whether any variant has stock; a
-- view keeps that SQL in one place.
CREATE VIEW product_summaries AS
SELECT p.id,
       p.category_id,
       p.slug,
       p.name,
       p.featured,
       p.created_at,
       p.published,
       v.min_price,
       v.max_price,
       v.currency,
       v.in_stock
FROM products p
JOIN LATERAL (
    SELECT min(price_minor) AS min_price,
           max(price_minor) AS max_price,
           min(currency)    AS currency,
           bool_or(stock_on_hand > 0) AS in_stock
    FROM variants WHERE product_id = p.id
) v ON v.min_price IS NOT NULL;
