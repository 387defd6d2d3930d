//! Host arrays whose dtype is known only at run time: [`NdArray`] (owned) and the
//! operands a ufunc call takes ([`Operand`], [`OutOperand`]).
//!
//! An `NdArray` is one `ndarray::ArrayD<T>` for each of kern's eleven array dtypes
//! (`bool`, `i8`…`u64`, `f32`, `f64`), so any rank and any strides work and users
//! hand in and get back ordinary `ndarray` values. The [`Element`] trait ties a Rust
//! type to its dtype. This module owns the data types and their conversions; it
//! does not know about ufuncs, compiled code, or how arrays are printed or stored.

use ndarray::{ArrayBase, ArrayD, ArrayViewD, ArrayViewMutD, Data, DataMut, Dimension, IxDyn};

use kern_compiler::ir::ScalarValue;

pub use kern_compiler::ir::ScalarType as DType;

pub(crate) mod alloc;
pub use alloc::AllocError;
pub(crate) mod axes;
pub use axes::inverse_permutation;
pub mod construct;
pub mod display;
pub mod npy;
mod retain;
pub use retain::RetainingAllocator;

/// The element types an array can hold (`usize`/`isize` are kernel-only types:
/// their arrays are `u64`/`i64`).
pub const ARRAY_DTYPES: [DType; 11] = [
    DType::Bool,
    DType::I8,
    DType::I16,
    DType::I32,
    DType::I64,
    DType::U8,
    DType::U16,
    DType::U32,
    DType::U64,
    DType::F32,
    DType::F64,
];

pub use kern_compiler::dtype_rules::storage_dtype;

mod sealed {
    pub trait Sealed {}
}

