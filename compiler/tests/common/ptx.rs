//! Checks of PTX text without a GPU, shared by the NVPTX tests: the structure
//! every module must have (PTX ISA 7.5 for sm_80, one `.entry` per kernel, no
//! call to a function the module does not define), `ptxas` when it is installed,
//! and the snapshot form of PTX. It knows PTX text, not how it was compiled.
#![allow(dead_code)]

use std::collections::BTreeSet;

use kern_compiler::backend::llvm::nvptx::PtxModule;

/// What every PTX text must look like: PTX ISA 7.5 for sm_80, one
/// `.entry` per kernel, and every `call` going to a function the module defines
/// (never to a libm symbol the driver could not link).
pub fn assert_structurally_valid(module: &PtxModule) {
    let ptx = &module.ptx;
    assert!(ptx.contains(".version 7.5"), "{ptx}");
    assert!(ptx.contains(".target sm_80"), "{ptx}");
    assert!(ptx.contains(".address_size 64"), "{ptx}");
    for kernel in &module.kernels {
        assert!(
            ptx.contains(&format!(".entry {}(", kernel.name)),
            "no entry `{}` in\n{ptx}",
            kernel.name
        );
    }
    let defined = defined_functions(ptx);
    for callee in called_functions(ptx) {
        assert!(
            defined.contains(&callee),
            "`call {callee}` has no definition in the module:\n{ptx}"
        );
    }
    ptxas_accepts(ptx);
}

/// Names of the `.func`s the PTX defines (with a body, not just declared).
pub fn defined_functions(ptx: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let lines: Vec<&str> = ptx.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix(".func") else {
            continue;
        };
        let rest = rest.trim_start();
        // `.func (.param .b32 func_retval0) name(` or `.func name(`.
        let rest = match rest.strip_prefix('(') {
            Some(r) => r
                .split_once(')')
                .map_or("", |(_, after)| after)
                .trim_start(),
            None => rest,
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '$')
            .collect();
        // A prototype ends with `;` before any `{`.
        let has_body = lines[i..]
            .iter()
            .find(|l| l.contains('{') || l.trim_end().ends_with(';'))
            .is_some_and(|l| l.contains('{'));
        if has_body && !name.is_empty() {
            names.insert(name);
        }
    }
    names
}

/// The callee of every `call` instruction (LLVM spreads one over several lines:
/// `call.uni (retval0),` / `name,` / `(` / `param0` / `);`).
pub fn called_functions(ptx: &str) -> Vec<String> {
    let lines: Vec<&str> = ptx.lines().collect();
    let mut callees = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix("call") else {
            continue;
        };
        let mut text = rest.to_string();
        for next in &lines[i + 1..] {
            if text.contains(';') {
                break;
            }
            text.push(' ');
            text.push_str(next.trim());
        }
        let text = text.strip_prefix(".uni").unwrap_or(&text).trim_start();
        // Skip the return parameters `(retval0),`.
        let text = match text.strip_prefix('(') {
            Some(r) => r
                .split_once("),")
                .map_or("", |(_, after)| after)
                .trim_start(),
            None => text,
        };
        callees.push(
            text.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '$')
                .collect(),
        );
    }
    callees
}

/// Runs `ptxas` on the text when it is installed (it is not part of LLVM).
pub fn ptxas_accepts(ptx: &str) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    let probe = std::process::Command::new("ptxas")
        .arg("--version")
        .output();
    if probe.is_err() {
        // CI installs ptxas and sets this, so there a missing ptxas is a failure.
        assert!(
            std::env::var_os("KERN_REQUIRE_PTXAS").is_none(),
            "KERN_REQUIRE_PTXAS is set but ptxas is not on PATH"
        );
        WARNED.call_once(|| eprintln!("ptxas is not on PATH: PTX is only checked structurally"));
        return;
    }
    let dir = tempdir();
    let path = dir.join("kernel.ptx");
    std::fs::write(&path, ptx).unwrap();
    let out = std::process::Command::new("ptxas")
        .args(["-arch=sm_80", "-o"])
        .arg(dir.join("kernel.cubin"))
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "ptxas rejected the PTX: {}\n{ptx}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "kern-nvptx-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The PTX with LLVM's call-sequence comments (`// callseq 3, 0`) blanked: their
/// numbers come from a process-wide counter, so they depend on what other tests
/// compiled first.
pub fn stable(ptx: &str) -> String {
    ptx.lines()
        .map(|line| match line.find("// callseq") {
            Some(at) => format!("{}// callseq", &line[..at]),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}
