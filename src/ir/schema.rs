//! What a policy can read (docs/language.md §4): every field with its type and whether it
//! may be missing, resolved at check time to an enum the evaluator matches on.

use super::types::Ty;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    OrderId,
    OrderCustomerId,
    OrderCurrency,
    OrderPlacedAt,
    OrderPaidAt,
    OrderShippedAt,
    OrderDeliveredAt,
    OrderTotal,
    OrderShippingFee,
    OrderShippingInsurance,
    OrderTags,
    ItemSku,
    ItemCategory,
    ItemUnitPrice,
    ItemQuantity,
    ItemOrderedQuantity,
    ItemAmount,
    ItemCondition,
    ItemTags,
    /// `item.inspection.*`: what the warehouse found, at the inspection stage.
    InspectedAt,
    InspectedCondition,
    InspectedQuantity,
    InspectedTagsAttached,
    InspectedPackagingIntact,
    InspectedSerial,
    InspectedSkuMatch,
    InspectedPhotos,
    ReturnId,
    ReturnRequestedAt,
    ReturnType,
    ReturnReason,
    ReturnEvidence,
    ReturnAmount,
    ReturnItemCount,
    CustomerId,
    CustomerCreatedAt,
    CustomerVip,
    CustomerTags,
    /// The kinds of restriction in force on the customer at the request.
    CustomerRestrictions,
}

/// One readable field: `root.name`, its type, and whether a case may lack it.
pub struct FieldInfo {
    pub root: &'static str,
    pub name: &'static str,
    pub field: Field,
    pub ty: Ty,
    pub optional: bool,
}

const fn f(root: &'static str, name: &'static str, field: Field, ty: Ty, optional: bool) -> FieldInfo {
    FieldInfo {
        root,
        name,
        field,
        ty,
        optional,
    }
}

pub const FIELDS: &[FieldInfo] = &[
    f("order", "id", Field::OrderId, Ty::Str, false),
    f("order", "customer_id", Field::OrderCustomerId, Ty::Str, false),
    f("order", "currency", Field::OrderCurrency, Ty::Str, false),
    f("order", "placed_at", Field::OrderPlacedAt, Ty::Time, false),
    f("order", "paid_at", Field::OrderPaidAt, Ty::Time, true),
    f("order", "shipped_at", Field::OrderShippedAt, Ty::Time, true),
    f("order", "delivered_at", Field::OrderDeliveredAt, Ty::Time, true),
    f("order", "total", Field::OrderTotal, Ty::Dec, false),
    f("order", "shipping_fee", Field::OrderShippingFee, Ty::Dec, false),
    f(
        "order",
        "shipping_insurance",
        Field::OrderShippingInsurance,
        Ty::Bool,
        false,
    ),
    f("order", "tags", Field::OrderTags, Ty::List, false),
    f("item", "sku", Field::ItemSku, Ty::Str, false),
    f("item", "category", Field::ItemCategory, Ty::Str, false),
    f("item", "unit_price", Field::ItemUnitPrice, Ty::Dec, false),
    f("item", "quantity", Field::ItemQuantity, Ty::Int, false),
    f("item", "ordered_quantity", Field::ItemOrderedQuantity, Ty::Int, false),
    f("item", "amount", Field::ItemAmount, Ty::Dec, false),
    f("item", "condition", Field::ItemCondition, Ty::Str, false),
    f("item", "tags", Field::ItemTags, Ty::List, false),
    // An inspection's findings (docs/language.md §4.5): read only by rules
    // `at inspection`, which run on a line once it has one; `optional` says
    // which findings an inspection may leave out.
    f("item", "inspection.at", Field::InspectedAt, Ty::Time, false),
    f(
        "item",
        "inspection.condition",
        Field::InspectedCondition,
        Ty::Str,
        false,
    ),
    f(
        "item",
        "inspection.quantity_received",
        Field::InspectedQuantity,
        Ty::Int,
        false,
    ),
    f(
        "item",
        "inspection.tags_attached",
        Field::InspectedTagsAttached,
        Ty::Bool,
        true,
    ),
    f(
        "item",
        "inspection.packaging_intact",
        Field::InspectedPackagingIntact,
        Ty::Bool,
        true,
    ),
    f("item", "inspection.serial", Field::InspectedSerial, Ty::Str, true),
    f("item", "inspection.sku_match", Field::InspectedSkuMatch, Ty::Bool, true),
    f("item", "inspection.photos", Field::InspectedPhotos, Ty::List, false),
    f("return", "id", Field::ReturnId, Ty::Str, false),
    f("return", "requested_at", Field::ReturnRequestedAt, Ty::Time, false),
    f("return", "type", Field::ReturnType, Ty::Str, false),
    f("return", "reason", Field::ReturnReason, Ty::Str, false),
    f("return", "evidence", Field::ReturnEvidence, Ty::List, false),
    f("return", "amount", Field::ReturnAmount, Ty::Dec, false),
    f("return", "item_count", Field::ReturnItemCount, Ty::Int, false),
    f("customer", "id", Field::CustomerId, Ty::Str, false),
    f("customer", "created_at", Field::CustomerCreatedAt, Ty::Time, true),
    f("customer", "vip", Field::CustomerVip, Ty::Bool, false),
    f("customer", "tags", Field::CustomerTags, Ty::List, false),
    f("customer", "restrictions", Field::CustomerRestrictions, Ty::List, false),
];