/// A Rust type that is an array dtype of kern.
pub trait Element:
    Copy + Send + Sync + PartialEq + std::fmt::Debug + 'static + sealed::Sealed
{
    const DTYPE: DType;
    fn to_value(self) -> ScalarValue;
    /// The element, if `v` has exactly this dtype (no conversion).
    fn from_value(v: ScalarValue) -> Option<Self>;
    fn wrap(array: ArrayD<Self>) -> NdArray;
    fn unwrap_ref(array: &NdArray) -> Option<&ArrayD<Self>>;
    fn unwrap_mut(array: &mut NdArray) -> Option<&mut ArrayD<Self>>;
    fn wrap_view(view: ArrayViewD<'_, Self>) -> Operand<'_>;
    fn wrap_view_mut(view: ArrayViewMutD<'_, Self>) -> OutOperand<'_>;
}

/// Owned n-d array of any kern dtype.
#[derive(Clone, Debug, PartialEq)]
pub enum NdArray {
    Bool(ArrayD<bool>),
    I8(ArrayD<i8>),
    I16(ArrayD<i16>),
    I32(ArrayD<i32>),
    I64(ArrayD<i64>),
    U8(ArrayD<u8>),
    U16(ArrayD<u16>),
    U32(ArrayD<u32>),
    U64(ArrayD<u64>),
    F32(ArrayD<f32>),
    F64(ArrayD<f64>),
}

/// A read-only view of an array of any dtype.
#[derive(Clone, Debug)]
pub enum ArrayRef<'a> {
    Bool(ArrayViewD<'a, bool>),
    I8(ArrayViewD<'a, i8>),
    I16(ArrayViewD<'a, i16>),
    I32(ArrayViewD<'a, i32>),
    I64(ArrayViewD<'a, i64>),
    U8(ArrayViewD<'a, u8>),
    U16(ArrayViewD<'a, u16>),
    U32(ArrayViewD<'a, u32>),
    U64(ArrayViewD<'a, u64>),
    F32(ArrayViewD<'a, f32>),
    F64(ArrayViewD<'a, f64>),
}

/// A writable view of an array of any dtype.
#[derive(Debug)]
pub enum ArrayMut<'a> {
    Bool(ArrayViewMutD<'a, bool>),
    I8(ArrayViewMutD<'a, i8>),
    I16(ArrayViewMutD<'a, i16>),
    I32(ArrayViewMutD<'a, i32>),
    I64(ArrayViewMutD<'a, i64>),
    U8(ArrayViewMutD<'a, u8>),
    U16(ArrayViewMutD<'a, u16>),
    U32(ArrayViewMutD<'a, u32>),
    U64(ArrayViewMutD<'a, u64>),
    F32(ArrayViewMutD<'a, f32>),
    F64(ArrayViewMutD<'a, f64>),
}

/// Runs `$body` with `$a` bound to the typed array inside any of the dtype enums
/// (`NdArray`, `ArrayRef`, `ArrayMut`), and `$t` naming its element type.
#[macro_export]
#[doc(hidden)]
macro_rules! with_array {
    ($enum:ident, $value:expr, |$a:ident: $t:ident| $body:expr) => {
        match $value {
            $enum::Bool($a) => {
                #[allow(dead_code)]
                type $t = bool;
                $body
            }
            $enum::I8($a) => {
                #[allow(dead_code)]
                type $t = i8;
                $body
            }
            $enum::I16($a) => {
                #[allow(dead_code)]
                type $t = i16;
                $body
            }
            $enum::I32($a) => {
                #[allow(dead_code)]
                type $t = i32;
                $body
            }
            $enum::I64($a) => {
                #[allow(dead_code)]
                type $t = i64;
                $body
            }
            $enum::U8($a) => {
                #[allow(dead_code)]
                type $t = u8;
                $body
            }
            $enum::U16($a) => {
                #[allow(dead_code)]
                type $t = u16;
                $body
            }
            $enum::U32($a) => {
                #[allow(dead_code)]
                type $t = u32;
                $body
            }
            $enum::U64($a) => {
                #[allow(dead_code)]
                type $t = u64;
                $body
            }
            $enum::F32($a) => {
                #[allow(dead_code)]
                type $t = f32;
                $body
            }
            $enum::F64($a) => {
                #[allow(dead_code)]
                type $t = f64;
                $body
            }
        }
    };
}
pub use with_array;

/// Runs `$body` with `$t` naming the Rust element type of array dtype `$dtype`
/// (`usize`/`isize` as their 64-bit storage types).
#[macro_export]
#[doc(hidden)]
macro_rules! with_dtype {
    ($dtype:expr, |$t:ident| $body:expr) => {
        match $crate::array::storage_dtype($dtype) {
            $crate::array::DType::Bool => {
                #[allow(dead_code)]
                type $t = bool;
                $body
            }
            $crate::array::DType::I8 => {
                #[allow(dead_code)]
                type $t = i8;
                $body
            }
            $crate::array::DType::I16 => {
                #[allow(dead_code)]
                type $t = i16;
                $body
            }
            $crate::array::DType::I32 => {
                #[allow(dead_code)]
                type $t = i32;
                $body
            }
            $crate::array::DType::I64 | $crate::array::DType::Isize => {
                #[allow(dead_code)]
                type $t = i64;
                $body
            }
            $crate::array::DType::U8 => {
                #[allow(dead_code)]
                type $t = u8;
                $body
            }
            $crate::array::DType::U16 => {
                #[allow(dead_code)]
                type $t = u16;
                $body
            }
            $crate::array::DType::U32 => {
                #[allow(dead_code)]
                type $t = u32;
                $body
            }
            $crate::array::DType::U64 | $crate::array::DType::Usize => {
                #[allow(dead_code)]
                type $t = u64;
                $body
            }
            $crate::array::DType::F32 => {
                #[allow(dead_code)]
                type $t = f32;
                $body
            }
            $crate::array::DType::F64 => {
                #[allow(dead_code)]
                type $t = f64;
                $body
            }
        }
    };
}
pub use with_dtype;

macro_rules! element {
    ($t:ty, $variant:ident, $dtype:ident) => {
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$dtype;
            fn to_value(self) -> ScalarValue {
                ScalarValue::$variant(self)
            }
            fn from_value(v: ScalarValue) -> Option<Self> {
                match v {
                    ScalarValue::$variant(x) => Some(x),
                    _ => None,
                }
            }
            fn wrap(array: ArrayD<Self>) -> NdArray {
                NdArray::$variant(array)
            }
            fn unwrap_ref(array: &NdArray) -> Option<&ArrayD<Self>> {
                match array {
                    NdArray::$variant(a) => Some(a),
                    _ => None,
                }
            }
            fn unwrap_mut(array: &mut NdArray) -> Option<&mut ArrayD<Self>> {
                match array {
                    NdArray::$variant(a) => Some(a),
                    _ => None,
                }
            }
            fn wrap_view(view: ArrayViewD<'_, Self>) -> Operand<'_> {
                Operand::Array(ArrayRef::$variant(view))
            }
            fn wrap_view_mut(view: ArrayViewMutD<'_, Self>) -> OutOperand<'_> {
                OutOperand(ArrayMut::$variant(view))
            }
        }
    };
}

element!(bool, Bool, Bool);
element!(i8, I8, I8);
element!(i16, I16, I16);
element!(i32, I32, I32);
element!(i64, I64, I64);
element!(u8, U8, U8);
element!(u16, U16, U16);
element!(u32, U32, U32);
element!(u64, U64, U64);
element!(f32, F32, F32);
element!(f64, F64, F64);

/// Converts a scalar to an array element of `dtype` with Rust's `as` (the caller
/// decided the conversion is allowed). `usize`/`isize` values become 64-bit.
pub fn cast_value(v: ScalarValue, dtype: DType) -> ScalarValue {
    kern_compiler::ir::eval::eval_cast(v, storage_dtype(dtype))
}

impl NdArray {
    /// An array of `dtype` filled with `value` (converted with `as`), or an error
    /// when memory cannot hold it.
    pub fn full(dtype: DType, shape: &[usize], value: ScalarValue) -> Result<NdArray, AllocError> {
        let value = cast_value(value, dtype);
        with_dtype!(dtype, |T| {
            let v = T::from_value(value).expect("cast_value gives the storage dtype");
            Ok(T::wrap(alloc::full(shape, v)?))
        })
    }

    pub fn zeros(dtype: DType, shape: &[usize]) -> Result<NdArray, AllocError> {
        NdArray::full(dtype, shape, ScalarValue::zero(storage_dtype(dtype)))
    }

    pub fn dtype(&self) -> DType {
        with_array!(NdArray, self, |_a: T| T::DTYPE)
    }

    pub fn shape(&self) -> &[usize] {
        with_array!(NdArray, self, |a: T| a.shape())
    }

    pub fn ndim(&self) -> usize {
        self.shape().len()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        with_array!(NdArray, self, |a: T| a.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn view(&self) -> ArrayRef<'_> {
        with_array!(NdArray, self, |a: T| T::wrap_view(a.view())
            .into_array_ref())
    }

    pub fn view_mut(&mut self) -> ArrayMut<'_> {
        with_array!(NdArray, self, |a: T| T::wrap_view_mut(a.view_mut()).0)
    }

    /// The typed array, if the dtype is `T`'s.
    pub fn as_array<T: Element>(&self) -> Option<&ArrayD<T>> {
        T::unwrap_ref(self)
    }

    pub fn as_array_mut<T: Element>(&mut self) -> Option<&mut ArrayD<T>> {
        T::unwrap_mut(self)
    }

    /// The typed array, if the dtype is `T`'s; otherwise the array back.
    pub fn into_array<T: Element>(self) -> Result<ArrayD<T>, NdArray> {
        if T::unwrap_ref(&self).is_none() {
            return Err(self);
        }
        let mut this = self;
        let a = T::unwrap_mut(&mut this).expect("dtype checked above");
        Ok(std::mem::replace(
            a,
            ArrayD::from_shape_vec(IxDyn(&[0]), vec![]).expect("empty"),
        ))
    }

    /// Element at a multi-index (one index per axis), if in bounds.
    pub fn get(&self, index: &[usize]) -> Option<ScalarValue> {
        with_array!(NdArray, self, |a: T| a
            .get(IxDyn(index))
            .map(|v| v.to_value()))
    }

    /// Every element converted to `dtype` with Rust's `as`.
    pub fn cast(&self, dtype: DType) -> NdArray {
        self.view().cast(dtype)
    }
}

impl<T: Element> From<ArrayD<T>> for NdArray {
    fn from(array: ArrayD<T>) -> NdArray {
        T::wrap(array)
    }
}

impl<'a> ArrayRef<'a> {
    pub fn dtype(&self) -> DType {
        with_array!(ArrayRef, self, |_a: T| T::DTYPE)
    }

    pub fn shape(&self) -> &[usize] {
        with_array!(ArrayRef, self, |a: T| a.shape())
    }

    /// Strides in elements, as ndarray reports them.
    pub fn strides(&self) -> &[isize] {
        with_array!(ArrayRef, self, |a: T| a.strides())
    }

    /// Address of the element at index zero on every axis.
    pub fn base_ptr(&self) -> *const u8 {
        with_array!(ArrayRef, self, |a: T| a.as_ptr().cast::<u8>())
    }

    pub fn len(&self) -> usize {
        with_array!(ArrayRef, self, |a: T| a.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same view with a shorter lifetime. (ndarray's views are invariant in
    /// their lifetime, so views of different origins meet only by reborrowing.)
    pub fn reborrow(&self) -> ArrayRef<'_> {
        with_array!(ArrayRef, self, |a: T| T::wrap_view(a.view())
            .into_array_ref())
    }

    /// An owned copy in standard (C) layout.
    pub fn to_owned(&self) -> NdArray {
        with_array!(ArrayRef, self, |a: T| T::wrap(a.to_owned()))
    }

    /// Every element converted to `dtype` with Rust's `as`.
    pub fn cast(&self, dtype: DType) -> NdArray {
        with_array!(ArrayRef, self, |a: T| with_dtype!(dtype, |U| {
            U::wrap(a.map(|v| {
                U::from_value(cast_value(v.to_value(), U::DTYPE)).expect("cast to storage dtype")
            }))
        }))
    }
}

impl<'a> ArrayMut<'a> {
    pub fn dtype(&self) -> DType {
        with_array!(ArrayMut, self, |_a: T| T::DTYPE)
    }

    pub fn shape(&self) -> &[usize] {
        with_array!(ArrayMut, self, |a: T| a.shape())
    }

    pub fn strides(&self) -> &[isize] {
        with_array!(ArrayMut, self, |a: T| a.strides())
    }

    pub fn base_ptr(&mut self) -> *mut u8 {
        with_array!(ArrayMut, self, |a: T| a.as_mut_ptr().cast::<u8>())
    }

    pub fn reborrow(&mut self) -> ArrayMut<'_> {
        with_array!(ArrayMut, self, |a: T| T::wrap_view_mut(a.view_mut()).0)
    }

    pub fn view(&self) -> ArrayRef<'_> {
        with_array!(ArrayMut, self, |a: T| T::wrap_view(a.view())
            .into_array_ref())
    }
}

/// An input of a ufunc call: an array view of any dtype, rank and strides, or a
/// scalar. Host scalars are *weak* in dtype resolution (NumPy's rule): `i32`
/// array times `2` stays `i32`.
#[derive(Clone, Debug)]
pub enum Operand<'a> {
    Array(ArrayRef<'a>),
    Scalar(ScalarValue),
}

/// Owned copies of the array inputs `must_copy` picks — NumPy reads an input
/// that overlaps an output other than elementwise from a copy — and `None` for
/// the others.
pub(crate) fn overlap_copies(
    inputs: &[Operand<'_>],
    must_copy: impl Fn(&ArrayRef<'_>) -> bool,
) -> Vec<Option<NdArray>> {
    inputs
        .iter()
        .map(|input| match input {
            Operand::Array(a) if must_copy(a) => Some(a.to_owned()),
            _ => None,
        })
        .collect()
}

/// `inputs` with each one [`overlap_copies`] copied read from its copy.
pub(crate) fn with_copies<'a>(
    inputs: &'a [Operand<'_>],
    copies: &'a [Option<NdArray>],
) -> Vec<Operand<'a>> {
    inputs
        .iter()
        .zip(copies)
        .map(|(input, copy)| match copy {
            Some(c) => Operand::Array(c.view()),
            None => input.reborrow(),
        })
        .collect()
}

impl<'a> Operand<'a> {
    /// The same operand with a shorter lifetime (see [`ArrayRef::reborrow`]).
    pub fn reborrow(&self) -> Operand<'_> {
        match self {
            Operand::Array(a) => Operand::Array(a.reborrow()),
            Operand::Scalar(v) => Operand::Scalar(*v),
        }
    }

    pub fn dtype(&self) -> DType {
        match self {
            Operand::Array(a) => a.dtype(),
            Operand::Scalar(v) => v.ty(),
        }
    }

    /// The shape it broadcasts as (`[]` for a scalar).
    pub fn shape(&self) -> &[usize] {
        match self {
            Operand::Array(a) => a.shape(),
            Operand::Scalar(_) => &[],
        }
    }

    fn into_array_ref(self) -> ArrayRef<'a> {
        match self {
            Operand::Array(a) => a,
            Operand::Scalar(_) => unreachable!("wrap_view always gives an array"),
        }
    }
}

impl<'a, S, D, T> From<&'a ArrayBase<S, D>> for Operand<'a>
where
    S: Data<Elem = T>,
    D: Dimension,
    T: Element,
{
    fn from(array: &'a ArrayBase<S, D>) -> Operand<'a> {
        T::wrap_view(array.view().into_dyn())
    }
}

impl<'a, S, D, T> From<&'a ArrayBase<S, D>> for ArrayRef<'a>
where
    S: Data<Elem = T>,
    D: Dimension,
    T: Element,
{
    fn from(array: &'a ArrayBase<S, D>) -> ArrayRef<'a> {
        T::wrap_view(array.view().into_dyn()).into_array_ref()
    }
}

impl<'a, S, D, T> From<&'a mut ArrayBase<S, D>> for ArrayMut<'a>
where
    S: DataMut<Elem = T>,
    D: Dimension,
    T: Element,
{
    fn from(array: &'a mut ArrayBase<S, D>) -> ArrayMut<'a> {
        T::wrap_view_mut(array.view_mut().into_dyn()).0
    }
}

impl<'a> From<&'a NdArray> for Operand<'a> {
    fn from(array: &'a NdArray) -> Operand<'a> {
        Operand::Array(array.view())
    }
}

impl<'a> From<ArrayRef<'a>> for Operand<'a> {
    fn from(array: ArrayRef<'a>) -> Operand<'a> {
        Operand::Array(array)
    }
}

impl From<ScalarValue> for Operand<'_> {
    fn from(v: ScalarValue) -> Self {
        Operand::Scalar(v)
    }
}

macro_rules! scalar_operand {
    ($($t:ty),*) => {$(
        impl From<$t> for Operand<'_> {
            fn from(v: $t) -> Self {
                Operand::Scalar(v.to_value())
            }
        }
    )*};
}
scalar_operand!(bool, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

/// An output buffer of a ufunc call (`out=`): a writable view of any dtype, rank and
/// strides. Its shape must be exactly the broadcast shape of the inputs.
#[derive(Debug)]
pub struct OutOperand<'a>(pub ArrayMut<'a>);

impl<'a, S, D, T> From<&'a mut ArrayBase<S, D>> for OutOperand<'a>
where
    S: DataMut<Elem = T>,
    D: Dimension,
    T: Element,
{
    fn from(array: &'a mut ArrayBase<S, D>) -> OutOperand<'a> {
        T::wrap_view_mut(array.view_mut().into_dyn())
    }
}

impl<'a> From<&'a mut NdArray> for OutOperand<'a> {
    fn from(array: &'a mut NdArray) -> OutOperand<'a> {
        OutOperand(array.view_mut())
    }
}
