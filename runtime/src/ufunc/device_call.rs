//! Ufunc calls with operands in GPU memory: [`Ufunc::call_on_device`] and
//! [`Ufunc::call_on_device_out`] on the `cuda` target take [`DeviceArray`]s mixed
//! with host arrays and scalars ([`DeviceOperand`]) and leave the result on the
//! GPU, so `c = f(a, b); d = g(c, x)` never copies `c` to the host.
//!
//! Dtype resolution, broadcasting and `out` checks are the host call's
//! (`Ufunc::plan_described`), so a device call fails exactly where and how the
//! same call on host arrays would. Host arrays and scalars are copied to the
//! device for the call only; device arrays are read where they lie, broadcast
//! through zero strides. The loop is the one `Ufunc::call` runs on `cuda`.
//!
//! It knows operands and plans; the kernels and launches are `exec::cuda`'s.

use ndarray::{ArrayBase, Data, Dimension};

use super::resolve::InputDtype;
use super::{PlanInput, Ufunc};
use crate::array::{Element, NdArray, Operand};
use crate::broadcast::broadcast_strides;
use crate::exec::cuda::{gpu, launch_elementwise_on_device, DeviceArray, DeviceStrided};
use crate::{Error, ScalarValue};

/// An input of a ufunc call on the GPU: an array already there, or a host operand
/// (array view or scalar) copied in for the call.
#[derive(Clone, Debug)]
pub enum DeviceOperand<'a> {
    Device(&'a DeviceArray),
    Host(Operand<'a>),
}

impl<'a> From<&'a DeviceArray> for DeviceOperand<'a> {
    fn from(array: &'a DeviceArray) -> DeviceOperand<'a> {
        DeviceOperand::Device(array)
    }
}

impl<'a> From<Operand<'a>> for DeviceOperand<'a> {
    fn from(operand: Operand<'a>) -> DeviceOperand<'a> {
        DeviceOperand::Host(operand)
    }
}

impl<'a, S, D, T> From<&'a ArrayBase<S, D>> for DeviceOperand<'a>
where
    S: Data<Elem = T>,
    D: Dimension,
    T: Element,
{
    fn from(array: &'a ArrayBase<S, D>) -> DeviceOperand<'a> {
        DeviceOperand::Host(Operand::from(array))
    }
}

impl<'a> From<&'a NdArray> for DeviceOperand<'a> {
    fn from(array: &'a NdArray) -> DeviceOperand<'a> {
        DeviceOperand::Host(Operand::from(array))
    }
}

impl From<ScalarValue> for DeviceOperand<'_> {
    fn from(v: ScalarValue) -> Self {
        DeviceOperand::Host(Operand::Scalar(v))
    }
}

macro_rules! scalar_device_operand {
    ($($t:ty),*) => {$(
        impl From<$t> for DeviceOperand<'_> {
            fn from(v: $t) -> Self {
                DeviceOperand::Host(Operand::from(v))
            }
        }
    )*};
}
scalar_device_operand!(bool, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

impl DeviceOperand<'_> {
    fn plan_input(&self) -> PlanInput<'_> {
        match self {
            DeviceOperand::Device(a) => PlanInput {
                dtype: InputDtype::Strong(a.dtype()),
                shape: a.shape(),
            },
            DeviceOperand::Host(Operand::Array(a)) => PlanInput {
                dtype: InputDtype::Strong(a.dtype()),
                shape: a.shape(),
            },
            DeviceOperand::Host(Operand::Scalar(v)) => PlanInput {
                dtype: InputDtype::Weak(*v),
                shape: &[],
            },
        }
    }
}

