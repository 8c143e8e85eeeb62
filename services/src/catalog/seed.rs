//! The demo catalog: a deterministic generator and an idempotent loader.
//!
//! The same `count` always yields the same categories, products, variants, prices and
//! stock, so tests, screenshots and benchmarks see the same shop. Images are SVGs drawn
//! by [`super::images`] from their URL; nothing is downloaded.

use super::{CatalogService, CHANGE_CHANNEL};
use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::{Currency, Slug};
use std::collections::HashSet;

/// Products in the default demo catalog.
pub const DEFAULT_PRODUCT_COUNT: usize = 520;

/// A category to create.
#[derive(Debug, Clone)]
pub struct SeedCategory {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub parent: Option<String>,
    pub image_url: String,
    pub position: i32,
}

/// A variant to create.
#[derive(Debug, Clone)]
pub struct SeedVariant {
    pub sku: String,
    pub options: Vec<String>,
    pub price_minor: i64,
    pub stock: i32,
}

/// A product to create with everything that belongs to it.
#[derive(Debug, Clone)]
pub struct SeedProduct {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub brand: String,
    pub category: String,
    pub option_names: Vec<String>,
    pub variants: Vec<SeedVariant>,
    pub images: Vec<(String, String)>,
    pub attributes: Vec<(String, String)>,
    /// Shipping weight of each of its variants.
    pub weight_grams: i32,
    pub published: bool,
    pub featured: bool,
    pub created_at: DateTime<Utc>,
}

/// The generated catalog.
#[derive(Debug, Clone)]
pub struct SeedCatalog {
    pub categories: Vec<SeedCategory>,
    pub products: Vec<SeedProduct>,
}

/// What a load did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub categories_created: u64,
    pub products_created: u64,
    pub products_skipped: u64,
}

/// SplitMix64: tiny, fast and stable across versions, which a crate's RNG may not be.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// How variants of a leaf category differ.
#[derive(Clone, Copy)]
enum Options {
    ColourAndApparelSize,
    ColourAndShoeSize,
    Colour,
    ColourAndCapacity,
    Power,
    Sleeps,
}

struct Root {
    slug: &'static str,
    name: &'static str,
    description: &'static str,
    icon: &'static str,
    brands: &'static [&'static str],
}

struct Leaf {
    parent: &'static str,
    slug: &'static str,
    name: &'static str,
    description: &'static str,
    icon: &'static str,
    nouns: &'static [&'static str],
    materials: &'static [&'static str],
    /// Base price range in whole currency units.
    price: (i64, i64),
    options: Options,
}

const ROOTS: &[Root] = &[
    Root {
        slug: "clothing",
        name: "Clothing",
        description: "Everyday layers made to last, from soft tees to weatherproof jackets.",
        icon: "shirt",
        brands: &["Northwind", "Atelier Nine", "Fieldnotes", "Loomworks"],
    },
    Root {
        slug: "shoes",
        name: "Shoes",
        description: "Sneakers and boots for city streets and muddy trails.",
        icon: "sneaker",
        brands: &["Stride & Co", "Kestrel", "Bramble"],
    },
    Root {
        slug: "home",
        name: "Home & Living",
        description: "Mugs, lamps and cushions that make a room feel like yours.",
        icon: "lamp",
        brands: &["Hearth", "Oakhaus", "Kiln Studio"],
    },
    Root {
        slug: "electronics",
        name: "Electronics",
        description: "Headphones, speakers and chargers that simply work.",
        icon: "headphones",
        brands: &["Voltline", "Sonari", "Ampere Labs"],
    },
    Root {
        slug: "outdoors",
        name: "Outdoors",
        description: "Packs, bottles and shelters for weekends outside.",
        icon: "tent",
        brands: &["Ridgeback", "Trailhead", "Summit Supply"],
    },
    Root {
        slug: "stationery",
        name: "Books & Stationery",
        description: "Notebooks and pens for ideas worth writing down.",
        icon: "notebook",
        brands: &["Papermill", "Inkwell", "Folio"],
    },
];

