//! The combiners the reduction and fold loops' tests fold with, the values
//! they fold (with the edge cases of each type) and the byte buffers those
//! values live in.
#![allow(dead_code)]

use kern_compiler::ir::{ArrayDesc, HostArg, Program, ScalarType, ScalarValue};
use kern_compiler::{frontend, SourceMap};
use proptest::prelude::*;

use ScalarType as T;

/// Sums, products, maxima and minima of both float types, a combiner with a
/// branch, combiners that expose the order (`2a + b`), wrapping integer sums
/// (of 8- to 64-bit integers) and one that can trap (division by an element).
pub const SOURCE: &str = r#"
#[vectorize(identity = 0)] fn add32(a: f32, b: f32) -> f32 { a + b }
#[vectorize(identity = 0)] fn add64(a: f64, b: f64) -> f64 { a + b }
#[vectorize(identity = 1)] fn mul64(a: f64, b: f64) -> f64 { a * b }
#[vectorize(identity = "reorderable")] fn max64(a: f64, b: f64) -> f64 { a.max(b) }
#[vectorize(identity = "reorderable")] fn min32(a: f32, b: f32) -> f32 { a.min(b) }
#[vectorize(identity = "reorderable")] fn larger(a: f64, b: f64) -> f64 { if a > b { a } else { b } }
#[vectorize(identity = 0)] fn skew(a: f64, b: f64) -> f64 { 2.0 * a + b }
#[vectorize(identity = 0)] fn addi(a: i64, b: i64) -> i64 { a + b }
#[vectorize(identity = 0)] fn addi32(a: i32, b: i32) -> i32 { a + b }
#[vectorize(identity = 0)] fn skewi(a: i64, b: i64) -> i64 { 2 * a + b }
#[vectorize(identity = 0)] fn quotient(a: i64, b: i64) -> i64 { a + 1000 / b }
#[vectorize(identity = 0)] fn skewi8(a: i8, b: i8) -> i8 { 2 * a + b }
#[vectorize(identity = 0)] fn addu16(a: u16, b: u16) -> u16 { a + b }
"#;

/// The combiners of [`SOURCE`] that never trap, so the Cranelift backend
/// runs them lane-parallel, with their type (`skewi` too).
pub const VECTORISED: [(&str, ScalarType); 9] = [
    ("add32", T::F32),
    ("add64", T::F64),
    ("mul64", T::F64),
    ("max64", T::F64),
    ("min32", T::F32),
    ("larger", T::F64),
    ("skew", T::F64),
    ("addi", T::I64),
    ("addi32", T::I32),
];

/// [`SOURCE`] checked and lowered, with its source map.
pub fn program() -> (Program, SourceMap) {
    checked(SOURCE)
}

/// `source` (as `t.kern`) checked and lowered, with its source map; a
/// compile error panics, rendered.
pub fn checked(source: &str) -> (Program, SourceMap) {
    let mut sources = SourceMap::new();
    let file = sources.add("t.kern", source);
    match frontend::compile(&mut sources, file) {
        Ok(c) => (c.program, sources),
        Err(d) => panic!("{}", d.render(&sources)),
    }
}

/// Whether CLIF text has vector code.
pub fn has_vectors(clif: &str) -> bool {
    ["f64x2", "f32x4", "i64x2", "i32x4", "i16x8", "i8x16"]
        .iter()
        .any(|t| clif.contains(t))
}

/// Values of `ty` with the edge cases of its kind: NaN, infinities, `-0.0`,
/// the largest and a subnormal for floats, the extremes for integers.
pub fn values(ty: ScalarType, len: usize) -> BoxedStrategy<Vec<ScalarValue>> {
    let element: BoxedStrategy<ScalarValue> = match ty {
        T::F64 | T::F32 => prop_oneof![
            4 => -1.0e3f64..1.0e3,
            2 => -1.0e-3f64..1.0e-3,
            2 => -1.0e12f64..1.0e12,
            1 => prop::sample::select(vec![
                0.0,
                -0.0,
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::MAX,
                f64::MIN_POSITIVE / 4.0,
            ]),
        ]
        .prop_map(move |v| match ty {
            T::F32 => ScalarValue::F32(v as f32),
            _ => ScalarValue::F64(v),
        })
        .boxed(),
        T::I32 => prop_oneof![any::<i32>(), -3i32..3, Just(i32::MAX), Just(i32::MIN)]
            .prop_map(ScalarValue::I32)
            .boxed(),
        _ => prop_oneof![any::<i64>(), -3i64..3, Just(i64::MAX), Just(i64::MIN)]
            .prop_map(ScalarValue::I64)
            .boxed(),
    };
    prop::collection::vec(element, len).boxed()
}

/// `values` packed as `ty` stores them.
pub fn to_bytes(ty: ScalarType, values: &[ScalarValue]) -> Vec<u8> {
    let size = ty.size_bytes();
    values
        .iter()
        .flat_map(|v| v.to_bits().to_le_bytes()[..size].to_vec())
        .collect()
}

/// The values of `ty` packed in `bytes`.
pub fn from_bytes(ty: ScalarType, bytes: &[u8]) -> Vec<ScalarValue> {
    bytes
        .chunks_exact(ty.size_bytes())
        .map(|c| {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            ScalarValue::from_bits(ty, u64::from_le_bytes(b))
        })
        .collect()
}

/// The bit patterns of `values`, to compare results bit for bit.
pub fn bits(values: &[ScalarValue]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// A descriptor from `data` on with element `shape` and `strides`.
pub fn desc(data: *mut u8, shape: &[usize], strides: &[isize]) -> HostArg {
    let mut d = ArrayDesc {
        data,
        shape: Default::default(),
        strides: Default::default(),
    };
    for (k, (&n, &s)) in shape.iter().zip(strides).enumerate() {
        d.shape[k] = n as i64;
        d.strides[k] = s as i64;
    }
    HostArg::Array(d)
}
