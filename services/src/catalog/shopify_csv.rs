//! Shopify's product CSV format, read and written: one row per variant, the product's own
//! fields on its first row, further images on rows of their own. Reading checks every
//! field and tells each bad row by its line and column; nothing here touches the database
//! (see [`super::import`] for what a file does to the catalog).

use domain::import::RowProblem;
use domain::product_admin::{check_sku, MAX_VARIANTS};
use domain::{Currency, Money, Slug};
use std::collections::HashMap;

/// The columns written on export, in Shopify's order. Reading finds columns by name, in
/// any order, and ignores the ones it does not use.
pub const COLUMNS: &[&str] = &[
    "Handle",
    "Title",
    "Body (HTML)",
    "Vendor",
    "Type",
    "Tags",
    "Published",
    "Option1 Name",
    "Option1 Value",
    "Option2 Name",
    "Option2 Value",
    "Option3 Name",
    "Option3 Value",
    "Variant SKU",
    "Variant Grams",
    "Variant Inventory Tracker",
    "Variant Inventory Qty",
    "Variant Inventory Policy",
    "Variant Fulfillment Service",
    "Variant Price",
    "Variant Compare At Price",
    "Variant Requires Shipping",
    "Variant Taxable",
    "Variant Barcode",
    "Image Src",
    "Image Position",
    "Image Alt Text",
    "Gift Card",
    "SEO Title",
    "SEO Description",
    "Variant Weight Unit",
    "Status",
];

/// The most stock a row may give a variant.
const MAX_STOCK: i64 = 1_000_000_000;

/// A product with no options has one variant, which Shopify names by this option.
const NO_OPTION_NAME: &str = "Title";
const NO_OPTION_VALUE: &str = "Default Title";

/// Shopify's product status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Draft,
    Archived,
}

/// A product as the file gives it, every field checked.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvProduct {
    /// The line of the product's first row.
    pub line: u64,
    pub handle: String,
    pub title: String,
    /// As the file gives it; sanitised when written.
    pub body_html: String,
    pub vendor: String,
    /// The category path (`Clothing > Shirts`); empty when the file leaves `Type` empty.
    pub category_path: Vec<String>,
    pub tags: Vec<String>,
    pub published: bool,
    pub status: Status,
    pub option_names: Vec<String>,
    pub variants: Vec<CsvVariant>,
    pub images: Vec<CsvImage>,
    pub seo_title: String,
    pub seo_description: String,
    /// Rows of the file the product takes.
    pub rows: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CsvVariant {
    pub line: u64,
    /// `None`: the file leaves it empty (matched by option values, else one is made).
    pub sku: Option<String>,
    pub option_values: Vec<String>,
    pub grams: Option<i32>,
    /// `None`: the file leaves it empty (the stock is left as it is).
    pub stock: Option<i32>,
    pub price: Money,
    pub compare_at: Option<Money>,
    pub barcode: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvImage {
    pub line: u64,
    pub src: String,
    pub alt: String,
    pub position: Option<i32>,
}

/// What a file reads as: its products and every bad row.
#[derive(Debug, Default)]
pub struct Parsed {
    pub rows: usize,
    pub products: Vec<CsvProduct>,
    pub problems: Vec<RowProblem>,
    /// The columns of [`KEPT_WHEN_ABSENT`] the file does not have: an existing product
    /// keeps what it has for them.
    pub absent: Vec<&'static str>,
}

/// Columns whose absence from a file leaves an existing product's value as it is (a file
/// of handles, SKUs and prices updates just those).
pub const KEPT_WHEN_ABSENT: &[&str] = &[
    "Body (HTML)",
    "Vendor",
    "Tags",
    "Published",
    "Status",
    "SEO Title",
    "SEO Description",
    "Variant Compare At Price",
    "Variant Barcode",
    "Image Alt Text",
];

/// A data row: its line and its fields.
type Row = (u64, Vec<String>);

/// The columns this reader uses, by their index in the file.
struct Columns(HashMap<&'static str, usize>);

impl Columns {
    /// Whether the file has the column.
    fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// The field as it is, spaces kept (a description's own).
    fn raw<'r>(&self, row: &'r [String], name: &str) -> &'r str {
        self.0
            .get(name)
            .and_then(|&i| row.get(i))
            .map_or("", String::as_str)
    }

    fn get<'r>(&self, row: &'r [String], name: &str) -> &'r str {
        self.0
            .get(name)
            .and_then(|&i| row.get(i))
            .map(|s| s.trim())
            .unwrap_or("")
    }
}

