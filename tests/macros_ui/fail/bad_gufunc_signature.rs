#[kern::guvectorize("(n),(n)->")]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a[0] * b[0]
}

fn main() {}
