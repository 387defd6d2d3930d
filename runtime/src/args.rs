//! The arguments of a call from Rust into compiled kern code ([`Arg`]: scalars,
//! shared and mutable arrays) and their check against a function's parameters,
//! giving the descriptors the compiled code and the interpreter take. Calls of
//! plain functions (`Module::call_with_arrays`) and kernel launches
//! (`Kernel::launch`) share it.
//!
//! It knows arrays and the IR's parameter types; it does not know modules,
//! kernels or targets.

use kern_compiler::interp::HostArg;
use kern_compiler::ir::{ArrayDesc, ScalarType, ScalarValue, Type, MAX_RANK};

use crate::array::{storage_dtype, ArrayMut, ArrayRef};
use crate::Error;

/// An argument of [`Module::call_with_arrays`](crate::Module::call_with_arrays).
pub enum Arg<'a> {
    Scalar(ScalarValue),
    /// For a `&[T]` parameter.
    Ref(ArrayRef<'a>),
    /// For a `&mut [T]` parameter.
    Mut(ArrayMut<'a>),
}

impl From<ScalarValue> for Arg<'_> {
    fn from(v: ScalarValue) -> Self {
        Arg::Scalar(v)
    }
}

impl<T: crate::array::Element> From<T> for Arg<'_> {
    fn from(v: T) -> Self {
        Arg::Scalar(v.to_value())
    }
}

impl<'a, S, D, T> From<&'a ndarray::ArrayBase<S, D>> for Arg<'a>
where
    S: ndarray::Data<Elem = T>,
    D: ndarray::Dimension,
    T: crate::array::Element,
{
    fn from(array: &'a ndarray::ArrayBase<S, D>) -> Arg<'a> {
        Arg::Ref(array.into())
    }
}

impl<'a, S, D, T> From<&'a mut ndarray::ArrayBase<S, D>> for Arg<'a>
where
    S: ndarray::DataMut<Elem = T>,
    D: ndarray::Dimension,
    T: crate::array::Element,
{
    fn from(array: &'a mut ndarray::ArrayBase<S, D>) -> Arg<'a> {
        Arg::Mut(array.into())
    }
}

/// The descriptor of an ndarray view passed for array parameter `param`.
fn array_desc(
    dtype: ScalarType,
    shape: &[usize],
    strides: &[isize],
    data: *mut u8,
    param: kern_compiler::ir::ArrayType,
) -> Result<HostArg, String> {
    if storage_dtype(param.elem) != dtype || shape.len() != param.rank as usize {
        return Err(format!("a {}-d array of {dtype}", shape.len()));
    }
    let mut desc = ArrayDesc {
        data,
        shape: [0; MAX_RANK],
        strides: [0; MAX_RANK],
    };
    for (k, (&len, &stride)) in shape.iter().zip(strides).enumerate() {
        desc.shape[k] = len as i64;
        desc.strides[k] = stride as i64;
    }
    Ok(HostArg::Array(desc))
}

/// `f`'s parameter types, when it takes `given` arguments.
pub(crate) fn check_arity(
    f: &kern_compiler::ir::Function,
    given: usize,
) -> Result<Vec<Type>, Error> {
    let params = f.param_types();
    if params.len() != given {
        return Err(Error::Call(format!(
            "`{}` takes {} arguments but {} were given",
            f.name,
            params.len(),
            given
        )));
    }
    Ok(params)
}

/// The descriptors and scalars for a call of `f` with `args`, checked against its
/// parameters (count, scalar types, array element types, ranks, mutability).
pub(crate) fn host_args(
    f: &kern_compiler::ir::Function,
    args: &mut [Arg<'_>],
) -> Result<Vec<HostArg>, Error> {
    let params = check_arity(f, args.len())?;
    let mut host_args = Vec::with_capacity(args.len());
    for (i, (param, arg)) in params.iter().zip(args.iter_mut()).enumerate() {
        let wrong = |what: String| {
            Error::Call(format!(
                "argument {i} of `{}` is {what}, expected {}",
                f.name,
                kern_compiler::ir::print::type_name(*param)
            ))
        };
        host_args.push(match (param, arg) {
            (Type::Scalar(t), Arg::Scalar(v)) if v.ty() == *t => HostArg::Scalar(*v),
            (Type::Array(a), Arg::Ref(view)) if !a.mutable => array_desc(
                view.dtype(),
                view.shape(),
                view.strides(),
                view.base_ptr() as *mut u8,
                *a,
            )
            .map_err(wrong)?,
            (Type::Array(a), Arg::Mut(view)) => {
                let (dtype, shape, strides) =
                    (view.dtype(), view.shape().to_vec(), view.strides().to_vec());
                array_desc(dtype, &shape, &strides, view.base_ptr(), *a).map_err(wrong)?
            }
            (_, Arg::Scalar(v)) => return Err(wrong(format!("a {} scalar", v.ty()))),
            (_, Arg::Ref(v)) => return Err(wrong(format!("a shared {} array", v.dtype()))),
            (_, Arg::Mut(v)) => return Err(wrong(format!("a mutable {} array", v.dtype()))),
        });
    }
    Ok(host_args)
}
