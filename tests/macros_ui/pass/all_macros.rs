// Every macro on a function kern accepts, with Rust-only decorations around it:
// doc comments, visibilities, items nested in modules and in a function body.

mod kernels {
    /// Scaled sum.
    #[kern::vectorize(target = "parallel")]
    pub fn saxpy(a: f32, x: f32, y: f32) -> f32 {
        a * x + y
    }

    #[kern::vectorize(f32, f64)]
    pub(crate) fn gauss<T: Float>(x: T) -> T {
        (-x * x).exp()
    }

    #[kern::guvectorize("(n)->()")]
    pub fn total(x: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 0..x.len() {
            s += x[i];
        }
        s
    }

    #[kern::jit]
    pub fn fill(value: f64, out: &mut [f64]) {
        for i in 0..out.len() {
            out[i] = value;
        }
    }
}

fn main() {
    #[kern::jit]
    fn square(x: i64) -> i64 {
        x * x
    }

    let x = kern::ndarray::Array1::<f32>::ones(4);
    let _ = kernels::saxpy(2.0f32, &x, 1.0f32);
    let _ = kernels::saxpy::on(kern::Target::Cpu);
    let _ = kernels::gauss(&x);
    let _ = kernels::total(&x);
    let mut out = kern::ndarray::Array1::<f64>::zeros(3);
    let _ = kernels::fill(1.0, &mut out);
    let _: Result<i64, kern::Error> = square(3);
}