/// Reads a whole file. Bad rows are reported and left out; a product with a bad row is
/// left out whole, so nothing of it is half-imported.
pub fn parse(bytes: &[u8], currency: Currency) -> Parsed {
    let mut out = Parsed::default();
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        out.problems.push(RowProblem::new(
            1,
            "",
            "The file is UTF-16 text: save it as CSV UTF-8 and import it again.",
        ));
        return out;
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = reader.byte_records();
    let header: Vec<String> = match records.next() {
        Some(Ok(h)) => match h
            .iter()
            .map(|f| std::str::from_utf8(f).map(|s| s.trim().to_owned()))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(h) => h,
            Err(_) => {
                out.problems.push(RowProblem::new(
                    1,
                    "",
                    "The header row is not UTF-8 text: save the file as CSV UTF-8.",
                ));
                return out;
            }
        },
        Some(Err(e)) => {
            out.problems
                .push(RowProblem::new(1, "", format!("The header row: {e}.")));
            return out;
        }
        None => {
            out.problems.push(RowProblem::new(
                1,
                "",
                "The file is empty: it needs a header row.",
            ));
            return out;
        }
    };
    let mut columns = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        if let Some(known) = COLUMNS.iter().find(|c| c.eq_ignore_ascii_case(name)) {
            columns.entry(*known).or_insert(i);
        }
    }
    if !columns.contains_key("Handle") {
        out.problems.push(RowProblem::new(
            1,
            "Handle",
            "The header has no Handle column: is this a Shopify product CSV?",
        ));
        return out;
    }
    let columns = Columns(columns);
    out.absent = KEPT_WHEN_ABSENT
        .iter()
        .copied()
        .filter(|c| !columns.has(c))
        .collect();

    // Rows grouped by handle, in the order each handle first appears.
    let mut groups: Vec<(String, Vec<Row>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut next_line = 2u64;
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(next_line, |p| p.line());
                out.rows += 1;
                out.problems.push(RowProblem::new(
                    line,
                    "",
                    format!("This row cannot be read ({e}): check its quotes."),
                ));
                continue;
            }
        };
        let line = record.position().map_or(next_line, |p| p.line());
        next_line = line + 1;
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        out.rows += 1;
        if record.len() != header.len() {
            out.problems.push(RowProblem::new(
                line,
                "",
                format!(
                    "This row has {} fields where the header has {}: a quote is probably missing or one too many.",
                    record.len(),
                    header.len()
                ),
            ));
            // The row's handle is unreliable; the rows of its product may be fine.
            continue;
        }
        let mut row = Vec::with_capacity(record.len());
        let mut readable = true;
        for (i, field) in record.iter().enumerate() {
            match std::str::from_utf8(field) {
                // Nothing the shop keeps holds them (PostgreSQL refuses NUL in text), and
                // the message does not repeat the field.
                Ok(s) if domain::text::has_control_chars(s) => {
                    out.problems.push(RowProblem::new(
                        line,
                        &header[i],
                        "This field holds a control character (such as NUL): remove it.",
                    ));
                    readable = false;
                    break;
                }
                Ok(s) => row.push(s.to_owned()),
                Err(_) => {
                    out.problems.push(RowProblem::new(
                        line,
                        &header[i],
                        "This field is not UTF-8 text: save the file as CSV UTF-8.",
                    ));
                    readable = false;
                    break;
                }
            }
        }
        let handle = if readable {
            columns.get(&row, "Handle").to_owned()
        } else {
            String::new()
        };
        if !readable {
            continue;
        }
        if handle.is_empty() {
            out.problems
                .push(RowProblem::new(line, "Handle", "Every row needs a Handle."));
            continue;
        }
        match index.get(&handle) {
            Some(&i) => groups[i].1.push((line, row)),
            None => {
                index.insert(handle.clone(), groups.len());
                groups.push((handle, vec![(line, row)]));
            }
        }
    }
    let mut seen_skus: HashMap<String, u64> = HashMap::new();
    for (handle, rows) in groups {
        let before = out.problems.len();
        let product = read_product(
            &columns,
            &handle,
            &rows,
            currency,
            &mut seen_skus,
            &mut out.problems,
        );
        if let Some(p) = product.filter(|_| out.problems.len() == before) {
            out.products.push(p);
        }
    }
    out
}

