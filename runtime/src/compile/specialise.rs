//! Which gufunc calls get a loop specialised on their core extents
//! (docs/gufuncs.md, "Specialisation").
//!
//! A handle states the core extents of its call, and whether its operands' core
//! axes are C-contiguous, in its [`LoopRequest::Gufunc`]; the service compiles
//! the request as [`Admitted::admit`] returns it: specialised on them when
//! every extent is at most [`MAX_CORE_EXTENT`] and the loop has fewer than
//! [`MAX_SPECIALISED_PER_LOOP`] specialised loops so far (or has this one; the
//! contiguous and the strided loop of one set of extents are two), else as the
//! generic loop. So a module holds at most that many
//! specialised loops per gufunc instance, operand dtypes and target however
//! many distinct sizes it is called with, and a call's loop depends only on the
//! order of the sizes its module met first — never on its results, which every
//! loop computes alike, bit for bit.
//!
//! It knows requests only: not how they are built, compiled or run.

use std::borrow::Cow;
use std::collections::HashMap;

use kern_compiler::loops::gufunc_loop::CoreSpecialisation;

use super::LoopRequest;

/// The largest core extent a loop is specialised on.
pub const MAX_CORE_EXTENT: usize = 16;

/// How many distinct sets of core extents one generic loop is specialised on.
pub const MAX_SPECIALISED_PER_LOOP: usize = 8;

/// The core extents admitted so far, per generic loop.
#[derive(Default)]
pub(super) struct Admitted {
    per_loop: HashMap<LoopRequest, Vec<CoreSpecialisation>>,
}

impl Admitted {
    /// `request` as the service compiles it: a gufunc's with its core extents
    /// when they are admitted, else without them (the generic loop); any other
    /// request as it is.
    pub fn admit<'r>(&mut self, request: &'r LoopRequest) -> Cow<'r, LoopRequest> {
        let LoopRequest::Gufunc {
            gufunc,
            type_args,
            nin,
            signature,
            core: Some(core),
        } = request
        else {
            return Cow::Borrowed(request);
        };
        let generic = LoopRequest::Gufunc {
            gufunc: gufunc.clone(),
            type_args: type_args.clone(),
            nin: *nin,
            signature: signature.clone(),
            core: None,
        };
        let axes = || core.extents.iter().flatten();
        // Without core axes there is nothing to specialise on.
        if axes().next().is_none() || axes().any(|&e| e > MAX_CORE_EXTENT) {
            return Cow::Owned(generic);
        }
        let admitted = self.per_loop.entry(generic.clone()).or_default();
        if admitted.contains(core) {
            return Cow::Borrowed(request);
        }
        if admitted.len() < MAX_SPECIALISED_PER_LOOP {
            admitted.push(core.clone());
            return Cow::Borrowed(request);
        }
        Cow::Owned(generic)
    }
}
