#[kern::jit]
fn apply(x: f64) -> f64 {
    let f = |y| y * 2.0;
    f(x)
}

fn main() {}
