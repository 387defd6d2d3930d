//! Fuzz target for `kern check`: any byte string given as a kern source file must
//! produce a module or diagnostics — never a panic, abort or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(error) = kern::Module::from_source("fuzz.kern", text) {
            // Rendering is part of what `kern check` does: it must not panic either.
            let _ = error.to_string();
        }
    }
});
