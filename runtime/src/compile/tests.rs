//! The compile service's contract: one engine per module, each request compiled
//! once, whatever asks for it.

use kern_compiler::frontend;
use kern_compiler::ir::ScalarType::{F64, I64};
use kern_compiler::loops::elementwise::LoopSignature;
use kern_compiler::SourceMap;

use kern_compiler::loops::gufunc_loop::{CoreSpecialisation, GufuncLoopSignature};

use super::{CompileService, Fold, LoopRequest, MAX_CORE_EXTENT, MAX_SPECIALISED_PER_LOOP};

const SOURCE: &str = "
#[vectorize]
fn add<T: Num>(a: T, b: T) -> T { a + b }

fn twice(x: f64) -> f64 { x * 2.0 }

fn spin(n: i64) -> f64 {
    let mut s = 0.0;
    for i in 0..n { s = s + (i as f64).sqrt(); }
    s
}

#[guvectorize]
fn matmul(a: &[[f64; N]; M], b: &[[f64; P]; N], out: &mut [[f64; P]; M]) {
    for i in 0..M {
        for j in 0..P {
            let mut s = 0.0;
            for k in 0..N { s += a[i][k] * b[k][j]; }
            out[i][j] = s;
        }
    }
}
";

fn service() -> CompileService {
    let mut sources = SourceMap::new();
    let file = sources.add("service.kern", SOURCE);
    let compiled = frontend::compile(&mut sources, file).expect("the source checks");
    CompileService::new(sources, compiled, crate::Tier::Baseline)
}

fn add_loop(t: kern_compiler::ir::ScalarType) -> LoopRequest {
    LoopRequest::Elementwise {
        ufunc: "add".into(),
        type_args: vec![t],
        signature: LoopSignature {
            inputs: vec![t, t],
            output: t,
        },
    }
}

fn machine_code(service: &CompileService, request: &LoopRequest) {
    compiled(service, request);
}

fn compiled(
    service: &CompileService,
    request: &LoopRequest,
) -> kern_compiler::backend::cranelift::CompiledFunction {
    service
        .machine_code(request)
        .unwrap_or_else(|_| panic!("{request:?} does not compile"))
}

#[test]
fn every_request_of_a_module_compiles_once_with_the_one_engine() {
    let service = service();
    assert_eq!(
        service.compiled_units(),
        0,
        "the engine is created on first use"
    );
    machine_code(&service, &add_loop(F64));
    let after_one_loop = service.compiled_units();
    assert!(after_one_loop > 0);
    machine_code(&service, &add_loop(F64));
    assert_eq!(service.compiled_units(), after_one_loop, "a cached request");
    // Another instance, a fold and a plain function: the same engine grows.
    let twice = service.compiled.functions["twice"];
    let requests = [
        add_loop(I64),
        LoopRequest::Reduce(Fold {
            ufunc: "add".into(),
            type_args: vec![F64],
            elem: F64,
            acc: F64,
        }),
        LoopRequest::Function(twice),
    ];
    let mut units = after_one_loop;
    for request in &requests {
        machine_code(&service, request);
        assert!(service.compiled_units() > units, "{request:?} is compiled");
        units = service.compiled_units();
    }
}

#[test]
fn a_request_the_module_cannot_build_is_an_error_not_a_panic() {
    let service = service();
    let unknown = LoopRequest::Elementwise {
        ufunc: "missing".into(),
        type_args: vec![F64],
        signature: LoopSignature {
            inputs: vec![F64, F64],
            output: F64,
        },
    };
    assert!(service.machine_code(&unknown).is_err());
}

#[cfg(feature = "llvm")]
#[test]
fn the_optimized_tier_compiles_every_request_with_llvm() {
    let service = service();
    service.set_tier(crate::Tier::Optimized).unwrap();
    let twice = service.compiled.functions["twice"];
    for request in [add_loop(F64), LoopRequest::Function(twice)] {
        let code = compiled(&service, &request);
        assert_eq!(code.engine(), "llvm", "{request:?}");
    }
    assert_eq!(service.compiled_units(), 0, "Cranelift was never asked");
}

/// The code `service` serves for `request` to a call over `elements`.
#[cfg(feature = "llvm")]
fn served(
    service: &CompileService,
    request: &LoopRequest,
    elements: usize,
) -> kern_compiler::backend::cranelift::CompiledFunction {
    match service.compile(request, crate::Target::Cpu, elements) {
        Ok(code) => code.machine().expect("machine code"),
        Err(_) => panic!("{request:?} does not compile"),
    }
}

