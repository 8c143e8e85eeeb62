-- Catalog editing in the admin: versions for optimistic concurrency, archived products and
-- variants, SEO fields, variant details, slug redirects, a category tree that cannot loop,
-- and the indexes the admin's product list needs at 100,000 products.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE products
    -- Moves on with every write to the product or its variants; a save made from an
    -- older version is refused.
    ADD COLUMN version         BIGINT NOT NULL DEFAULT 1,
    ADD COLUMN archived_at     TIMESTAMPTZ,
    ADD COLUMN seo_title       TEXT NOT NULL DEFAULT '' CHECK (length(seo_title) <= 200),
    ADD COLUMN seo_description TEXT NOT NULL DEFAULT '' CHECK (length(seo_description) <= 500),
    ADD COLUMN updated_by      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    ADD CONSTRAINT products_archived_not_published CHECK (archived_at IS NULL OR NOT published);

ALTER TABLE variants
    ADD COLUMN compare_at_minor BIGINT CHECK (compare_at_minor >= 0),
    ADD COLUMN weight_grams     INT CHECK (weight_grams BETWEEN 0 AND 1000000),
    ADD COLUMN barcode          TEXT NOT NULL DEFAULT '' CHECK (barcode ~ '^[0-9A-Za-z-]{0,40}$'),
    -- Its option value was removed while orders referred to it: kept, not on sale.
    ADD COLUMN archived_at      TIMESTAMPTZ;

-- A variant that an order refers to is never deleted (it is archived instead), so an
-- order's lines always lead to what was bought.
ALTER TABLE order_lines DROP CONSTRAINT order_lines_variant_id_fkey,
    ADD CONSTRAINT order_lines_variant_id_fkey FOREIGN KEY (variant_id)
        REFERENCES variants (id) ON DELETE RESTRICT;

-- Old URLs of products and categories whose slug changed: answered with a 301 to the
-- current one (while no live product or category has the old slug again).
CREATE TABLE slug_redirects (
    kind        TEXT NOT NULL CHECK (kind IN ('product', 'category')),
    old_slug    TEXT NOT NULL,
    product_id  BIGINT REFERENCES products (id) ON DELETE CASCADE,
    category_id BIGINT REFERENCES categories (id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, old_slug),
    CHECK ((kind = 'product') = (product_id IS NOT NULL)
       AND (kind = 'category') = (category_id IS NOT NULL))
);
CREATE INDEX slug_redirects_product_idx ON slug_redirects (product_id);
CREATE INDEX slug_redirects_category_idx ON slug_redirects (category_id);

-- A category can never be moved under itself or one of its own subcategories, whatever
-- writes it. Moves take one lock, so two moves that each look fine alone (A under B, B
-- under A) cannot both commit: the second one runs its check after the first commits.
CREATE FUNCTION categories_refuse_loop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.parent_id IS NULL THEN
        RETURN NEW;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('categories.tree'));
    IF EXISTS (
        WITH RECURSIVE up (id) AS (
            SELECT NEW.parent_id
            UNION
            SELECT c.parent_id FROM categories c JOIN up ON c.id = up.id
            WHERE c.parent_id IS NOT NULL
        )
        SELECT 1 FROM up WHERE up.id = NEW.id
    ) THEN
        RAISE EXCEPTION 'a category cannot be moved under itself or one of its subcategories'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'categories_no_loop';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER categories_no_loop
    BEFORE INSERT OR UPDATE OF parent_id ON categories
    FOR EACH ROW EXECUTE FUNCTION categories_refuse_loop();

-- The product list: recently updated, by name, by creation; any category; name search.
CREATE INDEX products_updated_idx ON products (updated_at DESC, id DESC);
CREATE INDEX products_name_idx ON products (name, id);
CREATE INDEX products_created_all_idx ON products (created_at DESC, id DESC);
CREATE INDEX products_category_all_idx ON products (category_id, updated_at DESC);
CREATE INDEX products_name_trgm_idx ON products USING gin (lower(name) gin_trgm_ops);
CREATE INDEX variants_sku_prefix_idx ON variants (sku text_pattern_ops);
CREATE INDEX variants_on_sale_stock_idx ON variants (product_id)
    WHERE stock_on_hand > 0 AND archived_at IS NULL;

-- What shoppers see leaves archived variants out.
CREATE OR REPLACE VIEW product_summaries AS
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
    FROM variants WHERE product_id = p.id AND archived_at IS NULL
) v ON v.min_price IS NOT NULL;
