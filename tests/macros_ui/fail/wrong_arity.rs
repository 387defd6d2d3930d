// The generated function has the kern function's parameters: a wrong number of
// arguments is a Rust error at the call.
#[kern::vectorize]
fn saxpy(a: f32, x: f32, y: f32) -> f32 {
    a * x + y
}

fn main() {
    let x = kern::ndarray::Array1::<f32>::ones(3);
    let _ = saxpy(2.0f32, &x);
}
