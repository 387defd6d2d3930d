// `#[kern::kernel]` checks the function, then says the runtime cannot launch it.
#[kern::kernel]
fn add(a: &[f32], b: &[f32], out: &mut [f32]) {
    for i in 0..out.len() {
        out[i] = a[i] + b[i];
    }
}

fn main() {}
