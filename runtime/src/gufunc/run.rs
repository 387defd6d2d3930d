//! Running a planned gufunc call: converting inputs to their parameter dtypes,
//! laying out every operand as loop strides plus core extents and strides, asking
//! the compile service for the loop (compiled once per module, gufunc instance,
//! operand dtypes, target and — for small core dimensions — core extents) and
//! handing it to `exec::dispatch::gufunc`.
//!
//! It knows the plan and the arrays; loop generation is the compiler's
//! (`loops::gufunc_loop`), choosing the executor and running the loop space
//! `exec`'s.

use kern_compiler::kernel_decl::OperandForm;
use kern_compiler::loops::gufunc_loop::CoreSpecialisation;

use super::{Gufunc, Plan};
use crate::array::{cast_value, storage_dtype, ArrayMut, ArrayRef, NdArray, Operand};
use crate::broadcast::broadcast_strides;
use crate::compile::LoopRequest;
use crate::exec::gufunc::CoreLayout;
use crate::exec::{Iteration, StridedOperand};
use crate::Error;

/// One operand as the executor needs it: where it starts, its element size, and its
/// full shape and strides (loop axes first, then core axes).
struct Placed {
    base: *mut u8,
    elem_size: usize,
    shape: Vec<usize>,
    strides: Vec<isize>,
}