impl Ufunc {
    /// Applies the ufunc elementwise on the GPU, broadcasting the inputs as
    /// [`Ufunc::call`] does, and returns the result as a new [`DeviceArray`] (no
    /// copy back). The ufunc must run on `cuda` ([`Ufunc::with_target`]); host
    /// arrays and scalars among the inputs are copied in for this call only.
    pub fn call_on_device(&self, inputs: &[DeviceOperand<'_>]) -> Result<DeviceArray, Error> {
        crate::exec::dispatch::check_device_operands(self.target, &self.decl.name)?;
        let described: Vec<PlanInput<'_>> = inputs.iter().map(|o| o.plan_input()).collect();
        let plan = self.plan_described(&described, None)?;
        let mut out = DeviceArray::zeros(plan.out_dtype, &plan.shape)?;
        self.execute_on_device(&plan, inputs, &mut out)?;
        Ok(out)
    }

    /// Applies the ufunc elementwise on the GPU into the device array `out`,
    /// written in place: the inputs broadcast to its shape and its dtype must be
    /// one the result converts to under `same_kind`, as for [`Ufunc::call_out`].
    /// On a kernel error some elements of `out` may have been written.
    pub fn call_on_device_out(
        &self,
        inputs: &[DeviceOperand<'_>],
        out: &mut DeviceArray,
    ) -> Result<(), Error> {
        crate::exec::dispatch::check_device_operands(self.target, &self.decl.name)?;
        let described: Vec<PlanInput<'_>> = inputs.iter().map(|o| o.plan_input()).collect();
        let plan = self.plan_described(&described, Some((out.shape(), out.dtype())))?;
        self.execute_on_device(&plan, inputs, out)
    }

    /// Runs the loop of `plan` with `inputs` into `out` (of the plan's shape and
    /// output dtype).
    fn execute_on_device(
        &self,
        plan: &super::CallPlan,
        inputs: &[DeviceOperand<'_>],
        out: &mut DeviceArray,
    ) -> Result<(), Error> {
        if plan.shape.iter().product::<usize>() == 0 {
            return Ok(());
        }
        let gpu = gpu()?;
        let lp = self.gpu_loop(&self.elementwise(&plan.resolved, &plan.signature))?;
        // Host operands copied in, each in its own shape (a broadcast host array
        // is copied once, not stretched); scalars in their parameter's dtype.
        let mut staged: Vec<Option<DeviceArray>> = Vec::with_capacity(inputs.len());
        for (k, input) in inputs.iter().enumerate() {
            staged.push(match input {
                DeviceOperand::Device(_) => None,
                DeviceOperand::Host(Operand::Array(a)) => Some(DeviceArray::from_host(a)?),
                DeviceOperand::Host(Operand::Scalar(v)) => {
                    let one = NdArray::full(plan.signature.inputs[k], &[], *v)?;
                    Some(DeviceArray::from_host(&one.view())?)
                }
            });
        }
        let mut operands = Vec::with_capacity(inputs.len() + 1);
        for (input, copy) in inputs.iter().zip(&staged) {
            let array = match (input, copy) {
                (_, Some(copy)) => copy,
                (DeviceOperand::Device(a), None) => *a,
                (DeviceOperand::Host(_), None) => {
                    return Err(Error::Backend("a host operand was not copied in".into()))
                }
            };
            operands.push(DeviceStrided {
                address: array.address(gpu),
                elem_size: array.dtype().size_bytes(),
                strides: broadcast_strides(array.shape(), &array.strides(), &plan.shape)
                    .map_err(|e| Error::Call(e.to_string()))?,
            });
        }
        operands.push(DeviceStrided {
            address: out.address(gpu),
            elem_size: out.dtype().size_bytes(),
            strides: out.strides(),
        });
        // SAFETY: every operand is a live device array (the caller's, or a copy
        // held in `staged` until the call has waited for its launches) whose C
        // strides were broadcast to the plan's shape; `out` has that shape and the
        // output dtype, and is borrowed mutably, so no input aliases it.
        unsafe { launch_elementwise_on_device(gpu, &lp, &plan.shape, &operands) }?
            .map_err(|trap| Error::kernel(trap, &self.core.sources))
    }
}
