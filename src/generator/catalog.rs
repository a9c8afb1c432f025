//! The simulated shop: categories, how often each is bought and returned, and a
//! catalog of products (sku, category, price) drawn once from the seed.

use crate::support::rng::Rng;

pub const APPAREL: u8 = 0;
pub const SHOES: u8 = 1;
pub const ELECTRONICS: u8 = 2;
pub const BEAUTY: u8 = 3;
pub const HOME: u8 = 4;
pub const FRESH_FOOD: u8 = 5;
pub const UNDERWEAR: u8 = 7;
pub const BAGS: u8 = 10;
pub const SPORTS: u8 = 12;
pub const JEWELRY: u8 = 13;

pub const CATEGORIES: [&str; 14] = [
    "apparel",
    "shoes",
    "electronics",
    "beauty",
    "home",
    "fresh_food",
    "books",
    "underwear",
    "custom",
    "software",
    "bags",
    "toys",
    "sports",
    "jewelry",
];

/// How often an order line falls in each category.
pub const BUY_WEIGHT: [u32; 14] = [220, 80, 100, 120, 140, 80, 50, 50, 15, 15, 40, 40, 40, 10];

/// How returnable each category is, in percent of a customer's own propensity:
/// clothes and shoes come back for fit, books and underwear hardly ever.
pub const RETURN_FACTOR: [u64; 14] = [200, 180, 100, 50, 80, 40, 30, 30, 20, 20, 120, 60, 90, 100];

/// Which family of reasons a category's returns draw from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Fit matters: size_fit and exchanges.
    Fit,
    /// Things that break, arrive dented or lack parts.
    Durable,
    /// Spoils: refund only, quickly.
    Perishable,
    /// Everything else.
    Other,
}

pub fn group(category: u8) -> Group {
    match category {
        APPAREL | SHOES | UNDERWEAR => Group::Fit,
        FRESH_FOOD => Group::Perishable,
        ELECTRONICS | HOME | BAGS | 11 | SPORTS | JEWELRY => Group::Durable,
        _ => Group::Other,
    }
}

/// Product families: category, sku stem, price range in whole currency units.
const FAMILIES: &[(u8, &str, u64, u64)] = &[
    (APPAREL, "TEE-COTTON", 39, 199),
    (APPAREL, "SHIRT-OXFORD", 99, 399),
    (APPAREL, "DRESS-MIDI", 129, 899),
    (APPAREL, "JEANS-SLIM", 99, 599),
    (APPAREL, "SWEATER-WOOL", 159, 999),
    (APPAREL, "JACKET-DOWN", 299, 1999),
    (APPAREL, "HOODIE", 89, 399),
    (APPAREL, "SKIRT-PLEATED", 79, 399),
    (SHOES, "SNEAKER-RUN", 199, 1299),
    (SHOES, "BOOTS-CHELSEA", 299, 1599),
    (SHOES, "SANDAL", 59, 399),
    (SHOES, "LOAFER", 199, 999),
    (SHOES, "HEELS", 159, 899),
    (ELECTRONICS, "PHONE", 1499, 8999),
    (ELECTRONICS, "EARBUDS", 99, 1999),
    (ELECTRONICS, "LAPTOP", 3499, 12999),
    (ELECTRONICS, "TABLET", 1299, 6999),
    (ELECTRONICS, "CHARGER-65W", 49, 299),
    (ELECTRONICS, "SPEAKER-BT", 99, 1499),
    (ELECTRONICS, "SMARTWATCH", 399, 3999),
    (ELECTRONICS, "CAMERA-MIRRORLESS", 2999, 14999),
    (ELECTRONICS, "CABLE-USBC", 19, 99),
    (BEAUTY, "SERUM", 99, 999),
    (BEAUTY, "LIPSTICK", 79, 399),
    (BEAUTY, "CREAM-FACE", 129, 1599),
    (BEAUTY, "MASK-SHEET", 39, 199),
    (BEAUTY, "PERFUME", 299, 1899),
    (BEAUTY, "SKINCARE-SET", 199, 1999),
    (HOME, "AIR-FRYER", 199, 899),
    (HOME, "PILLOW", 49, 399),
    (HOME, "MUG-CERAMIC", 29, 129),
    (HOME, "LAMP-DESK", 59, 499),
    (HOME, "KETTLE", 79, 399),
    (HOME, "TOWEL-SET", 39, 199),
    (HOME, "PAN-NONSTICK", 79, 599),
    (HOME, "VACUUM-ROBOT", 999, 4999),
    (FRESH_FOOD, "CHERRY", 89, 299),
    (FRESH_FOOD, "SALMON", 99, 399),
    (FRESH_FOOD, "CRAB-HAIRY", 129, 699),
    (FRESH_FOOD, "MANGO", 39, 129),
    (FRESH_FOOD, "STEAK", 79, 499),
    (6, "NOVEL", 19, 79),
    (6, "COOKBOOK", 39, 129),
    (6, "TEXTBOOK", 29, 159),
    (6, "COMIC", 15, 69),
    (UNDERWEAR, "BRA", 59, 299),
    (UNDERWEAR, "BRIEFS-3PK", 39, 159),
    (UNDERWEAR, "SOCKS-5PK", 19, 99),
    (8, "RING-ENGRAVED", 199, 1999),
    (8, "PHOTO-BOOK", 59, 299),
    (8, "TEE-CUSTOM", 69, 199),
    (9, "ANTIVIRUS-1Y", 59, 299),
    (9, "OFFICE-SUITE", 199, 899),
    (9, "GAME-KEY", 39, 499),
    (BAGS, "HANDBAG-LEATHER", 399, 6999),
    (BAGS, "BACKPACK", 99, 799),
    (BAGS, "WALLET", 79, 599),
    (BAGS, "SUITCASE", 299, 2499),
    (11, "BRICKS-SET", 99, 1599),
    (11, "PLUSH", 29, 199),
    (11, "PUZZLE", 29, 159),
    (11, "RC-CAR", 99, 899),
    (SPORTS, "YOGA-MAT", 49, 299),
    (SPORTS, "DUMBBELL-SET", 99, 799),
    (SPORTS, "RACKET", 149, 1299),
    (SPORTS, "BIKE-ROAD", 1999, 8999),
    (SPORTS, "TENT", 299, 1999),
    (JEWELRY, "NECKLACE-GOLD", 999, 9999),
    (JEWELRY, "EARRINGS", 199, 2999),
    (JEWELRY, "BRACELET", 299, 4999),
];

