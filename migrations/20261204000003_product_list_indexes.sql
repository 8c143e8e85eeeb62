-- Each sort of the admin's product list within one category: the list filtered by a
-- category reads one ordered index scan per category (merged), never the whole order.

CREATE INDEX products_category_name_idx ON products (category_id, name, id);
CREATE INDEX products_category_created_idx ON products (category_id, created_at DESC, id DESC);
CREATE INDEX products_category_updated_idx ON products (category_id, updated_at DESC, id DESC);
DROP INDEX products_category_all_idx;
