#[kern::vectorize]
struct Saxpy;

fn main() {}