const LEAVES: &[Leaf] = &[
    Leaf {
        parent: "clothing",
        slug: "t-shirts",
        name: "T-Shirts",
        description: "Crew necks and v-necks in breathable fabrics.",
        icon: "shirt",
        nouns: &["Tee", "Crew Tee", "Pocket Tee"],
        materials: &[
            "Cotton",
            "Organic Cotton",
            "Linen",
            "Bamboo",
            "Slub Cotton",
            "Merino",
        ],
        price: (18, 45),
        options: Options::ColourAndApparelSize,
    },
    Leaf {
        parent: "clothing",
        slug: "hoodies",
        name: "Hoodies & Sweatshirts",
        description: "Heavyweight fleece for cool evenings.",
        icon: "hoodie",
        nouns: &["Hoodie", "Zip Hoodie", "Sweatshirt"],
        materials: &[
            "Fleece",
            "Loopback Cotton",
            "Brushed Cotton",
            "Recycled Fleece",
            "Wool Blend",
            "Terry",
        ],
        price: (45, 95),
        options: Options::ColourAndApparelSize,
    },
    Leaf {
        parent: "clothing",
        slug: "jackets",
        name: "Jackets",
        description: "Shells, parkas and overshirts for changing weather.",
        icon: "jacket",
        nouns: &["Jacket", "Parka", "Overshirt"],
        materials: &["Waxed Cotton", "Nylon", "Ripstop", "Wool", "Canvas", "Down"],
        price: (85, 260),
        options: Options::ColourAndApparelSize,
    },
    Leaf {
        parent: "shoes",
        slug: "sneakers",
        name: "Sneakers",
        description: "Low-tops and runners with cushioned soles.",
        icon: "sneaker",
        nouns: &["Sneaker", "Runner", "Court Shoe"],
        materials: &[
            "Canvas",
            "Leather",
            "Suede",
            "Knit",
            "Recycled Mesh",
            "Nubuck",
        ],
        price: (60, 160),
        options: Options::ColourAndShoeSize,
    },
    Leaf {
        parent: "shoes",
        slug: "boots",
        name: "Boots",
        description: "Chelsea, hiking and work boots built to resole.",
        icon: "boot",
        nouns: &["Boot", "Chelsea Boot", "Hiker"],
        materials: &[
            "Leather",
            "Suede",
            "Waxed Leather",
            "Nubuck",
            "Rubber",
            "Oiled Leather",
        ],
        price: (110, 280),
        options: Options::ColourAndShoeSize,
    },
    Leaf {
        parent: "home",
        slug: "mugs",
        name: "Mugs & Cups",
        description: "Stoneware and enamel for the first coffee of the day.",
        icon: "mug",
        nouns: &["Mug", "Cup", "Tumbler"],
        materials: &[
            "Stoneware",
            "Porcelain",
            "Enamel",
            "Glazed Ceramic",
            "Speckled Clay",
            "Glass",
        ],
        price: (12, 38),
        options: Options::Colour,
    },
    Leaf {
        parent: "home",
        slug: "lamps",
        name: "Lamps",
        description: "Desk, floor and table lamps with warm light.",
        icon: "lamp",
        nouns: &["Desk Lamp", "Table Lamp", "Floor Lamp"],
        materials: &["Brass", "Oak", "Linen", "Steel", "Ceramic", "Walnut"],
        price: (39, 240),
        options: Options::Colour,
    },
    Leaf {
        parent: "home",
        slug: "cushions",
        name: "Cushions & Throws",
        description: "Soft furnishings in natural fibres.",
        icon: "cushion",
        nouns: &["Cushion", "Throw", "Bolster"],
        materials: &["Linen", "Wool", "Velvet", "Cotton", "Boucle", "Cashmere"],
        price: (25, 140),
        options: Options::Colour,
    },
    Leaf {
        parent: "electronics",
        slug: "headphones",
        name: "Headphones",
        description: "Over-ear and in-ear sound with long battery life.",
        icon: "headphones",
        nouns: &["Headphones", "Earbuds", "Studio Monitors"],
        materials: &[
            "Wireless",
            "Noise-Cancelling",
            "Studio",
            "Sport",
            "Travel",
            "Hi-Fi",
        ],
        price: (49, 349),
        options: Options::Colour,
    },
    Leaf {
        parent: "electronics",
        slug: "speakers",
        name: "Speakers",
        description: "Portable and shelf speakers with room-filling sound.",
        icon: "speaker",
        nouns: &["Speaker", "Soundbar", "Radio"],
        materials: &[
            "Bluetooth",
            "Wi-Fi",
            "Portable",
            "Bookshelf",
            "Waterproof",
            "Smart",
        ],
        price: (59, 399),
        options: Options::Colour,
    },
    Leaf {
        parent: "electronics",
        slug: "chargers",
        name: "Chargers & Cables",
        description: "Fast USB-C power for everything you carry.",
        icon: "charger",
        nouns: &["Charger", "Power Bank", "Charging Dock"],
        materials: &[
            "USB-C",
            "GaN",
            "Wireless",
            "Travel",
            "Dual-Port",
            "Magnetic",
        ],
        price: (19, 89),
        options: Options::Power,
    },
    Leaf {
        parent: "outdoors",
        slug: "backpacks",
        name: "Backpacks",
        description: "Daypacks and travel packs with smart pockets.",
        icon: "backpack",
        nouns: &["Daypack", "Backpack", "Rolltop"],
        materials: &[
            "Cordura",
            "Canvas",
            "Ripstop",
            "Recycled Nylon",
            "Waxed Canvas",
            "Dyneema",
        ],
        price: (55, 230),
        options: Options::Colour,
    },
    Leaf {
        parent: "outdoors",
        slug: "bottles",
        name: "Bottles & Flasks",
        description: "Insulated bottles that keep drinks cold for a day.",
        icon: "bottle",
        nouns: &["Bottle", "Flask", "Canteen"],
        materials: &[
            "Steel",
            "Insulated",
            "Titanium",
            "Glass",
            "Aluminium",
            "Tritan",
        ],
        price: (18, 55),
        options: Options::ColourAndCapacity,
    },
    Leaf {
        parent: "outdoors",
        slug: "tents",
        name: "Tents & Shelters",
        description: "Lightweight shelters for every season.",
        icon: "tent",
        nouns: &["Tent", "Tarp Shelter", "Bivy"],
        materials: &[
            "Ultralight",
            "Four-Season",
            "Backpacking",
            "Family",
            "Trekking",
            "Alpine",
        ],
        price: (120, 620),
        options: Options::Sleeps,
    },
    Leaf {
        parent: "stationery",
        slug: "notebooks",
        name: "Notebooks",
        description: "Dotted, lined and blank pages that take any ink.",
        icon: "notebook",
        nouns: &["Notebook", "Journal", "Sketchbook"],
        materials: &[
            "Dotted",
            "Lined",
            "Blank",
            "Grid",
            "Linen-Bound",
            "Leather-Bound",
        ],
        price: (9, 42),
        options: Options::Colour,
    },
    Leaf {
        parent: "stationery",
        slug: "pens",
        name: "Pens",
        description: "Fountain pens, rollerballs and fineliners.",
        icon: "pen",
        nouns: &["Fountain Pen", "Rollerball", "Fineliner"],
        materials: &[
            "Brass",
            "Aluminium",
            "Resin",
            "Steel",
            "Bamboo",
            "Lacquered",
        ],
        price: (8, 120),
        options: Options::Colour,
    },
];

