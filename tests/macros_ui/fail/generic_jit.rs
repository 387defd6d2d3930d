#[kern::jit]
fn twice<T: Float>(x: T) -> T {
    x * 2.0
}

fn main() {}
