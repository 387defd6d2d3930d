//! Regions of a predicated body that a backend may skip at run time.
//!
//! If-conversion computes both sides of every branch for every lane. Much of that
//! work is only *needed* on lanes where some condition holds: the value flows only
//! into the `if_true` side of selects on that condition (or the `if_false` side,
//! for the negated condition). When no lane of a group satisfies the condition —
//! scalbn's overflow steps, the extra Cody–Waite steps of sin, the tiny-argument
//! kernel — the whole computation can be skipped behind one branch, and the
//! selects see an arbitrary value they then discard.
//!
//! [`schedule`] finds, for every value, the condition it is needed under (a
//! backward pass over the uses) and groups runs of values needed under the same
//! condition into [`Region`]s. It knows nothing of vectors or branches: a backend
//! decides how to test "some lane satisfies the condition".

use super::{PInst, PValue, Predicated};

/// One step of a schedule.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// Compute this value (constants never appear: they are free).
    Value(PValue),
    Region(Region),
}

/// Values needed only on lanes where `when` holds (`negated`: where it does not).
#[derive(Clone, Debug, PartialEq)]
pub struct Region {
    pub when: PValue,
    pub negated: bool,
    pub items: Vec<Item>,
    /// Values computed inside that are used after it.
    pub outputs: Vec<PValue>,
}

/// The lanes a value matters on: where every condition of the list holds (a
/// condition and whether it is negated), outermost first; `None` for an unused
/// value, the empty list for "always".
type Need = Option<Vec<(PValue, bool)>>;

/// A need covering both: the conditions they have in common.
fn merge(a: &Need, b: Vec<(PValue, bool)>) -> Need {
    Some(match a {
        None => b,
        Some(a) => a.iter().filter(|c| b.contains(c)).copied().collect(),
    })
}

/// The body in an order a backend can emit, with regions of at least `min_size`
/// values (smaller ones are inlined).
pub fn schedule(p: &Predicated, min_size: usize) -> Vec<Item> {
    let n = p.insts.len();
    let mut need: Vec<Need> = vec![None; n];
    need[p.result.0 as usize] = Some(Vec::new());
    for g in &p.guards {
        need[g.when.0 as usize] = Some(Vec::new());
    }
    for i in (0..n).rev() {
        let Some(here) = need[i].clone() else {
            continue;
        };
        let mut add = |v: PValue, x: Vec<(PValue, bool)>| {
            let slot = &mut need[v.0 as usize];
            *slot = merge(slot, x);
        };
        match &p.insts[i] {
            PInst::Select {
                cond,
                if_true,
                if_false,
            } => {
                // A condition cannot be needed under itself: it is computed before
                // the branch that tests it.
                let cond_need = here.iter().filter(|(c, _)| c != cond).copied().collect();
                add(*cond, cond_need);
                let with = |negated: bool| {
                    let mut x = here.clone();
                    if !x.iter().any(|(c, _)| c == cond) {
                        x.push((*cond, negated));
                    }
                    x
                };
                add(*if_true, with(false));
                add(*if_false, with(true));
            }
            inst => inst.for_each_operand(|v| add(v, here.clone())),
        }
    }
    // Regions are runs of values in program order (if-conversion emits a branch's
    // values together) that share one need; values needed always that do not use
    // the open region are hoisted above it, the others close it. Regions do not
    // nest: a region's outputs are then visible to everything after it.
    let mut top: Vec<Item> = Vec::new();
    let mut visible = vec![false; n];
    let mut open: Option<((PValue, bool), Vec<PValue>)> = None;
    let close = |open: &mut Option<((PValue, bool), Vec<PValue>)>,
                 top: &mut Vec<Item>,
                 visible: &mut Vec<bool>| {
        if let Some(((when, negated), values)) = open.take() {
            for v in &values {
                visible[v.0 as usize] = true;
            }
            if values.len() >= min_size && visible[when.0 as usize] {
                top.push(Item::Region(Region {
                    when,
                    negated,
                    items: values.into_iter().map(Item::Value).collect(),
                    outputs: Vec::new(),
                }));
            } else {
                top.extend(values.into_iter().map(Item::Value));
            }
        }
    };
    for i in 0..n {
        let v = PValue(i as u32);
        if matches!(p.insts[i], PInst::Const { .. }) {
            continue;
        }
        let Some(this) = &need[i] else {
            continue;
        };
        match this.first().copied() {
            Some((c, negated)) => {
                if open.as_ref().is_some_and(|(key, _)| *key != (c, negated)) {
                    close(&mut open, &mut top, &mut visible);
                }
                open.get_or_insert_with(|| ((c, negated), Vec::new()))
                    .1
                    .push(v);
            }
            _ => {
                let uses_open = open.as_ref().is_some_and(|(_, values)| {
                    let mut uses = false;
                    p.insts[i].for_each_operand(|o| uses |= values.contains(&o));
                    uses
                });
                if uses_open {
                    close(&mut open, &mut top, &mut visible);
                }
                top.push(Item::Value(v));
                visible[i] = true;
            }
        }
    }
    close(&mut open, &mut top, &mut visible);
    let mut used_after = vec![false; n];
    mark_outputs(p, &mut top, &mut used_after);
    top
}

/// Fills in each region's outputs, walking the schedule backwards; `used` holds
/// the values used by everything after the current point.
fn mark_outputs(p: &Predicated, items: &mut [Item], used: &mut [bool]) {
    let mark_uses =
        |v: PValue, used: &mut [bool]| p.inst(v).for_each_operand(|o| used[o.0 as usize] = true);
    for item in items.iter_mut().rev() {
        match item {
            Item::Value(v) => mark_uses(*v, used),
            Item::Region(r) => {
                let mut defined = Vec::new();
                collect_defined(&r.items, &mut defined);
                r.outputs = defined.into_iter().filter(|v| used[v.0 as usize]).collect();
                mark_outputs(p, &mut r.items, used);
                used[r.when.0 as usize] = true;
            }
        }
    }
}

fn collect_defined(items: &[Item], out: &mut Vec<PValue>) {
    for i in items {
        match i {
            Item::Value(v) => out.push(*v),
            Item::Region(r) => collect_defined(&r.items, out),
        }
    }
}
