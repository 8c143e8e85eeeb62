-- Uploaded product images: where their files are kept and at which widths, and the option
-- value (a colour, say) an image shows.

ALTER TABLE product_images
    -- The store's folder of an uploaded image's files (`products/12/0a1b…`); NULL for the
    -- demo catalog's drawn images.
    ADD COLUMN storage_key  TEXT UNIQUE,
    ADD COLUMN widths       INT[] NOT NULL DEFAULT '{}',
    ADD COLUMN option_value TEXT CHECK (length(option_value) <= 40),
    ADD COLUMN created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD CONSTRAINT product_images_alt_length CHECK (length(alt) <= 300);