impl Gufunc {
    /// Runs `plan` with `outs`, one writable buffer per output of the plan's shape
    /// and dtype.
    pub(super) fn execute(
        &self,
        plan: &Plan,
        inputs: &[Operand<'_>],
        outs: &mut [ArrayMut<'_>],
    ) -> Result<(), Error> {
        let len: usize = plan.loop_shape.iter().product();
        if len == 0 {
            // A zero-length loop dimension: the kernel is never called.
            return Ok(());
        }
        let nin = self.nin();
        // Array inputs not in their parameter's dtype, converted (safe casts only).
        let converted: Vec<Option<NdArray>> = self
            .decl
            .inputs
            .iter()
            .zip(inputs)
            .zip(&plan.types.params)
            .map(|((operand, input), &param)| match input {
                Operand::Array(a)
                    if is_array(operand.form) && a.dtype() != storage_dtype(param) =>
                {
                    Some(a.cast(storage_dtype(param)))
                }
                _ => None,
            })
            .collect();
        // Host scalars live in one-element buffers of their parameter's dtype.
        let scalars: Vec<u64> = inputs
            .iter()
            .zip(&plan.types.params)
            .map(|(input, &param)| match input {
                Operand::Scalar(v) => cast_value(*v, param).to_bits(),
                Operand::Array(_) => 0,
            })
            .collect();
        let mut placed = Vec::with_capacity(nin + outs.len());
        for (k, input) in inputs.iter().enumerate() {
            placed.push(match (&converted[k], input) {
                (Some(c), _) => place_ref(&c.view()),
                (None, Operand::Array(a)) => place_ref(a),
                (None, Operand::Scalar(_)) => Placed {
                    base: &scalars[k] as *const u64 as *mut u8,
                    elem_size: storage_dtype(plan.types.params[k]).size_bytes(),
                    shape: Vec::new(),
                    strides: Vec::new(),
                },
            });
        }
        for out in outs.iter_mut() {
            let view = out.view();
            let (shape, strides, elem_size) = (
                view.shape().to_vec(),
                view.strides().to_vec(),
                view.dtype().size_bytes(),
            );
            placed.push(Placed {
                base: out.base_ptr(),
                elem_size,
                shape,
                strides,
            });
        }
        let mut operands = Vec::with_capacity(placed.len());
        let mut cores = Vec::with_capacity(placed.len());
        for (k, p) in placed.iter().enumerate() {
            let loop_ndim = p.shape.len() - plan.binding.core_ndim(k);
            let strides = broadcast_strides(
                &p.shape[..loop_ndim],
                &p.strides[..loop_ndim],
                &plan.loop_shape,
            )
            .map_err(|e| Error::Call(e.to_string()))?;
            operands.push(StridedOperand {
                base: p.base,
                elem_size: p.elem_size,
                strides,
            });
            let mut core = CoreLayout::default();
            let mut axis = loop_ndim;
            for &d in &plan.binding.dims[k] {
                if plan.binding.missing[d] {
                    core.shape.push(1);
                    core.strides.push(0);
                } else {
                    core.shape.push(p.shape[axis] as i64);
                    core.strides.push(p.strides[axis] as i64);
                    axis += 1;
                }
            }
            cores.push(core);
        }
        let request = LoopRequest::Gufunc {
            gufunc: self.decl.name.clone(),
            type_args: plan.types.type_args.clone(),
            nin,
            signature: plan.signature.clone(),
            // The service specialises on them when they are small (and only
            // so many times per loop), else builds the generic loop.
            core: Some(CoreSpecialisation {
                extents: cores
                    .iter()
                    .map(|c| c.shape.iter().map(|&s| s as usize).collect())
                    .collect(),
                contiguous: cores.iter().all(is_c_contiguous),
            }),
        };
        let cost = plan
            .binding
            .sizes
            .iter()
            .fold(1usize, |c, s| c.saturating_mul((*s).max(1)));
        let elements = (plan.loop_shape.iter()).fold(cost, |e, n| e.saturating_mul(*n));
        let code = self
            .core
            .compile(&request, self.target, elements)
            .map_err(|f| self.core.error(f))?;
        let iteration = Iteration {
            shape: plan.loop_shape.clone(),
            operands,
        };
        // SAFETY: every operand comes from a live view (a converted copy, a scalar
        // buffer above, or an output borrowed mutably for the call) whose shape is
        // the loop shape (broadcast) followed by its core dimensions as bound; the
        // outputs alias no input (the caller copied overlapping inputs).
        unsafe { crate::exec::dispatch::gufunc(&code, self.target, iteration, &cores, nin, cost) }?
            .map_err(|trap| Error::kernel(trap, &self.core.sources))
    }
}

/// Whether `core` is laid out as the loop for contiguous core axes asserts:
/// every axis an index moves along (extent above 1) has the C-contiguous
/// stride (the last axis 1 element, each other the product of the extents
/// after it), or some extent is 0 (no element, nothing to address).
fn is_c_contiguous(core: &CoreLayout) -> bool {
    if core.shape.contains(&0) {
        return true;
    }
    let mut stride = 1i64;
    for (&extent, &actual) in core.shape.iter().zip(&core.strides).rev() {
        if extent > 1 && actual != stride {
            return false;
        }
        stride = stride.saturating_mul(extent);
    }
    true
}

fn is_array(form: OperandForm) -> bool {
    matches!(form, OperandForm::Array { .. })
}

fn place_ref(a: &ArrayRef<'_>) -> Placed {
    Placed {
        base: a.base_ptr() as *mut u8,
        elem_size: a.dtype().size_bytes(),
        shape: a.shape().to_vec(),
        strides: a.strides().to_vec(),
    }
}

/// Whether two views may share memory (their byte ranges intersect).
pub(super) fn overlaps(a: &ArrayRef<'_>, b: &ArrayRef<'_>) -> bool {
    let range = |v: &ArrayRef<'_>| {
        crate::ufunc::extent(v.base_ptr(), v.shape(), v.strides(), v.dtype().size_bytes())
    };
    let ((a_lo, a_hi), (b_lo, b_hi)) = (range(a), range(b));
    a_lo < b_hi && b_lo < a_hi
}

#[cfg(test)]
mod tests {
    use ndarray::{s, ArrayD, IxDyn};

    use crate::compile::LoopRequest;

