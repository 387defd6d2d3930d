//! The hash maps and sets the compiler uses: `rustc-hash`'s Fx hashing, as
//! rustc's own. Their keys are ids (`ValueId`, `FuncId`, `LocalId`) and names of
//! one program, hashed millions of times a compile; SipHash (the standard
//! library's default, built against flooding by untrusted keys) was a third of
//! the front end's time. Build them with `default()` (or `collect()`), not
//! `new()`.

pub use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