const ADJECTIVES: &[&str] = &[
    "Everyday", "Classic", "Trail", "Harbor", "Summit", "Meadow", "Urban", "Coastal", "Heritage",
    "Nomad", "Aurora", "Field",
];

/// Colour names and the keys used in image URLs (see [`super::images::COLOURS`]).
const COLOURS: &[(&str, &str)] = &[
    ("Black", "black"),
    ("White", "white"),
    ("Navy", "navy"),
    ("Red", "red"),
    ("Forest", "forest"),
    ("Sand", "sand"),
    ("Grey", "grey"),
    ("Ochre", "ochre"),
    ("Sky", "sky"),
    ("Plum", "plum"),
    ("Coral", "coral"),
    ("Olive", "olive"),
];

const APPAREL_SIZES: &[&str] = &["XS", "S", "M", "L", "XL", "XXL"];
const SHOE_SIZES: &[&str] = &["38", "39", "40", "41", "42", "43", "44", "45"];
const ORIGINS: &[&str] = &[
    "Portugal", "Italy", "Japan", "Vietnam", "Canada", "Germany", "Scotland", "Mexico",
];

fn category_image(icon: &str, colour: &str) -> String {
    format!("/media/generated/{icon}-{colour}-3.svg")
}

/// Stock on hand for a demo variant: about one in seven is sold out.
fn seed_stock(rng: &mut Rng) -> i32 {
    if rng.chance(14) {
        0
    } else {
        1 + rng.below(40) as i32
    }
}

