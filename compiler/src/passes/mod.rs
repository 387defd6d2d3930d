//! Passes over kern IR: transformations that keep a program's meaning bit for bit.
//!
//! [`optimize`] is the one list of passes every program gets before it is compiled
//! or interpreted; a new pass goes there and nowhere else. [`predicate`] is not in
//! that list: it turns an element function into the straight-line, predicated form
//! the SIMD path of the Cranelift backend compiles, on demand. Passes read and
//! write [`crate::ir`] only; they know nothing of the syntax, the checker or any
//! backend.

pub mod bounds;
pub mod cse;
pub mod fold;
mod for_range;
pub mod forward;
pub mod inline;
pub mod jam;
pub mod licm;
pub mod predicate;
mod rename;
pub mod unroll;

use crate::ir::Program;

/// The IR passes every program gets before it is compiled or interpreted, in order.
pub fn optimize(program: &mut Program) {
    bounds::eliminate_program(program);
    inline::inline_small_functions(program, inline::DEFAULT_MAX_INSTS);
    fold::fold_program(program);
    unroll::unroll_program(program);
    fold::fold_program(program);
    forward::forward_program(program);
    fold::fold_program(program);
    bounds::eliminate_program(program);
    licm::hoist_program(program);
    cse::eliminate_program(program);
    debug_assert!(
        crate::ir::verify::verify_program(program).is_ok(),
        "{:?}",
        crate::ir::verify::verify_program(program)
    );
}

/// What the passes that find values already computed (`forward`, `cse`)
/// share: `find` walks the body of `f`, removes the instructions whose value
/// it finds elsewhere and returns that value for each removed result; then
/// every use of those results reads it instead. Host code (interpreted
/// `main`, the only function with host instructions) is left as it is.
fn replace_found(
    f: &mut crate::ir::Function,
    find: impl FnOnce(
        &crate::ir::Function,
        &mut crate::ir::Block,
    ) -> crate::collections::HashMap<crate::ir::ValueId, crate::ir::ValueId>,
) {
    if f.kind == crate::ir::FunctionKind::Main {
        return;
    }
    let mut body = std::mem::take(&mut f.body);
    let found = find(f, &mut body);
    if !found.is_empty() {
        rename::replace_uses(&mut body, &found);
    }
    f.body = body;
}

/// What the passes' tests share.
#[cfg(test)]
mod tests {
    use crate::ir::Program;

    /// The program of `src` as lowered, before any pass: what the passes' tests
    /// start from.
    pub(crate) fn lowered(src: &str) -> Program {
        crate::frontend::compile_text_unoptimized("t.kern", src)
            .unwrap_or_else(|e| panic!("{e}"))
            .0
            .program
    }

    /// Runs `f(a)` (one `i64`) in the interpreter on `before` and `after` (a
    /// pass's input and output) and asserts the same outcome, a trap and its
    /// location included.
    pub(crate) fn same_results(before: &Program, after: &Program, args: &[i64]) {
        let id = before.find("f").unwrap();
        for &a in args {
            let run = |p: &Program| {
                crate::interp::Interpreter::new(p).call_scalars(
                    id,
                    &[crate::ir::ScalarValue::I64(a)],
                    &mut std::io::sink(),
                )
            };
            assert_eq!(run(before), run(after), "f({a})");
        }
    }
}
