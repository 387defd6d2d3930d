//! The batched loops against their single-run loops, in the interpreter, with a
//! non-associative "sum" (`f(a, b) = 2a + b`) that exposes any change of order.

use super::*;
use crate::diagnostics::SourceMap;
use crate::interp::Interpreter;
use crate::loops::reduce_loop::build_reduce_loop;
use crate::loops::scan_loop::build_scan_loop;

const SOURCE: &str = "#[vectorize(identity = 0)] fn g(a: i64, b: i64) -> i64 { 2 * a + b }";

fn program() -> (Program, FuncId) {
    let mut sources = SourceMap::new();
    let file = sources.add("t.kern", SOURCE);
    let program = match crate::frontend::compile(&mut sources, file) {
        Ok(c) => c.program,
        Err(d) => panic!("{}", d.render(&sources)),
    };
    let g = program.find("g").unwrap();
    (program, g)
}

use crate::test_support::{array_arg, desc};

type Builder = fn(&mut Program, FuncId, ScalarType, ScalarType) -> Result<FuncId, LoopError>;

/// `g`'s single-run loop and its batched loop over `i64`, verified.
fn verified_pair(single: Builder, batched: Builder) -> (Program, FuncId, FuncId) {
    let (mut program, g) = program();
    let single = single(&mut program, g, ScalarType::I64, ScalarType::I64).unwrap();
    let batched = batched(&mut program, g, ScalarType::I64, ScalarType::I64).unwrap();
    crate::ir::verify::verify_program(&program).unwrap();
    (program, single, batched)
}

fn run(program: &Program, f: FuncId, args: &[HostArg]) -> Result<(), Trap> {
    // SAFETY: every test passes descriptors over live buffers.
    unsafe { Interpreter::new(program).call(f, args, &mut std::io::sink()) }.map(|_| ())
}

#[test]
fn every_block_of_every_lane_is_the_block_loop_of_that_run() {
    let (program, block_loop, batch) = verified_pair(build_reduce_loop, build_reduce_batch);
    assert!(matches!(
        program.function(batch).kind,
        FunctionKind::ReductionBatch { .. }
    ));
    for (lanes, n) in [
        (1usize, 1usize),
        (3, 7),
        (2, 128),
        (2, 129),
        (3, 300),
        (1, 1000),
    ] {
        // Lane-major data; the batch reads it transposed (lane stride 1) to
        // check strides too.
        let mut x: Vec<i64> = (0..(lanes * n) as i64).map(|v| v % 97 - 40).collect();
        let blocks = n.div_ceil(BLOCK);
        let mut out = vec![0i64; lanes * blocks];
        run(
            &program,
            batch,
            &[
                array_arg(&mut x, &[lanes as i64, n as i64], &[1, lanes as i64]),
                array_arg(
                    &mut out,
                    &[lanes as i64, blocks as i64],
                    &[blocks as i64, 1],
                ),
            ],
        )
        .unwrap();
        for lane in 0..lanes {
            for block in 0..blocks {
                let len = (n - block * BLOCK).min(BLOCK);
                let mut run_out = [0i64];
                let first = unsafe { x.as_mut_ptr().add(lane + block * BLOCK * lanes) };
                run(
                    &program,
                    block_loop,
                    &[
                        HostArg::Array(desc(first, &[len as i64], &[lanes as i64])),
                        array_arg(&mut run_out, &[1], &[1]),
                    ],
                )
                .unwrap();
                assert_eq!(
                    out[lane * blocks + block],
                    run_out[0],
                    "lanes {lanes}, n {n}, lane {lane}, block {block}"
                );
            }
        }
    }
}

#[test]
fn an_output_of_the_wrong_shape_traps_instead_of_writing_past_it() {
    let (mut program, g) = program();
    let batch = build_reduce_batch(&mut program, g, ScalarType::I64, ScalarType::I64).unwrap();
    let mut x = vec![1i64; 300];
    // 300 elements are three blocks; the output has room for two.
    let mut out = vec![0i64; 2];
    let trap = run(
        &program,
        batch,
        &[
            array_arg(&mut x, &[1, 300], &[300, 1]),
            array_arg(&mut out, &[1, 2], &[2, 1]),
        ],
    )
    .unwrap_err();
    assert!(
        matches!(trap.kind, TrapKind::IndexOutOfBounds { .. }),
        "{trap:?}"
    );
}

#[test]
fn every_lane_of_the_batched_scan_is_the_scan_loop_of_that_lane() {
    let (program, scan, batch) = verified_pair(build_scan_loop, build_scan_batch);
    let (lanes, n) = (4usize, 9usize);
    let mut seeds: Vec<i64> = vec![3, -1, 0, 7];
    let mut x: Vec<i64> = (0..(lanes * n) as i64).map(|v| v % 5 - 2).collect();
    let mut out = vec![0i64; lanes * n];
    run(
        &program,
        batch,
        &[
            array_arg(&mut seeds, &[lanes as i64], &[1]),
            array_arg(&mut x, &[lanes as i64, n as i64], &[n as i64, 1]),
            array_arg(&mut out, &[lanes as i64, n as i64], &[n as i64, 1]),
        ],
    )
    .unwrap();
    for lane in 0..lanes {
        let mut expected = vec![0i64; n];
        run(
            &program,
            scan,
            &[
                HostArg::Array(desc(&mut seeds[lane], &[1], &[1])),
                HostArg::Array(desc(x[lane * n..].as_mut_ptr(), &[n as i64], &[1])),
                array_arg(&mut expected, &[n as i64], &[1]),
            ],
        )
        .unwrap();
        assert_eq!(out[lane * n..(lane + 1) * n], expected[..], "lane {lane}");
    }

    // Over the seeds with stride 0: an in-order reduction per lane.
    let mut acc = seeds.clone();
    let acc_ptr = acc.as_mut_ptr();
    run(
        &program,
        batch,
        &[
            HostArg::Array(desc(acc_ptr, &[lanes as i64], &[1])),
            array_arg(&mut x, &[lanes as i64, n as i64], &[n as i64, 1]),
            HostArg::Array(desc(acc_ptr, &[lanes as i64, n as i64], &[1, 0])),
        ],
    )
    .unwrap();
    for lane in 0..lanes {
        let folded = x[lane * n..(lane + 1) * n]
            .iter()
            .fold(seeds[lane], |a, &b| 2 * a + b);
        assert_eq!(acc[lane], folded, "lane {lane}");
    }
}