#[cfg(feature = "llvm")]
fn wait_for_background(service: &CompileService) {
    let started = std::time::Instant::now();
    while !service.background_done() {
        assert!(
            started.elapsed().as_secs() < 120,
            "the background compile ends"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[cfg(feature = "llvm")]
#[test]
fn auto_keeps_cold_code_on_the_baseline() {
    let service = service();
    service.set_tier(crate::Tier::Auto).unwrap();
    for _ in 0..3 {
        let code = served(&service, &add_loop(F64), 1000);
        assert_eq!(code.engine(), "cranelift");
    }
    wait_for_background(&service);
    assert_eq!(served(&service, &add_loop(F64), 1000).engine(), "cranelift");
    assert_eq!(service.upgrades_queued(), 0, "nothing was hot");
}

#[cfg(feature = "llvm")]
#[test]
fn auto_serves_the_baseline_to_a_large_call_and_llvm_code_once_it_is_ready() {
    let service = service();
    service.set_tier(crate::Tier::Auto).unwrap();
    let large = super::auto::HOT_ELEMENTS;
    let first = served(&service, &add_loop(F64), large);
    assert_eq!(first.engine(), "cranelift", "the first call never waits");
    assert_eq!(service.upgrades_queued(), 1, "one large call makes it hot");
    wait_for_background(&service);
    let later = served(&service, &add_loop(F64), 1);
    assert_eq!(later.engine(), "llvm", "swapped in for later calls");
    assert_eq!(served(&service, &add_loop(I64), 1).engine(), "cranelift");
}

#[cfg(all(feature = "llvm", target_os = "linux"))]
#[test]
fn auto_compiles_in_the_idle_scheduling_class() {
    let service = service();
    service.set_tier(crate::Tier::Auto).unwrap();
    assert_eq!(service.background_thread_idle(), None, "no compile yet");
    served(&service, &add_loop(F64), super::auto::HOT_ELEMENTS);
    wait_for_background(&service);
    assert_eq!(
        service.background_thread_idle(),
        Some(true),
        "a compile never shares a core a call wants"
    );
}

#[cfg(feature = "llvm")]
#[test]
fn auto_keeps_the_baselines_block_and_row_folds() {
    let service = service();
    service.set_tier(crate::Tier::Auto).unwrap();
    let sum = || Fold {
        ufunc: "add".into(),
        type_args: vec![F64],
        elem: F64,
        acc: F64,
    };
    for request in [LoopRequest::Reduce(sum()), LoopRequest::Rows(sum())] {
        let code = served(&service, &request, super::auto::HOT_ELEMENTS);
        assert_eq!(code.engine(), "cranelift");
    }
    assert_eq!(service.upgrades_queued(), 0, "large folds are not queued");
    let scan = LoopRequest::Scan(sum());
    served(&service, &scan, super::auto::HOT_ELEMENTS);
    assert_eq!(service.upgrades_queued(), 1, "an in-order scan is");
}

#[cfg(feature = "llvm")]
#[test]
fn auto_upgrades_a_function_once_its_baseline_code_has_run_long_enough() {
    let service = service();
    service.set_tier(crate::Tier::Auto).unwrap();
    let spin = LoopRequest::Function(service.compiled.functions["spin"]);
    let mut calls = 0;
    loop {
        let code = served(&service, &spin, 0);
        if code.engine() == "llvm" {
            break;
        }
        if service.upgrades_queued() == 0 {
            assert!(code.time_spent() < super::auto::HOT_TIME, "queued once hot");
        }
        let n = kern_compiler::ir::ScalarValue::I64(100_000);
        code.call_scalars(&[n], &mut std::io::sink())
            .expect("spin runs");
        calls += 1;
        wait_for_background(&service);
        assert!(calls < 100_000, "the function becomes hot");
    }
    assert_eq!(service.upgrades_queued(), 1);
}

#[test]
fn without_the_llvm_feature_the_optimized_tier_is_an_error_naming_it() {
    let service = service();
    let result = service.set_tier(crate::Tier::Optimized);
    if cfg!(feature = "llvm") {
        assert!(result.is_ok());
    } else {
        assert!(result.unwrap_err().to_string().contains("`llvm` feature"));
    }
}

/// `matmul`'s loop, at `n x n` core extents or generic.
fn matmul_loop(n: Option<usize>) -> LoopRequest {
    LoopRequest::Gufunc {
        gufunc: "matmul".into(),
        type_args: Vec::new(),
        nin: 2,
        signature: GufuncLoopSignature {
            inputs: vec![F64, F64],
            outputs: vec![F64],
        },
        core: n.map(|n| CoreSpecialisation {
            extents: vec![vec![n, n]; 3],
            contiguous: false,
        }),
    }
}

/// The core extents of the gufunc loops `service` compiled (`None`: generic).
fn gufunc_loops(service: &CompileService) -> Vec<Option<usize>> {
    let mut sizes: Vec<Option<usize>> = service
        .cached_requests()
        .into_iter()
        .filter_map(|r| match r {
            LoopRequest::Gufunc { core, .. } => Some(core.map(|c| c.extents[0][0])),
            _ => None,
        })
        .collect();
    sizes.sort();
    sizes
}

#[test]
fn a_gufunc_loop_is_compiled_once_per_small_core_extents_up_to_a_bound() {
    let service = service();
    for n in [3, 4, 3, 4, 3] {
        machine_code(&service, &matmul_loop(Some(n)));
    }
    assert_eq!(
        gufunc_loops(&service),
        [Some(3), Some(4)],
        "one loop per size"
    );
    let units = service.compiled_units();
    machine_code(&service, &matmul_loop(Some(4)));
    assert_eq!(service.compiled_units(), units, "a cached size");
    // Past the largest extent: the generic loop, compiled once for all sizes.
    machine_code(&service, &matmul_loop(Some(MAX_CORE_EXTENT + 1)));
    machine_code(&service, &matmul_loop(Some(MAX_CORE_EXTENT + 7)));
    assert_eq!(gufunc_loops(&service), [None, Some(3), Some(4)]);
    // Many distinct small sizes: only the first few get a loop of their own,
    // the others share the generic one, so the cache stays bounded.
    for n in 0..=MAX_CORE_EXTENT {
        machine_code(&service, &matmul_loop(Some(n)));
    }
    let loops = gufunc_loops(&service);
    assert_eq!(loops.len(), 1 + MAX_SPECIALISED_PER_LOOP, "{loops:?}");
    assert_eq!(loops[0], None);
    assert_eq!(&loops[1..4], [Some(0), Some(1), Some(2)], "first come");
    // A size admitted earlier keeps its loop.
    let units = service.compiled_units();
    machine_code(&service, &matmul_loop(Some(3)));
    assert_eq!(service.compiled_units(), units);
}
