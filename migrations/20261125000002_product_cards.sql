-- One definition of what a product card shows (used by the home page and listings):
-- the product summary, its category's name and its first image.
CREATE VIEW product_cards AS
SELECT s.id,
       s.category_id,
       s.slug,
       s.name,
       c.name AS category,
       s.min_price,
       s.max_price,
       s.currency,
       s.in_stock,
       s.featured,
       s.published,
       s.created_at,
       img.url AS image_url,
       img.alt AS image_alt
FROM product_summaries s
JOIN categories c ON c.id = s.category_id
LEFT JOIN LATERAL (
    SELECT url, alt FROM product_images i
    WHERE i.product_id = s.id
    ORDER BY position, id
    LIMIT 1
) img ON TRUE;
