fn main() {
    let src = std::fs::read_to_string("examples/midpoint_integration.kern").unwrap();
    let mut sources = kern_compiler::SourceMap::new();
    let file = sources.add("m.kern", src);
    let c = kern_compiler::frontend::compile(&mut sources, file).unwrap();
    let id = c.functions["integrate"];
    println!("{}", kern_compiler::ir::print::print_function(&c.program, c.program.function(id)));
    println!("{}", kern_compiler::backend::cranelift::JitEngine::emit_asm(&c.program, id).unwrap());
}