/// `Published`: TRUE, FALSE or empty.
fn boolean(text: &str) -> Result<Option<bool>, ()> {
    match text.to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "true" | "yes" | "1" => Ok(Some(true)),
        "false" | "no" | "0" => Ok(Some(false)),
        _ => Err(()),
    }
}

fn too_long(text: &str, max: usize) -> bool {
    text.chars().count() > max
}

/// A price column: an amount such as 19.90, never negative.
fn amount(text: &str, currency: Currency) -> Result<Money, String> {
    if text.starts_with('-') {
        return Err("A price cannot be negative.".into());
    }
    Money::parse_major(text, currency).map_err(|_| {
        format!(
            "“{text}” is not an amount: write it as digits with at most {} decimals, such as 19.90.",
            currency.exponent()
        )
    })
}

/// A whole number column (Shopify writes some as `12.0`).
fn whole(text: &str) -> Option<i64> {
    let t = text.strip_suffix(".0").unwrap_or(text);
    t.parse::<i64>().ok()
}

fn read_product(
    c: &Columns,
    handle: &str,
    rows: &[Row],
    currency: Currency,
    seen_skus: &mut HashMap<String, u64>,
    problems: &mut Vec<RowProblem>,
) -> Option<CsvProduct> {
    let (first_line, first) = (&rows[0].0, &rows[0].1);
    let line = *first_line;
    let mut bad = |line: u64, column: &str, message: String| {
        problems.push(RowProblem::new(line, column, message));
    };
    if let Err(e) = Slug::parse(handle) {
        bad(
            line,
            "Handle",
            format!("“{handle}” cannot be a web address: {e}."),
        );
    }
    let title = c.get(first, "Title").to_owned();
    if title.is_empty() {
        bad(line, "Title", "A product's first row needs a Title.".into());
    } else if too_long(&title, 200) {
        bad(line, "Title", "A title is at most 200 characters.".into());
    }
    let vendor = c.get(first, "Vendor").to_owned();
    if too_long(&vendor, 100) {
        bad(line, "Vendor", "A vendor is at most 100 characters.".into());
    }
    let category_path: Vec<String> = c
        .get(first, "Type")
        .split('>')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if category_path.iter().any(|s| too_long(s, 200)) || category_path.len() > 8 {
        bad(
            line,
            "Type",
            "A category path has at most 8 levels of at most 200 characters.".into(),
        );
    }
    let tags: Vec<String> = c
        .get(first, "Tags")
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if tags.len() > 100 || tags.iter().any(|t| too_long(t, 100)) {
        bad(
            line,
            "Tags",
            "At most 100 tags of at most 100 characters each.".into(),
        );
    }
    let published = match boolean(c.get(first, "Published")) {
        Ok(p) => p,
        Err(()) => {
            bad(line, "Published", "Write TRUE or FALSE.".into());
            None
        }
    };
    let status = match c.get(first, "Status").to_ascii_lowercase().as_str() {
        "" | "active" => Status::Active,
        "draft" => Status::Draft,
        "archived" => Status::Archived,
        other => {
            bad(
                line,
                "Status",
                format!("“{other}” is not a status: write active, draft or archived."),
            );
            Status::Draft
        }
    };
    let seo_title = c.get(first, "SEO Title").to_owned();
    if too_long(&seo_title, 200) {
        bad(
            line,
            "SEO Title",
            "An SEO title is at most 200 characters.".into(),
        );
    }
    let seo_description = c.get(first, "SEO Description").to_owned();
    if too_long(&seo_description, 500) {
        bad(
            line,
            "SEO Description",
            "An SEO description is at most 500 characters.".into(),
        );
    }
    let body_html = c.raw(first, "Body (HTML)").to_owned();
    if too_long(&body_html, 100_000) {
        bad(
            line,
            "Body (HTML)",
            "A description is at most 100,000 characters.".into(),
        );
    }

    // Options are named on the product's first row; "Title" / "Default Title" is
    // Shopify's way of saying there are none.
    let mut option_names: Vec<String> = Vec::new();
    let mut named = [false; 3];
    for (i, slot) in named.iter_mut().enumerate() {
        let name = c.get(first, &format!("Option{} Name", i + 1)).to_owned();
        if name.is_empty() {
            continue;
        }
        if i > option_names.len() {
            bad(
                line,
                &format!("Option{} Name", i + 1),
                format!("Option{} is named while Option{} is not.", i + 1, i),
            );
            continue;
        }
        if too_long(&name, 40) {
            bad(
                line,
                &format!("Option{} Name", i + 1),
                "An option's name is at most 40 characters.".into(),
            );
        }
        if option_names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
            bad(
                line,
                &format!("Option{} Name", i + 1),
                format!("The option “{name}” is named twice."),
            );
        }
        *slot = true;
        option_names.push(name);
    }
    let no_options = option_names.len() == 1
        && option_names[0].eq_ignore_ascii_case(NO_OPTION_NAME)
        && c.get(first, "Option1 Value")
            .eq_ignore_ascii_case(NO_OPTION_VALUE);
    if no_options {
        option_names.clear();
        named = [false; 3];
    }

    let mut variants: Vec<CsvVariant> = Vec::new();
    let mut images: Vec<CsvImage> = Vec::new();
    let mut combos: HashMap<Vec<String>, u64> = HashMap::new();
    for (line, row) in rows {
        let line = *line;
        let sku = c.get(row, "Variant SKU").to_uppercase();
        let price = c.get(row, "Variant Price");
        let any_value = (1..=3).any(|i| !c.get(row, &format!("Option{i} Value")).is_empty());
        let is_variant = !sku.is_empty() || !price.is_empty() || any_value;
        if is_variant {
            let mut values = Vec::new();
            for i in 0..3 {
                let column = format!("Option{} Value", i + 1);
                let value = c.get(row, &column);
                if named[i] {
                    if value.is_empty() {
                        bad(
                            line,
                            &column,
                            format!("Give this variant's {}.", option_names[i]),
                        );
                    } else if too_long(value, 40) {
                        bad(
                            line,
                            &column,
                            "An option value is at most 40 characters.".into(),
                        );
                    }
                    values.push(value.to_owned());
                } else if !(value.is_empty() || no_options && i == 0) {
                    bad(
                        line,
                        &column,
                        format!(
                            "Unknown option: “{value}” is given for Option{}, which the product's first row does not name.",
                            i + 1
                        ),
                    );
                }
            }
            if let Some(other) = combos.insert(values.clone(), line) {
                bad(
                    line,
                    "Option1 Value",
                    format!("Line {other} already has a variant with these option values."),
                );
            }
            let sku = if sku.is_empty() {
                None
            } else {
                if let Err(e) = check_sku(&sku) {
                    bad(line, "Variant SKU", format!("“{sku}”: {e}."));
                }
                if let Some(other) = seen_skus.insert(sku.clone(), line) {
                    bad(
                        line,
                        "Variant SKU",
                        format!("Duplicate SKU: {sku} is also on line {other}."),
                    );
                }
                Some(sku)
            };
            let price = if price.is_empty() {
                bad(line, "Variant Price", "A variant needs a price.".into());
                Money::zero(currency)
            } else {
                amount(price, currency).unwrap_or_else(|m| {
                    bad(line, "Variant Price", m);
                    Money::zero(currency)
                })
            };
            let compare = c.get(row, "Variant Compare At Price");
            let compare_at = if compare.is_empty() {
                None
            } else {
                amount(compare, currency)
                    .map_err(|m| bad(line, "Variant Compare At Price", m))
                    .ok()
            };
            let grams_text = c.get(row, "Variant Grams");
            let grams = if grams_text.is_empty() {
                None
            } else {
                match whole(grams_text) {
                    Some(g) if (0..=1_000_000).contains(&g) => Some(g as i32),
                    _ => {
                        bad(
                            line,
                            "Variant Grams",
                            "A weight is a whole number of grams from 0 to 1,000,000.".into(),
                        );
                        None
                    }
                }
            };
            let stock_text = c.get(row, "Variant Inventory Qty");
            let stock = if stock_text.is_empty() {
                None
            } else {
                match whole(stock_text) {
                    Some(q) if (0..=MAX_STOCK).contains(&q) => Some(q as i32),
                    Some(q) if q < 0 => {
                        bad(
                            line,
                            "Variant Inventory Qty",
                            "Stock cannot be negative.".into(),
                        );
                        None
                    }
                    _ => {
                        bad(
                            line,
                            "Variant Inventory Qty",
                            format!("Stock is a whole number up to {MAX_STOCK}."),
                        );
                        None
                    }
                }
            };
            let barcode = c.get(row, "Variant Barcode").to_owned();
            if !(barcode.len() <= 40
                && barcode
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            {
                bad(
                    line,
                    "Variant Barcode",
                    "A barcode is up to 40 letters, digits and hyphens.".into(),
                );
            }
            variants.push(CsvVariant {
                line,
                sku,
                option_values: values,
                grams,
                stock,
                price,
                compare_at,
                barcode,
            });
        } else if !line_is_first(line, rows) && !c.get(row, "Title").is_empty() {
            bad(
                line,
                "Title",
                format!("The handle “{handle}” is already a product on line {}: a product's fields go on its first row only.", rows[0].0),
            );
        }
        let src = c.get(row, "Image Src");
        if !src.is_empty() {
            let alt = c.get(row, "Image Alt Text").to_owned();
            if !(src.starts_with("https://") || src.starts_with("http://")) || too_long(src, 2000) {
                bad(
                    line,
                    "Image Src",
                    "An image's address starts with https:// (or http://) and is at most 2,000 characters.".into(),
                );
            }
            if too_long(&alt, 300) {
                bad(
                    line,
                    "Image Alt Text",
                    "Alt text is at most 300 characters.".into(),
                );
            }
            let pos_text = c.get(row, "Image Position");
            let position = if pos_text.is_empty() {
                None
            } else {
                match whole(pos_text) {
                    Some(p) if (1..=10_000).contains(&p) => Some(p as i32),
                    _ => {
                        bad(
                            line,
                            "Image Position",
                            "An image's position is a whole number from 1.".into(),
                        );
                        None
                    }
                }
            };
            if !images.iter().any(|i| i.src == src) {
                images.push(CsvImage {
                    line,
                    src: src.to_owned(),
                    alt,
                    position,
                });
            }
        }
    }
    if variants.is_empty() {
        bad(
            line,
            "Variant Price",
            "A product needs at least one variant row (with a price).".into(),
        );
    }
    if variants.len() > MAX_VARIANTS {
        bad(
            line,
            "",
            format!("A product has at most {MAX_VARIANTS} variants."),
        );
    }
    images.sort_by_key(|i| (i.position.unwrap_or(i32::MAX), i.line));
    Some(CsvProduct {
        line,
        handle: handle.to_owned(),
        title,
        body_html,
        vendor,
        category_path,
        tags,
        published: published.unwrap_or(status == Status::Active) && status == Status::Active,
        status,
        option_names,
        variants,
        images,
        seo_title,
        seo_description,
        rows: rows.len(),
    })
}

