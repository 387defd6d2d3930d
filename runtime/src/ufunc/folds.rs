//! The loops of a ufunc's folds (`reduce`, `accumulate`), asked of the compile
//! service for the ufunc's target and handed to `exec`'s fold executors as a
//! [`FoldLoops`]: the block, scan and row loops of the accumulator's instance.
//!
//! It knows ufunc declarations and loop requests; how the folds run, and on
//! which target, is `exec`'s.

use kern_compiler::ir::Trap;

use super::resolve::ResolvedLoop;
use super::Ufunc;
use crate::array::DType;
use crate::compile::{Fold, LoopRequest};
use crate::exec::fold::FoldLoops;
use crate::exec::LoopCode;
use crate::Error;

/// The fold loops of `ufunc` at the accumulator loop `resolved`.
pub(super) struct UfuncFolds<'a> {
    ufunc: &'a Ufunc,
    resolved: Option<&'a ResolvedLoop>,
}

impl Ufunc {
    pub(super) fn folds<'a>(&'a self, resolved: Option<&'a ResolvedLoop>) -> UfuncFolds<'a> {
        UfuncFolds {
            ufunc: self,
            resolved,
        }
    }
}

impl UfuncFolds<'_> {
    fn fold(&self, elem: DType, acc: DType) -> Result<Fold, Error> {
        let resolved = self.resolved.ok_or_else(|| {
            Error::Backend("internal error: a fold loop without its accumulator loop".into())
        })?;
        Ok(Fold {
            ufunc: self.ufunc.decl.name.clone(),
            type_args: resolved.type_args.clone(),
            elem,
            acc,
        })
    }
}

impl FoldLoops for UfuncFolds<'_> {
    fn reduce(&self, elem: DType, acc: DType) -> Result<LoopCode, Error> {
        self.ufunc
            .code(&LoopRequest::Reduce(self.fold(elem, acc)?), 0)
    }

    fn scan(&self, elem: DType, acc: DType) -> Result<LoopCode, Error> {
        self.ufunc
            .code(&LoopRequest::Scan(self.fold(elem, acc)?), 0)
    }

    fn rows(&self, elem: DType, acc: DType) -> Result<LoopCode, Error> {
        self.ufunc
            .code(&LoopRequest::Rows(self.fold(elem, acc)?), 0)
    }

    fn trapped(&self, trap: Trap) -> Error {
        Error::kernel(trap, &self.ufunc.core.sources)
    }
}
