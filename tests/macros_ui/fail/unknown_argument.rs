#[kern::vectorize(fastmath = true)]
fn scale(x: f64) -> f64 {
    x * 2.0
}

fn main() {}