fn line_is_first(line: u64, rows: &[Row]) -> bool {
    rows.first().is_some_and(|(l, _)| *l == line)
}

/// Writes products in the format [`parse`] reads (and Shopify imports): the product's
/// fields on its first row, one row per variant, then a row per further image.
pub fn write<W: std::io::Write>(out: W, products: &[CsvProduct]) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(COLUMNS)?;
    for p in products {
        let rows = p.variants.len().max(p.images.len()).max(1);
        for i in 0..rows {
            let mut row: Vec<String> = vec![String::new(); COLUMNS.len()];
            let mut set = |name: &str, value: String| {
                if let Some(at) = COLUMNS.iter().position(|c| *c == name) {
                    row[at] = value;
                }
            };
            set("Handle", p.handle.clone());
            if i == 0 {
                set("Title", p.title.clone());
                set("Body (HTML)", p.body_html.clone());
                set("Vendor", p.vendor.clone());
                set("Type", p.category_path.join(" > "));
                set("Tags", p.tags.join(", "));
                set(
                    "Published",
                    if p.published { "TRUE" } else { "FALSE" }.into(),
                );
                set("Gift Card", "FALSE".into());
                set("SEO Title", p.seo_title.clone());
                set("SEO Description", p.seo_description.clone());
                set(
                    "Status",
                    match p.status {
                        Status::Active => "active",
                        Status::Draft => "draft",
                        Status::Archived => "archived",
                    }
                    .into(),
                );
                if p.option_names.is_empty() {
                    set("Option1 Name", NO_OPTION_NAME.into());
                } else {
                    for (n, name) in p.option_names.iter().enumerate() {
                        set(&format!("Option{} Name", n + 1), name.clone());
                    }
                }
            }
            if let Some(v) = p.variants.get(i) {
                if p.option_names.is_empty() {
                    set("Option1 Value", NO_OPTION_VALUE.into());
                } else {
                    for (n, value) in v.option_values.iter().enumerate() {
                        set(&format!("Option{} Value", n + 1), value.clone());
                    }
                }
                set("Variant SKU", v.sku.clone().unwrap_or_default());
                set(
                    "Variant Grams",
                    v.grams.map(|g| g.to_string()).unwrap_or_default(),
                );
                set("Variant Inventory Tracker", "shopify".into());
                set(
                    "Variant Inventory Qty",
                    v.stock.map(|q| q.to_string()).unwrap_or_default(),
                );
                set("Variant Inventory Policy", "deny".into());
                set("Variant Fulfillment Service", "manual".into());
                set("Variant Price", v.price.to_major_string());
                set(
                    "Variant Compare At Price",
                    v.compare_at.map(Money::to_major_string).unwrap_or_default(),
                );
                set("Variant Requires Shipping", "TRUE".into());
                set("Variant Taxable", "TRUE".into());
                set("Variant Barcode", v.barcode.clone());
                set("Variant Weight Unit", "g".into());
            }
            if let Some(img) = p.images.get(i) {
                set("Image Src", img.src.clone());
                set("Image Position", (i + 1).to_string());
                set("Image Alt Text", img.alt.clone());
            }
            w.write_record(&row)?;
        }
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const USD: Currency = Currency::Usd;

    fn header() -> String {
        COLUMNS.join(",")
    }

    /// A row with the named columns set, the rest empty.
    fn row(fields: &[(&str, &str)]) -> String {
        COLUMNS
            .iter()
            .map(|c| {
                let v = fields
                    .iter()
                    .find(|(n, _)| n == c)
                    .map(|(_, v)| *v)
                    .unwrap_or("");
                if v.contains([',', '"', '\n']) {
                    format!("\"{}\"", v.replace('"', "\"\""))
                } else {
                    v.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    fn shirt() -> Vec<String> {
        vec![
            header(),
            row(&[
                ("Handle", "linen-shirt"),
                ("Title", "Linen shirt"),
                ("Body (HTML)", "<p>Soft, <script>x</script>light</p>"),
                ("Vendor", "Acme"),
                ("Type", "Clothing > Shirts"),
                ("Tags", "linen, summer"),
                ("Published", "TRUE"),
                ("Option1 Name", "Size"),
                ("Option1 Value", "S"),
                ("Option2 Name", "Colour"),
                ("Option2 Value", "White"),
                ("Variant SKU", "ls-s-white"),
                ("Variant Grams", "200.0"),
                ("Variant Inventory Qty", "4"),
                ("Variant Price", "39.90"),
                ("Variant Compare At Price", "49"),
                ("Image Src", "https://cdn.example/1.jpg"),
                ("Image Position", "1"),
                ("Status", "active"),
            ]),
            row(&[
                ("Handle", "linen-shirt"),
                ("Option1 Value", "M"),
                ("Option2 Value", "White"),
                ("Variant SKU", "LS-M-WHITE"),
                ("Variant Inventory Qty", "0"),
                ("Variant Price", "39.90"),
                ("Image Src", "https://cdn.example/2.jpg"),
                ("Image Position", "2"),
                ("Image Alt Text", "Back"),
            ]),
            row(&[
                ("Handle", "linen-shirt"),
                ("Image Src", "https://cdn.example/3.jpg"),
                ("Image Position", "3"),
            ]),
            row(&[
                ("Handle", "mug"),
                ("Title", "Mug"),
                ("Option1 Name", "Title"),
                ("Option1 Value", "Default Title"),
                ("Variant Price", "12"),
                ("Status", "draft"),
            ]),
        ]
    }

    fn parse_lines(lines: &[String]) -> Parsed {
        parse(lines.join("\n").as_bytes(), USD)
    }

    #[test]
    fn reads_a_shopify_export_with_variants_images_and_no_option_products() {
        let p = parse_lines(&shirt());
        assert_eq!(p.problems, vec![]);
        assert_eq!(p.rows, 4);
        assert_eq!(p.products.len(), 2);
        let shirt = &p.products[0];
        assert_eq!(shirt.category_path, vec!["Clothing", "Shirts"]);
        assert_eq!(shirt.tags, vec!["linen", "summer"]);
        assert_eq!(shirt.option_names, vec!["Size", "Colour"]);
        assert_eq!(shirt.variants.len(), 2);
        assert_eq!(shirt.variants[0].sku.as_deref(), Some("LS-S-WHITE"));
        assert_eq!(shirt.variants[0].grams, Some(200));
        assert_eq!(shirt.variants[0].price, Money::new(3990, USD));
        assert_eq!(shirt.variants[0].compare_at, Some(Money::new(4900, USD)));
        assert_eq!(shirt.variants[1].stock, Some(0));
        assert_eq!(shirt.images.len(), 3);
        assert_eq!(shirt.images[1].alt, "Back");
        assert!(shirt.published);
        let mug = &p.products[1];
        assert!(mug.option_names.is_empty());
        assert_eq!(mug.variants[0].option_values, Vec::<String>::new());
        assert_eq!(mug.variants[0].stock, None);
        assert!(!mug.published);
        assert_eq!(mug.status, Status::Draft);
    }

    #[test]
    fn written_products_read_back_the_same() {
        let p = parse_lines(&shirt());
        let mut out = Vec::new();
        write(&mut out, &p.products).expect("written");
        let again = parse(&out, USD);
        assert_eq!(again.problems, vec![]);
        let strip = |ps: &[CsvProduct]| {
            ps.iter()
                .map(|p| {
                    let mut p = p.clone();
                    p.line = 0;
                    p.rows = 0;
                    for v in &mut p.variants {
                        v.line = 0;
                    }
                    for i in &mut p.images {
                        i.line = 0;
                        i.position = None;
                    }
                    p
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&again.products), strip(&p.products));
    }

    #[test]
    fn each_bad_row_is_told_by_line_and_column() {
        let mut lines = shirt();
        // Line 3: an option value the product does not name; line 5: a negative price.
        lines[2] = row(&[
            ("Handle", "linen-shirt"),
            ("Option1 Value", "M"),
            ("Option2 Value", "White"),
            ("Option3 Value", "Slim"),
            ("Variant SKU", "LS-M-WHITE"),
            ("Variant Price", "39.90"),
        ]);
        lines[4] = row(&[
            ("Handle", "mug"),
            ("Title", "Mug"),
            ("Variant SKU", "LS-S-WHITE"),
            ("Variant Price", "-1.00"),
        ]);
        let p = parse_lines(&lines);
        let told: Vec<(u64, &str)> = p
            .problems
            .iter()
            .map(|x| (x.line, x.column.as_str()))
            .collect();
        assert_eq!(
            told,
            vec![
                (3, "Option3 Value"),
                (5, "Variant SKU"),
                (5, "Variant Price")
            ],
            "{:?}",
            p.problems
        );
        assert!(p.problems[0].message.starts_with("Unknown option"));
        assert!(p.problems[1]
            .message
            .contains("Duplicate SKU: LS-S-WHITE is also on line 2"));
        assert_eq!(p.problems[2].message, "A price cannot be negative.");
        assert!(
            p.products.is_empty(),
            "a product with a bad row is left out whole"
        );
    }

    #[test]
    fn broken_quoting_and_other_encodings_are_told() {
        let mut lines = shirt();
        lines[4] = lines[4].replacen("mug,Mug", "mug,\"Mug", 1);
        let p = parse_lines(&lines);
        assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
        assert_eq!(p.problems[0].line, 5);
        assert!(p.problems[0].message.contains("quote"));
        assert_eq!(p.products.len(), 1, "the shirt is still read");

        let mut bytes = shirt()[..2].join("\n").into_bytes();
        bytes.extend_from_slice(b"\n");
        let latin1 = row(&[
            ("Handle", "cafe"),
            ("Title", "Caf\u{e9}"),
            ("Variant Price", "3"),
        ])
        .replace('\u{e9}', "\u{1}");
        let mut latin1 = latin1.into_bytes();
        let at = latin1.iter().position(|b| *b == 1).expect("marker");
        latin1[at] = 0xE9;
        bytes.extend_from_slice(&latin1);
        let p = parse(&bytes, USD);
        assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
        assert_eq!(
            (p.problems[0].line, p.problems[0].column.as_str()),
            (3, "Title")
        );
        assert!(p.problems[0].message.contains("UTF-8"));

        let utf16 = [0xFF, 0xFE, b'H', 0];
        assert!(parse(&utf16, USD).problems[0].message.contains("UTF-16"));
        assert!(parse(b"Name,Price\nx,1\n", USD).problems[0]
            .message
            .contains("no Handle column"));
    }
}
