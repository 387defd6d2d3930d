#[kern::vectorize]
fn bad(x: f32) -> f32 {
    x + true
}

fn main() {}