/// Variants (colours, sizes, models) per family.
const VARIANTS: u64 = 24;

/// The price, in cents, from which an item is "high value" (fast returns of
/// such items are what wardrobing looks like).
pub const HIGH_VALUE_CENTS: u64 = 2000 * 100;

pub struct Product {
    pub sku: String,
    pub category: u8,
    pub cents: u64,
    /// The price as written: `"199.00"`.
    pub price: String,
}

pub struct Catalog {
    pub products: Vec<Product>,
    pub by_category: Vec<Vec<u32>>,
    /// Products of HIGH_VALUE_CENTS or more in electronics, bags, sports and jewelry.
    pub high_value: Vec<u32>,
}

impl Catalog {
    pub fn new(rng: &mut Rng) -> Self {
        let mut products = Vec::new();
        let mut by_category = vec![Vec::new(); CATEGORIES.len()];
        let mut high_value = Vec::new();
        for &(category, stem, lo, hi) in FAMILIES {
            for v in 1..=VARIANTS {
                // Skewed towards the cheap end: lo + (hi - lo)·u².
                let u = rng.below(1001);
                let mut units = lo + (hi - lo) * u * u / 1_000_000;
                units = (units / 10 * 10 + 9).min(hi);
                let mut cents = units * 100;
                if units < 200 && rng.chance(250) {
                    cents -= 10;
                }
                let index = products.len() as u32;
                by_category[usize::from(category)].push(index);
                if cents >= HIGH_VALUE_CENTS && matches!(category, ELECTRONICS | BAGS | SPORTS | JEWELRY) {
                    high_value.push(index);
                }
                products.push(Product {
                    sku: format!("{stem}-{v:03}"),
                    category,
                    cents,
                    price: format!("{}.{:02}", cents / 100, cents % 100),
                });
            }
        }
        Catalog {
            products,
            by_category,
            high_value,
        }
    }

    pub fn product(&self, index: u32) -> &Product {
        &self.products[index as usize]
    }

    /// A product of `category`, uniformly.
    pub fn pick(&self, rng: &mut Rng, category: u8) -> u32 {
        let list = &self.by_category[usize::from(category)];
        list[rng.index(list.len())]
    }
}
