//! Compiled reads of the case's fields and of a past event's fields in a `where`.

use super::*;

pub(super) fn event_type(f: EventField) -> Static {
    match f {
        EventField::OrderId
        | EventField::ReturnId
        | EventField::ReturnOrderId
        | EventField::ReturnType
        | EventField::ReturnReason
        | EventField::ReturnStatus => Static::Str,
        EventField::OrderPlacedAt | EventField::ReturnRequestedAt => Static::Time,
        EventField::OrderTotal | EventField::ReturnAmount => Static::Dec,
        EventField::OrderTags => Static::Other,
    }
}

pub(super) fn case_str<G>(id: NodeId, get: G) -> Closure
where
    G: for<'a> Fn(&'a Case) -> &'a str + Send + Sync + 'static,
{
    Closure::Str(Box::new(move |f| {
        f.steps += 1;
        f.case.map(&get).ok_or(missing(id))
    }))
}

pub(super) fn case_val<V, G>(id: NodeId, get: G, wrap: fn(Fun<V>) -> Closure) -> Closure
where
    V: 'static,
    G: Fn(&Case) -> Option<V> + Send + Sync + 'static,
{
    wrap(Box::new(move |f| {
        f.steps += 1;
        f.case.and_then(&get).ok_or(missing(id))
    }))
}

pub(super) fn line_str<G>(id: NodeId, get: G) -> Closure
where
    G: for<'a> Fn(&'a crate::data::ReturnLine) -> &'a str + Send + Sync + 'static,
{
    Closure::Str(Box::new(move |f| {
        f.steps += 1;
        match (f.case, f.line) {
            (Some(_), Some(l)) => Ok(get(l)),
            _ => Err(missing(id)),
        }
    }))
}

pub(super) fn line_val<V, G>(id: NodeId, get: G, wrap: fn(Fun<V>) -> Closure) -> Closure
where
    V: 'static,
    G: Fn(&crate::data::ReturnLine) -> V + Send + Sync + 'static,
{
    wrap(Box::new(move |f| {
        f.steps += 1;
        match (f.case, f.line) {
            (Some(_), Some(l)) => Ok(get(l)),
            _ => Err(missing(id)),
        }
    }))
}

/// A finding of the line's inspection, missing when the line has none (or
/// the inspection left it out).
pub(super) fn inspected_val<V, G>(id: NodeId, get: G, wrap: fn(Fun<V>) -> Closure) -> Closure
where
    V: 'static,
    G: Fn(&crate::data::Inspection) -> Option<V> + Send + Sync + 'static,
{
    wrap(Box::new(move |f| {
        f.steps += 1;
        match (f.case, f.line) {
            (Some(_), Some(l)) => l.inspection.as_ref().and_then(&get).ok_or(missing(id)),
            _ => Err(missing(id)),
        }
    }))
}

pub(super) fn inspected_str<G>(id: NodeId, get: G) -> Closure
where
    G: for<'a> Fn(&'a crate::data::Inspection) -> Option<&'a str> + Send + Sync + 'static,
{
    Closure::Str(Box::new(move |f| {
        f.steps += 1;
        match (f.case, f.line) {
            (Some(_), Some(l)) => l.inspection.as_ref().and_then(&get).ok_or(missing(id)),
            _ => Err(missing(id)),
        }
    }))
}

