// Each annotated function is its own kern module: it cannot call another one.
#[kern::jit]
fn helper(x: f64) -> f64 {
    x + 1.0
}

#[kern::vectorize]
fn uses_helper(x: f64) -> f64 {
    helper(x)
}

fn main() {}