/// One variant per value of a single option, each `step` minor units dearer than the last.
/// `values` pairs the shown value with its SKU suffix.
fn ladder(
    sku_base: &str,
    values: &[(&str, &str)],
    base_price: i64,
    step: i64,
    rng: &mut Rng,
) -> Vec<SeedVariant> {
    values
        .iter()
        .enumerate()
        .map(|(i, (value, suffix))| SeedVariant {
            sku: format!("{sku_base}-{suffix}"),
            options: vec![(*value).into()],
            price_minor: base_price + i as i64 * step,
            stock: seed_stock(rng),
        })
        .collect()
}

/// Generates the demo catalog with `count` products. Same input, same output.
pub fn generate(count: usize) -> SeedCatalog {
    let mut rng = Rng(0x00E3_9081_u64);
    let mut categories = Vec::new();
    for (i, root) in ROOTS.iter().enumerate() {
        categories.push(SeedCategory {
            slug: root.slug.into(),
            name: root.name.into(),
            description: root.description.into(),
            parent: None,
            image_url: category_image(root.icon, COLOURS[(i * 5 + 2) % COLOURS.len()].1),
            position: i as i32,
        });
    }
    for (i, leaf) in LEAVES.iter().enumerate() {
        categories.push(SeedCategory {
            slug: leaf.slug.into(),
            name: leaf.name.into(),
            description: leaf.description.into(),
            parent: Some(leaf.parent.into()),
            image_url: category_image(leaf.icon, COLOURS[(i * 7 + 3) % COLOURS.len()].1),
            position: i as i32,
        });
    }

    let base_time = Utc
        .with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
        .single()
        .unwrap_or_else(Utc::now);
    let mut per_leaf = vec![0usize; LEAVES.len()];
    let mut slugs = HashSet::new();
    let mut products = Vec::with_capacity(count);
    for n in 0..count {
        let leaf_index = n % LEAVES.len();
        let leaf = &LEAVES[leaf_index];
        let root = ROOTS
            .iter()
            .find(|r| r.slug == leaf.parent)
            .unwrap_or(&ROOTS[0]);
        let j = per_leaf[leaf_index];
        per_leaf[leaf_index] += 1;
        let (a, m, k) = (ADJECTIVES.len(), leaf.materials.len(), leaf.nouns.len());
        let combos = a * m * k;
        let adjective = ADJECTIVES[(j * 5) % a];
        let material = leaf.materials[(j / a + j) % m];
        let noun = leaf.nouns[(j / (a * m)) % k];
        let round = j / combos;
        let mut name = format!("{adjective} {material} {noun}");
        if round > 0 {
            name.push_str(&format!(" No. {}", round + 1));
        }
        let mut slug = Slug::from_name(&name)
            .map(|s| s.to_string())
            .unwrap_or_else(|_| format!("product-{n}"));
        while !slugs.insert(slug.clone()) {
            slug = format!("{slug}-{n}");
        }
        let brand = (*rng.pick(root.brands)).to_owned();
        let (lo, hi) = leaf.price;
        // Prices end in .00, .50 or .99 like a real shop's.
        let cents = [0, 50, 99][rng.below(3)];
        let base_price = (lo + rng.below((hi - lo) as usize + 1) as i64) * 100 + cents;
        let code = leaf
            .slug
            .replace('-', "")
            .to_uppercase()
            .chars()
            .take(3)
            .collect::<String>();
        let sku_base = format!("{code}-{n:05}");

        let colour_count = 1 + rng.below(4);
        let start = rng.below(COLOURS.len());
        let colours: Vec<(&str, &str)> = (0..colour_count)
            .map(|i| COLOURS[(start + i * 3) % COLOURS.len()])
            .collect();

        let (option_names, variants): (Vec<&str>, Vec<SeedVariant>) = match leaf.options {
            Options::ColourAndApparelSize | Options::ColourAndShoeSize => {
                let sizes = if matches!(leaf.options, Options::ColourAndApparelSize) {
                    APPAREL_SIZES
                } else {
                    SHOE_SIZES
                };
                let first = rng.below(2);
                let len = 4 + rng.below(sizes.len() - 3 - first);
                let mut vs = Vec::new();
                for (cname, ckey) in &colours {
                    for (si, size) in sizes.iter().enumerate().skip(first).take(len) {
                        let bump =
                            if matches!(leaf.options, Options::ColourAndApparelSize) && si >= 4 {
                                300
                            } else {
                                0
                            };
                        vs.push(SeedVariant {
                            sku: format!("{sku_base}-{}-{size}", ckey.to_uppercase()),
                            options: vec![(*cname).into(), (*size).into()],
                            price_minor: base_price + bump,
                            stock: seed_stock(&mut rng),
                        });
                    }
                }
                (vec!["Colour", "Size"], vs)
            }
            Options::Colour => (
                vec!["Colour"],
                colours
                    .iter()
                    .map(|(cname, ckey)| SeedVariant {
                        sku: format!("{sku_base}-{}", ckey.to_uppercase()),
                        options: vec![(*cname).into()],
                        price_minor: base_price,
                        stock: seed_stock(&mut rng),
                    })
                    .collect(),
            ),
            Options::ColourAndCapacity => {
                let mut vs = Vec::new();
                for (cname, ckey) in &colours {
                    for (ci, cap) in ["500 ml", "750 ml", "1 L"].iter().enumerate() {
                        vs.push(SeedVariant {
                            sku: format!("{sku_base}-{}-{}", ckey.to_uppercase(), ci + 1),
                            options: vec![(*cname).into(), (*cap).into()],
                            price_minor: base_price + ci as i64 * 400,
                            stock: seed_stock(&mut rng),
                        });
                    }
                }
                (vec!["Colour", "Capacity"], vs)
            }
            Options::Power => (
                vec!["Power"],
                ladder(
                    &sku_base,
                    &[
                        ("20 W", "20W"),
                        ("45 W", "45W"),
                        ("65 W", "65W"),
                        ("100 W", "100W"),
                    ],
                    base_price,
                    1000,
                    &mut rng,
                ),
            ),
            Options::Sleeps => (
                vec!["Sleeps"],
                ladder(
                    &sku_base,
                    &[
                        ("1 person", "P1"),
                        ("2 people", "P2"),
                        ("3 people", "P3"),
                        ("4 people", "P4"),
                    ],
                    base_price,
                    6000,
                    &mut rng,
                ),
            ),
        };

        let images = colours
            .iter()
            .take(3)
            .enumerate()
            .flat_map(|(i, (cname, ckey))| {
                let own = (
                    format!("/media/generated/{}-{}-{}.svg", leaf.icon, ckey, 1 + i % 3),
                    format!("{name} in {cname}"),
                );
                if colours.len() == 1 {
                    vec![
                        own.clone(),
                        (
                            format!("/media/generated/{}-{}-2.svg", leaf.icon, ckey),
                            format!("{name}, detail"),
                        ),
                    ]
                } else {
                    vec![own]
                }
            })
            .collect();

        let mut attributes = vec![("Material".to_owned(), material.to_owned())];
        attributes.push(("Made in".into(), (*rng.pick(ORIGINS)).to_owned()));
        match root.slug {
            "electronics" => {
                attributes.push(("Warranty".into(), format!("{} years", 1 + rng.below(3))))
            }
            "clothing" | "home" => attributes.push((
                "Care".into(),
                (*rng.pick(&[
                    "Machine wash cold",
                    "Hand wash",
                    "Wipe clean",
                    "Dry clean only",
                ]))
                .into(),
            )),
            _ => attributes.push(("Weight".into(), format!("{} g", 80 + rng.below(1800)))),
        }

        let description = format!(
            "The {name} from {brand} is our take on the {noun_l}: {material_l} chosen for comfort and wear, \
             finished by hand and checked twice before it leaves the workshop. {extra} \
             Free returns within 30 days.",
            noun_l = noun.to_lowercase(),
            material_l = material.to_lowercase(),
            extra = rng.pick(&[
                "It gets better with every use.",
                "Designed to be repaired rather than replaced.",
                "A quiet design that goes with everything.",
                "Made in small batches, so stock is limited.",
            ]),
        );

        let weight_grams = seed_weight(leaf.icon, &slug, &attributes);
        products.push(SeedProduct {
            weight_grams,
            slug,
            name,
            description,
            brand,
            category: leaf.slug.into(),
            option_names: option_names.into_iter().map(String::from).collect(),
            variants,
            images,
            attributes,
            published: !rng.chance(3),
            featured: rng.chance(7),
            created_at: base_time + Duration::hours(7 * n as i64),
        });
    }
    SeedCatalog {
        categories,
        products,
    }
}

