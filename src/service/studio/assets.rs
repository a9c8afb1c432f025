//! What the studio serves from inside the binary: the built page (the
//! committed bundle in `studio/dist/`, made by `studio/build.mjs`), and the
//! shipped policies, suites, snapshots and example cases, so `rpl serve` and
//! `rpl studio` need no file and no network at run time.
//!
//! `tests/studio.rs` holds the list of shipped files to what is on disk: a
//! policy, case or snapshot added to the repository and not here fails it.

/// A file of the page: its name under `/studio/`, its type, its bytes.
pub(super) struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! dist {
    ($name:literal, $type:literal) => {
        Asset {
            name: $name,
            content_type: $type,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/studio/dist/", $name)),
        }
    };
}

/// The page, served at `/`.
pub(super) const INDEX: Asset = dist!("index.html", "text/html; charset=utf-8");

/// Everything the page loads, served at `/studio/NAME`.
pub(super) const ASSETS: &[Asset] = &[
    dist!("app.js", "text/javascript; charset=utf-8"),
    dist!("app.css", "text/css; charset=utf-8"),
    dist!("icon.svg", "image/svg+xml"),
];

macro_rules! shipped {
    ($($path:literal,)*) => {
        &[$(($path, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $path)))),*]
    };
}

/// The shipped files, by their path in the repository, sorted.
pub(super) const SHIPPED: &[(&str, &str)] = shipped![
    "examples/electronics/activated_phone_denied.json",
    "examples/electronics/buyer_damaged_half_refund.json",
    "examples/electronics/day15_withdrawal_denied.json",
    "examples/electronics/defect_after_15_days_review.json",
    "examples/electronics/defect_day10_merchant_pays.json",
    "examples/electronics/opened_headphones_restocking_fee.json",
    "examples/electronics/partial_activated_phone_and_case.json",
    "examples/electronics/serial_mismatch_review.json",
    "examples/electronics/unopened_day14_withdrawal_approved.json",
    "examples/fashion/day30_unused_approved.json",
    "examples/fashion/day31_too_late_denied.json",
    "examples/fashion/defect_without_photo_review.json",
    "examples/fashion/final_sale_defect_approved.json",
    "examples/fashion/final_sale_denied.json",
    "examples/fashion/partial_sweater_and_final_sale_sunglasses.json",
    "examples/fashion/vip_free_return_shipping.json",
    "examples/fashion/worn_dress_restocking_fee.json",
    "examples/marketplace/day7_changed_mind_approved.json",
    "examples/marketplace/day8_too_late_denied.json",
    "examples/marketplace/engraved_ring_defect_approved.json",
    "examples/marketplace/missing_accessories_denied.json",
    "examples/marketplace/not_delivered_review.json",
    "examples/marketplace/opened_game_software_denied.json",
    "examples/marketplace/partial_fresh_cherries_and_teaset.json",
    "examples/marketplace/serial_returner_review.json",
    "examples/marketplace/underwear_confirmed_final_sale_denied.json",
    "examples/marketplace/wrong_item_day12_merchant_pays.json",
    "examples/risk/clean_return_approved.json",
    "examples/risk/heavy_refunder_denied.json",
    "examples/risk/new_account_phone_next_day_review.json",
    "examples/risk/new_account_transit_damage_approved.json",
    "examples/risk/not_received_but_signed_review.json",
    "examples/risk/refund_only_not_received_denied.json",
    "examples/risk/serial_returner_review.json",
    "examples/risk/vip_frequent_returner_approved.json",
    "policies/electronics.rpl",
    "policies/electronics.test.toml",
    "policies/electronics.test.toml.snap/example_activated_phone_denied_its_case_approved.json",
    "policies/electronics.test.toml.snap/example_opened_headphones_lose_10.json",
    "policies/fashion.rpl",
    "policies/fashion.test.toml",
    "policies/fashion.test.toml.snap/example_vip_returns_one_of_two_chinos_with_a_free_label.json",
    "policies/fashion.test.toml.snap/example_worn_dress_pays_a_15_restocking_fee.json",
    "policies/marketplace.rpl",
    "policies/marketplace.test.toml",
    "policies/marketplace.test.toml.snap/example_engraved_ring_with_a_defect_is_the_merchant_s_fault.json",
    "policies/marketplace.test.toml.snap/example_fresh_cherries_denied_tea_set_approved_insurance_pays.json",
    "policies/marketplace.test.toml.snap/example_seventh_return_in_30_days_goes_to_review.json",
    "policies/platform_floor.rpl",
    "policies/platform_floor.test.toml",
    "policies/risk.rpl",
    "policies/risk.test.toml",
    "policies/risk.test.toml.snap/example_serial_returner_with_a_high_refund_rate_is_held.json",
    "policies/risk.test.toml.snap/example_trusted_vip_who_returns_often_is_approved.json",
    "policies/shops/cases/gadget_abuser_day2.json",
    "policies/shops/cases/gadget_day2_opened_fee.json",
    "policies/shops/cases/gadget_day5_opened.json",
    "policies/shops/cases/gadget_day5_unused.json",
    "policies/shops/cases/gadget_day6_activated_phone.json",
    "policies/shops/cases/gadget_dead_on_arrival_day10.json",
    "policies/shops/cases/gadget_fault_day20_warranty.json",
    "policies/shops/cases/gadget_refund_only_dead_on_arrival.json",
    "policies/shops/cases/gadget_swapped_serial_day2.json",
    "policies/shops/cases/linen_abuser_day5.json",
    "policies/shops/cases/linen_day20_insured.json",
    "policies/shops/cases/linen_day20_unused.json",
    "policies/shops/cases/linen_day35_too_late.json",
    "policies/shops/cases/linen_day5_final_sale_size.json",
    "policies/shops/cases/linen_day5_washed_fee.json",
    "policies/shops/cases/linen_defect_day3_merchant_pays.json",
    "policies/shops/cases/linen_refund_only_abuser_blocked.json",
    "policies/shops/cases/linen_refund_only_in_transit.json",
    "policies/shops/cases/linen_signed_but_not_received.json",
    "policies/shops/gadget_store.rpl",
    "policies/shops/gadget_store.test.toml",
    "policies/shops/linen_house.rpl",
    "policies/shops/linen_house.test.toml",
    "policies/shops/linen_house.test.toml.snap/the_whole_verdict_on_a_floor_pinned.json",
];