pub(super) fn field_code(field: Field, id: NodeId) -> Closure {
    match field {
        Field::OrderId => case_str(id, |c| c.order.id.as_str()),
        Field::OrderCustomerId => case_str(id, |c| c.order.customer_id.as_str()),
        Field::OrderCurrency => case_str(id, |c| c.order.currency.as_str()),
        Field::OrderPlacedAt => case_val(id, |c| Some(c.order.placed_at), Closure::Time),
        Field::OrderPaidAt => case_val(id, |c| c.order.paid_at, Closure::Time),
        Field::OrderShippedAt => case_val(id, |c| c.order.shipped_at, Closure::Time),
        Field::OrderDeliveredAt => case_val(id, |c| c.order.delivered_at, Closure::Time),
        Field::OrderTotal => case_val(id, |c| Some(c.order.total), Closure::Dec),
        Field::OrderShippingFee => case_val(id, |c| Some(c.order.shipping_fee), Closure::Dec),
        Field::OrderShippingInsurance => case_val(id, |c| Some(c.order.shipping_insurance), Closure::Bool),
        Field::ItemSku => line_str(id, |l| l.sku.as_str()),
        Field::ItemCategory => line_str(id, |l| l.category.as_str()),
        Field::ItemUnitPrice => line_val(id, |l| l.unit_price, Closure::Dec),
        Field::ItemQuantity => line_val(id, |l| l.quantity, Closure::Int),
        Field::ItemOrderedQuantity => line_val(id, |l| l.ordered_quantity, Closure::Int),
        Field::ItemAmount => line_val(id, |l| l.amount, Closure::Dec),
        Field::ItemCondition => line_str(id, |l| l.condition.as_str()),
        Field::ReturnId => case_str(id, |c| c.ret.id.as_str()),
        Field::ReturnRequestedAt => case_val(id, |c| Some(c.ret.requested_at), Closure::Time),
        Field::ReturnType => case_str(id, |c| c.ret.kind.as_str()),
        Field::ReturnReason => case_str(id, |c| c.ret.reason.as_str()),
        Field::ReturnAmount => case_val(id, |c| Some(c.ret.amount), Closure::Dec),
        Field::ReturnItemCount => case_val(id, |c| Some(c.ret.items.len() as i64), Closure::Int),
        Field::CustomerId => case_str(id, |c| c.customer.id.as_str()),
        Field::CustomerCreatedAt => case_val(id, |c| c.customer.created_at, Closure::Time),
        Field::CustomerVip => case_val(id, |c| Some(c.customer.vip), Closure::Bool),
        Field::InspectedAt => inspected_val(id, |i| Some(i.at), Closure::Time),
        Field::InspectedCondition => inspected_str(id, |i| Some(i.condition.as_str())),
        Field::InspectedQuantity => inspected_val(id, |i| Some(i.quantity_received), Closure::Int),
        Field::InspectedTagsAttached => inspected_val(id, |i| i.tags_attached, Closure::Bool),
        Field::InspectedPackagingIntact => inspected_val(id, |i| i.packaging_intact, Closure::Bool),
        Field::InspectedSerial => inspected_str(id, |i| i.serial.as_deref()),
        Field::InspectedSkuMatch => inspected_val(id, |i| i.sku_match, Closure::Bool),
        Field::OrderTags
        | Field::ItemTags
        | Field::ReturnEvidence
        | Field::CustomerTags
        | Field::InspectedPhotos
        | Field::CustomerRestrictions => generic(id),
    }
}

pub(super) fn event_str<G>(id: NodeId, get: G) -> Closure
where
    G: for<'a> Fn(Event<'a>) -> Option<&'a str> + Send + Sync + 'static,
{
    Closure::Str(Box::new(move |f| {
        f.steps += 1;
        f.event.and_then(&get).ok_or(missing(id))
    }))
}

pub(super) fn event_val<V, G>(id: NodeId, get: G, wrap: fn(Fun<V>) -> Closure) -> Closure
where
    V: 'static,
    G: Fn(Event<'_>) -> Option<V> + Send + Sync + 'static,
{
    wrap(Box::new(move |f| {
        f.steps += 1;
        f.event.and_then(&get).ok_or(missing(id))
    }))
}

pub(super) fn event_code(field: EventField, id: NodeId) -> Closure {
    use Event::{Order, Return};
    match field {
        EventField::OrderId => event_str(id, |e| if let Order(o) = e { Some(o.id.as_str()) } else { None }),
        EventField::OrderPlacedAt => event_val(
            id,
            |e| if let Order(o) = e { Some(o.placed_at) } else { None },
            Closure::Time,
        ),
        EventField::OrderTotal => event_val(
            id,
            |e| if let Order(o) = e { Some(o.total) } else { None },
            Closure::Dec,
        ),
        EventField::ReturnId => event_str(id, |e| if let Return(r) = e { Some(r.id.as_str()) } else { None }),
        EventField::ReturnOrderId => event_str(id, |e| {
            if let Return(r) = e {
                Some(r.order_id.as_str())
            } else {
                None
            }
        }),
        EventField::ReturnRequestedAt => event_val(
            id,
            |e| if let Return(r) = e { Some(r.requested_at) } else { None },
            Closure::Time,
        ),
        EventField::ReturnType => event_str(id, |e| if let Return(r) = e { Some(r.kind.as_str()) } else { None }),
        EventField::ReturnReason => event_str(id, |e| {
            if let Return(r) = e {
                Some(r.reason.as_str())
            } else {
                None
            }
        }),
        EventField::ReturnAmount => event_val(
            id,
            |e| if let Return(r) = e { Some(r.amount) } else { None },
            Closure::Dec,
        ),
        EventField::ReturnStatus => event_str(id, |e| {
            if let Return(r) = e {
                Some(r.status.as_str())
            } else {
                None
            }
        }),
        EventField::OrderTags => generic(id),
    }
}