/// A plausible shipping weight: the "Weight" attribute when the product has one, else a
/// typical weight for its kind give or take a fifth (from its slug, so the sequence of
/// random draws, and with it the demo catalog, stays what it was).
fn seed_weight(icon: &str, slug: &str, attributes: &[(String, String)]) -> i32 {
    if let Some(grams) = attributes
        .iter()
        .find(|(n, _)| n == "Weight")
        .and_then(|(_, v)| v.trim_end_matches(" g").parse().ok())
    {
        return grams;
    }
    let typical = match icon {
        "shirt" => 220,
        "hoodie" => 650,
        "jacket" => 900,
        "sneaker" => 800,
        "boot" => 1_400,
        "mug" => 350,
        "lamp" => 1_800,
        "cushion" => 500,
        "bottle" => 300,
        "backpack" => 1_100,
        "tent" => 2_600,
        "headphones" => 280,
        "speaker" => 900,
        "charger" => 150,
        "notebook" => 300,
        "pen" => 30,
        _ => 500,
    };
    let spread = slug
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % 41;
    typical * (80 + spread as i32) / 100
}

/// How many products go into one transaction.
const BATCH: usize = 50;

impl CatalogService {
    /// Loads the catalog, creating what is missing and leaving what exists alone (so stock
    /// sold since the last load is not reset). Calls `progress(done, total)` after each batch.
    pub async fn load_seed(
        &self,
        catalog: &SeedCatalog,
        currency: Currency,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<SeedReport, super::CatalogError> {
        let mut report = SeedReport::default();
        let mut tx = self.pool.begin().await?;
        for c in &catalog.categories {
            let created = sqlx::query!(
                r#"INSERT INTO categories (parent_id, slug, name, description, image_url, position)
                   VALUES ((SELECT id FROM categories WHERE slug = $1), $2, $3, $4, $5, $6)
                   ON CONFLICT (slug) DO NOTHING"#,
                c.parent,
                c.slug,
                c.name,
                c.description,
                c.image_url,
                c.position
            )
            .execute(&mut *tx)
            .await?
            .rows_affected();
            report.categories_created += created;
        }
        tx.commit().await?;

        let existing: HashSet<String> = sqlx::query_scalar!("SELECT slug FROM products")
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .collect();
        let total = catalog.products.len();
        for (batch_no, batch) in catalog.products.chunks(BATCH).enumerate() {
            let mut tx = self.pool.begin().await?;
            for p in batch {
                if existing.contains(&p.slug) {
                    report.products_skipped += 1;
                    continue;
                }
                let id = sqlx::query_scalar!(
                    r#"INSERT INTO products (category_id, slug, name, description, brand, option_names,
                                             published, featured, created_at, updated_at)
                       VALUES ((SELECT id FROM categories WHERE slug = $1), $2, $3, $4, $5, $6, $7, $8, $9, $9)
                       ON CONFLICT (slug) DO NOTHING
                       RETURNING id"#,
                    p.category,
                    p.slug,
                    p.name,
                    super::sanitise_description(&p.description),
                    p.brand,
                    &p.option_names,
                    p.published,
                    p.featured,
                    p.created_at
                )
                .fetch_optional(&mut *tx)
                .await?;
                let Some(id) = id else {
                    report.products_skipped += 1; // created concurrently by another loader
                    continue;
                };
                for (pos, v) in p.variants.iter().enumerate() {
                    sqlx::query!(
                        r#"INSERT INTO variants (product_id, sku, option_values, price_minor, currency, stock_on_hand,
                                                 position, weight_grams)
                           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"#,
                        id,
                        v.sku,
                        &v.options,
                        v.price_minor,
                        currency.code(),
                        v.stock,
                        pos as i32,
                        p.weight_grams
                    )
                    .execute(&mut *tx)
                    .await?;
                }
                crate::stock::record_opening(&mut tx, id).await?;
                for (pos, (url, alt)) in p.images.iter().enumerate() {
                    sqlx::query!(
                        "INSERT INTO product_images (product_id, url, alt, position) VALUES ($1, $2, $3, $4)",
                        id,
                        url,
                        alt,
                        pos as i32
                    )
                    .execute(&mut *tx)
                    .await?;
                }
                for (pos, (name, value)) in p.attributes.iter().enumerate() {
                    sqlx::query!(
                        "INSERT INTO product_attributes (product_id, name, value, position) VALUES ($1, $2, $3, $4)",
                        id,
                        name,
                        value,
                        pos as i32
                    )
                    .execute(&mut *tx)
                    .await?;
                }
                report.products_created += 1;
            }
            tx.commit().await?;
            progress(((batch_no + 1) * BATCH).min(total), total);
        }
        sqlx::query!("SELECT pg_notify($1, 'seed')", CHANGE_CHANNEL)
            .execute(&self.pool)
            .await?;
        self.invalidate_cache();
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_complete() {
        let a = generate(DEFAULT_PRODUCT_COUNT);
        let b = generate(DEFAULT_PRODUCT_COUNT);
        assert_eq!(a.products.len(), 520);
        assert!(a.categories.len() >= 12);
        let a_skus: Vec<_> = a
            .products
            .iter()
            .flat_map(|p| p.variants.iter().map(|v| (&v.sku, v.price_minor, v.stock)))
            .collect();
        let b_skus: Vec<_> = b
            .products
            .iter()
            .flat_map(|p| p.variants.iter().map(|v| (&v.sku, v.price_minor, v.stock)))
            .collect();
        assert_eq!(a_skus, b_skus);
        let unique: HashSet<_> = a_skus.iter().map(|(s, _, _)| s.as_str()).collect();
        assert_eq!(unique.len(), a_skus.len(), "SKUs are unique");
        let slugs: HashSet<_> = a.products.iter().map(|p| p.slug.as_str()).collect();
        assert_eq!(slugs.len(), a.products.len(), "slugs are unique");
        for p in &a.products {
            assert!(Slug::parse(&p.slug).is_ok(), "{}", p.slug);
            assert!(!p.variants.is_empty() && !p.images.is_empty());
            for v in &p.variants {
                assert_eq!(v.options.len(), p.option_names.len());
                assert!(v.stock >= 0 && v.price_minor > 0);
                assert!(
                    v.sku
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-'),
                    "{}",
                    v.sku
                );
            }
            for (url, _) in &p.images {
                assert!(
                    super::super::images::render_path(url.trim_start_matches("/media/generated/"))
                        .is_some(),
                    "{url}"
                );
            }
        }
        assert!(a
            .products
            .iter()
            .any(|p| p.variants.iter().any(|v| v.stock == 0)));
        assert!(a.products.iter().any(|p| p.featured));
    }
}