/// The field a path names, `[root, field]` or `[item, inspection, finding]`.
pub fn find_field(parts: &[&str]) -> Option<&'static FieldInfo> {
    match parts {
        [root, name] => FIELDS.iter().find(|f| f.root == *root && f.name == *name),
        ["item", "inspection", name] => FIELDS
            .iter()
            .find(|f| f.root == "item" && f.name.strip_prefix("inspection.") == Some(*name)),
        _ => None,
    }
}

/// The kinds of return request (`return.type`, and `type` inside `where`):
/// a closed set, refused in input and in a policy's comparisons alike.
pub const RETURN_TYPES: &[&str] = &["return_refund", "refund_only", "exchange"];

/// What became of an earlier return (`status` inside `where`): a closed set.
/// A backtest gives a return without one the status its verdict implies:
/// approve -> `refunded`, deny -> `rejected`, anything else -> `pending`.
pub const RETURN_STATUSES: &[&str] = &["pending", "approved", "refunded", "exchanged", "rejected", "cancelled"];

/// The closed set of values a field takes, if it has one.
pub fn closed_values(field: Field) -> Option<&'static [&'static str]> {
    match field {
        Field::ReturnType => Some(RETURN_TYPES),
        Field::CustomerRestrictions => Some(super::life::RESTRICTION_KINDS),
        _ => None,
    }
}

/// The field whose declared words a field shares: the condition an
/// inspection finds is one of `item.condition`'s words.
pub fn vocabulary_field(field: Field) -> Field {
    match field {
        Field::InspectedCondition => Field::ItemCondition,
        f => f,
    }
}

/// The closed set of values a past event's field takes, if it has one.
pub fn closed_event_values(field: EventField) -> Option<&'static [&'static str]> {
    match field {
        EventField::ReturnType => Some(RETURN_TYPES),
        EventField::ReturnStatus => Some(RETURN_STATUSES),
        _ => None,
    }
}

/// What one of a closed set's values is called, and what they all are, in
/// messages: `"x" is not a return type`, `return types are …`.
pub fn closed_noun(values: &[&str]) -> (&'static str, &'static str) {
    if std::ptr::eq(values, RETURN_STATUSES) {
        ("a return status", "return statuses")
    } else if std::ptr::eq(values, super::life::RESTRICTION_KINDS) {
        ("a kind of restriction", "the kinds of restriction")
    } else {
        ("a return type", "return types")
    }
}

/// The open fields whose words a policy may declare (`values FIELD = […]`),
/// with what the words are called in messages. Tags are left out: they are
/// labels many systems add for their own ends, and a policy reads a few.
pub const DECLARABLE: &[(Field, &str)] = &[
    (Field::ReturnReason, "reasons"),
    (Field::ItemCategory, "categories"),
    (Field::ItemCondition, "conditions"),
    (Field::ReturnEvidence, "kinds of evidence"),
];

/// The word rpl gives `item.condition` when the input names none: always
/// allowed, declared or not, since no input can be refused for leaving out
/// an optional key.
pub const UNKNOWN_CONDITION: &str = "unknown";

/// The open field whose vocabulary a past event's field shares: a past
/// return's `reason` is `return.reason`'s.
pub fn event_vocabulary_field(field: EventField) -> Option<Field> {
    match field {
        EventField::ReturnReason => Some(Field::ReturnReason),
        _ => None,
    }
}

pub const ROOTS: [&str; 4] = ["order", "item", "return", "customer"];

pub fn field_info(field: Field) -> &'static FieldInfo {
    FIELDS.iter().find(|i| i.field == field).unwrap_or(&FIELDS[0])
}

/// The history an aggregate runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Orders,
    Returns,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Orders => "orders",
            Source::Returns => "returns",
        }
    }
}

/// A field of a past order or return, in scope by its bare name inside `where`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventField {
    OrderId,
    OrderPlacedAt,
    OrderTotal,
    OrderTags,
    ReturnId,
    ReturnOrderId,
    ReturnRequestedAt,
    ReturnType,
    ReturnReason,
    ReturnAmount,
    ReturnStatus,
}

pub const EVENT_FIELDS: &[(Source, &str, EventField, Ty)] = &[
    (Source::Orders, "id", EventField::OrderId, Ty::Str),
    (Source::Orders, "placed_at", EventField::OrderPlacedAt, Ty::Time),
    (Source::Orders, "total", EventField::OrderTotal, Ty::Dec),
    (Source::Orders, "tags", EventField::OrderTags, Ty::List),
    (Source::Returns, "id", EventField::ReturnId, Ty::Str),
    (Source::Returns, "order_id", EventField::ReturnOrderId, Ty::Str),
    (Source::Returns, "requested_at", EventField::ReturnRequestedAt, Ty::Time),
    (Source::Returns, "type", EventField::ReturnType, Ty::Str),
    (Source::Returns, "reason", EventField::ReturnReason, Ty::Str),
    (Source::Returns, "amount", EventField::ReturnAmount, Ty::Dec),
    (Source::Returns, "status", EventField::ReturnStatus, Ty::Str),
];