    const SOURCE: &str = "
        #[guvectorize(\"(m?,n),(n,p?)->(m?,p?)\")]
        fn matmul(a: &[[f64; N]; M], b: &[[f64; P]; N], out: &mut [[f64; P]; M]) {
            for i in 0..M { for j in 0..P {
                let mut s = 0.0;
                for k in 0..N { s += a[i][k] * b[k][j]; }
                out[i][j] = s;
            } }
        }
        #[guvectorize]
        fn weighted(x: &[f64], w: f64) -> f64 { x[0] * w }
    ";

    /// The core extents of the gufunc loops `g`'s module compiled.
    fn loops_asked_for(g: &super::Gufunc) -> Vec<Option<Vec<Vec<usize>>>> {
        g.core
            .cached_requests()
            .into_iter()
            .filter_map(|r| match r {
                LoopRequest::Gufunc { core, .. } => Some(core.map(|c| c.extents)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_call_asks_for_the_loop_of_its_core_extents() {
        let module = crate::Module::from_source("t.kern", SOURCE).unwrap();
        let zeros = |shape: &[usize]| ArrayD::<f64>::zeros(IxDyn(shape));
        let matmul = module.gufunc("matmul").unwrap();
        let (a, b) = (zeros(&[4, 2, 3]), zeros(&[3, 5]));
        matmul.call(&[(&a).into(), (&b).into()]).unwrap();
        let sizes = |s: &[&[usize]]| Some(s.iter().map(|x| x.to_vec()).collect::<Vec<_>>());
        assert_eq!(
            loops_asked_for(&matmul),
            [sizes(&[&[2, 3], &[3, 5], &[2, 5]])]
        );
        // A missing optional dimension is an extent of 1 (its stride 0).
        let v = zeros(&[3]);
        matmul.call(&[(&a).into(), (&v).into()]).unwrap();
        assert!(loops_asked_for(&matmul).contains(&sizes(&[&[2, 3], &[3, 1], &[2, 1]])));
        // Scalar operands and returned values have no core axes.
        let weighted = module.gufunc("weighted").unwrap();
        weighted.call(&[(&a).into(), 2.0.into()]).unwrap();
        assert!(loops_asked_for(&weighted).contains(&sizes(&[&[3], &[], &[]])));
    }

    /// Whether each gufunc loop `g`'s module compiled is the one for
    /// contiguous core axes (`None`: the generic loop).
    fn contiguity_asked_for(g: &super::Gufunc) -> Vec<Option<bool>> {
        g.core
            .cached_requests()
            .into_iter()
            .filter_map(|r| match r {
                LoopRequest::Gufunc { core, .. } => Some(core.map(|c| c.contiguous)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_call_whose_core_axes_are_c_contiguous_asks_for_the_contiguous_loop() {
        let filled = |shape: &[usize]| {
            let values = (0..shape.iter().product()).map(|x: usize| x as f64);
            ArrayD::from_shape_vec(IxDyn(shape), values.collect()).unwrap()
        };
        let (a, b) = (filled(&[6, 3, 3]), filled(&[3, 3]));
        let wide = filled(&[3, 6]);
        let fortran = b.clone().reversed_axes();
        let v = filled(&[3]);
        let cases = [
            (a.view(), b.view(), true),
            // Every other matrix, in reverse: the loop axis's stride is free.
            (a.slice(s![..;-2, .., ..]).into_dyn(), b.view(), true),
            // The transpose, and every other column.
            (a.view(), fortran.view(), false),
            (a.view(), wide.slice(s![.., ..;2]).into_dyn(), false),
            // A missing optional dimension is extent 1, whose stride is free.
            (a.view(), v.view(), true),
        ];
        for (k, (a, b, contiguous)) in cases.into_iter().enumerate() {
            // A fresh module per case: the only loop it compiles is this call's.
            let module = crate::Module::from_source("t.kern", SOURCE).unwrap();
            let matmul = module.gufunc("matmul").unwrap();
            matmul.call(&[(&a).into(), (&b).into()]).unwrap();
            assert_eq!(
                contiguity_asked_for(&matmul),
                [Some(contiguous)],
                "case {k}"
            );
        }
    }
}
