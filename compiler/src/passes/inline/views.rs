//! Inlining through sub-views: a callee parameter bound to `Arg::SubView { array,
//! index }` has its accesses rewritten to `array` with `index` prepended, and a
//! callee that would need a sub-view of such a parameter is left a call. Knows the
//! inliner's renaming state, nothing else.

use super::{remap, Inliner};
use crate::ir::*;

impl Inliner<'_> {
    /// A callee instruction that accesses a sub-view parameter, rewritten to the
    /// parent array (a caller local) with the sub-view's index (a caller value)
    /// prepended; its own values renamed with `v`. `None` when it touches no
    /// sub-view parameter. Works on the callee's original ids, before renaming, so
    /// callee and caller ids never mix up.
    pub(super) fn through_views(
        &self,
        kind: &InstKind,
        v: impl Fn(&ValueId) -> ValueId,
    ) -> Option<InstKind> {
        let view = |l: &LocalId| self.views.get(l).copied();
        match kind {
            InstKind::ArrayLen { array, axis } => {
                let (parent, _) = view(array)?;
                Some(InstKind::ArrayLen {
                    array: parent,
                    axis: axis + 1,
                })
            }
            InstKind::ArrayStride { array, axis } => {
                let (parent, _) = view(array)?;
                Some(InstKind::ArrayStride {
                    array: parent,
                    axis: axis + 1,
                })
            }
            InstKind::Load { array, .. } | InstKind::Store { array, .. } => {
                // The same access of the parent, with the sub-view's index first.
                let (parent, index) = view(array)?;
                let mut access = remap(kind, &v, |_| parent);
                if let InstKind::Load { indices, .. } | InstKind::Store { indices, .. } =
                    &mut access
                {
                    indices.insert(0, index);
                }
                Some(access)
            }
            InstKind::Call { callee, args } => {
                let touches = args
                    .iter()
                    .any(|a| matches!(a, Arg::Array(l) if view(l).is_some()));
                if !touches {
                    return None;
                }
                let l = |x: &LocalId| self.locals_now.get(x).copied().unwrap_or(*x);
                Some(InstKind::Call {
                    callee: *callee,
                    args: args
                        .iter()
                        .map(|a| match a {
                            Arg::Array(x) => match view(x) {
                                Some((array, index)) => Arg::SubView { array, index },
                                None => Arg::Array(l(x)),
                            },
                            Arg::Value(x) => Arg::Value(v(x)),
                            Arg::SubView { array, index } => Arg::SubView {
                                array: l(array),
                                index: v(index),
                            },
                        })
                        .collect(),
                })
            }
            _ => None,
        }
    }
}

/// Whether inlining `callee` with `args` would need a sub-view of a sub-view: the
/// callee passes a sub-view of a parameter that itself receives a sub-view.
pub(super) fn nests_sub_views(callee: &Function, args: &[Arg]) -> bool {
    let viewed: Vec<LocalId> = callee
        .params
        .iter()
        .zip(args)
        .filter(|(_, a)| matches!(a, Arg::SubView { .. }))
        .map(|(p, _)| p.local)
        .collect();
    let passes_a_view = |inst: &Inst| match &inst.kind {
        InstKind::Call { args, .. } => args
            .iter()
            .any(|a| matches!(a, Arg::SubView { array, .. } if viewed.contains(array))),
        _ => false,
    };
    !viewed.is_empty() && callee.body.insts_deep().any(passes_a_view)
}
