//! Specification of the job server (`kern_runtime::jobs`): submitting closures and
//! compiled kern functions, waiting, callbacks, templates, groups, changing the
//! worker count under load, statistics, and errors that come back from `wait`
//! without taking the server down.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use kern_runtime::jobs::{Group, JobError, Server, Template};
use kern_runtime::{Element, Error, Module, ScalarValue};

const PRIMES: &str = r#"
fn is_prime(n: i64) -> bool {
    if n < 2 { return false; }
    let mut i = 2;
    while i * i <= n {
        if n % i == 0 { return false; }
        i += 1;
    }
    true
}

fn sum_primes(n: i64) -> i64 {
    let mut sum = 0;
    for k in 2..n {
        if is_prime(k) { sum += k; }
    }
    sum
}

fn divide(a: i64, b: i64) -> i64 { a / b }

fn takes_a_slice(x: &[f64]) -> f64 { x[0] }
"#;

fn sum_primes_in_rust(n: i64) -> i64 {
    (2..n)
        .filter(|&k| (2..).take_while(|i| i * i <= k).all(|i| k % i != 0))
        .sum()
}

fn server(workers: usize) -> Server {
    Server::with_workers(workers).expect("a server starts")
}

#[test]
fn a_closure_job_returns_its_value() {
    let server = server(2);
    let job = server.submit_fn(|| 6 * 7);
    assert_eq!(job.wait().unwrap(), 42);
}

#[test]
fn a_server_without_a_count_has_one_worker_per_hardware_thread() {
    let server = Server::new().unwrap();
    let expected = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(server.workers(), expected);
}

#[test]
fn zero_workers_is_an_error_not_a_hang() {
    assert!(matches!(Server::with_workers(0), Err(Error::Call(_))));
    let server = server(1);
    assert!(server.set_workers(0).is_err());
    assert_eq!(server.workers(), 1);
}

#[test]
fn a_compiled_kern_function_runs_as_a_job() {
    let mut module = Module::from_source("primes.kern", PRIMES).unwrap();
    let sum_primes = module.function("sum_primes").unwrap();
    let server = server(3);
    let jobs: Vec<_> = [100i64, 1000, 10_000]
        .into_iter()
        .map(|n| (n, server.submit(&sum_primes, (n,))))
        .collect();
    for (n, job) in jobs {
        assert_eq!(
            job.wait().unwrap(),
            Some(ScalarValue::I64(sum_primes_in_rust(n)))
        );
    }
}

#[test]
fn a_kern_trap_comes_back_from_wait_with_its_location_and_the_server_keeps_working() {
    let mut module = Module::from_source("primes.kern", PRIMES).unwrap();
    let divide = module.function("divide").unwrap();
    let server = server(1);
    let failed = server.submit(&divide, (1i64, 0i64)).wait().unwrap_err();
    let JobError::Kernel(error) = &failed else {
        panic!("expected a kernel error, got {failed:?}");
    };
    assert!(matches!(**error, Error::Kernel { .. }), "{error:?}");
    let text = failed.to_string();
    assert!(text.contains("divide by zero"), "{text}");
    assert!(text.contains("primes.kern:20:36"), "{text}");
    assert_eq!(
        server.submit(&divide, (9i64, 3i64)).wait().unwrap(),
        Some(ScalarValue::I64(3))
    );
}

#[test]
fn wrong_argument_types_are_the_jobs_error() {
    let mut module = Module::from_source("primes.kern", PRIMES).unwrap();
    let sum_primes = module.function("sum_primes").unwrap();
    let server = server(1);
    let error = server.submit(&sum_primes, (1.5f64,)).wait().unwrap_err();
    assert!(error.to_string().contains("takes (i64)"), "{error}");
}

#[test]
fn functions_with_array_parameters_cannot_be_jobs() {
    let mut module = Module::from_source("primes.kern", PRIMES).unwrap();
    let error = module.function("takes_a_slice").unwrap_err();
    assert!(error.to_string().contains("scalar parameters"), "{error}");
    assert!(module.function("no_such_function").is_err());
}

#[test]
fn a_panicking_closure_comes_back_from_wait_and_the_worker_keeps_serving() {
    let server = server(1);
    let job = server.submit_fn(|| -> i32 { panic!("deliberate test panic") });
    match job.wait() {
        Err(JobError::Panicked(message)) => assert_eq!(message, "deliberate test panic"),
        other => panic!("expected a panic, got {other:?}"),
    }
    assert_eq!(
        server.submit_fn(|| "still serving").wait().unwrap(),
        "still serving"
    );
    server.wait_all();
    assert_eq!(server.stats().jobs_done(), 2);
}

#[test]
fn a_callback_fires_exactly_once_with_the_result() {
    let server = server(2);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let gate = Arc::new(Barrier::new(2));
    let job_gate = gate.clone();
    // Registered while the job is still running: runs on the worker.
    let job = server.submit_fn(move || {
        job_gate.wait();
        5
    });
    let log = seen.clone();
    job.on_complete(move |r| log.lock().unwrap().push(*r.as_ref().unwrap()));
    gate.wait();
    assert_eq!(job.wait_cloned().unwrap(), 5);
    assert_eq!(
        *seen.lock().unwrap(),
        vec![5],
        "the callback ran before wait returned"
    );
    // Registered after the job finished: runs at once, on this thread.
    let log = seen.clone();
    job.on_complete(move |r| log.lock().unwrap().push(r.as_ref().unwrap() * 10));
    assert_eq!(*seen.lock().unwrap(), vec![5, 50]);
    assert_eq!(job.wait().unwrap(), 5, "the result is still there");
}

#[test]
fn a_callback_of_a_failed_job_sees_the_error() {
    let server = server(1);
    let errors = Arc::new(AtomicUsize::new(0));
    let count = errors.clone();
    let job = server.submit_fn(|| -> u8 { panic!("deliberate test panic") });
    job.on_complete(move |r| {
        if r.is_err() {
            count.fetch_add(1, Ordering::SeqCst);
        }
    });
    assert!(job.wait().is_err());
    assert_eq!(errors.load(Ordering::SeqCst), 1);
}

#[test]
fn a_panicking_callback_does_not_kill_the_worker() {
    let server = server(1);
    let job = server.submit_fn(|| 1);
    job.on_complete(|_| panic!("deliberate test panic in a callback"));
    assert_eq!(job.wait().unwrap(), 1);
    assert_eq!(server.submit_fn(|| 2).wait().unwrap(), 2);
}

#[test]
fn a_template_runs_one_function_on_many_argument_sets() {
    let server = server(3);
    let square = Template::new(&server, |x: u64| x * x);
    let jobs = square.submit_all(1..=10);
    let squares: Vec<u64> = jobs.into_iter().map(|j| j.wait().unwrap()).collect();
    assert_eq!(squares, (1..=10).map(|x| x * x).collect::<Vec<_>>());
}

#[test]
fn a_kern_template_runs_the_compiled_function() {
    let mut module = Module::from_source("primes.kern", PRIMES).unwrap();
    let divide = module.function("divide").unwrap();
    let server = server(2);
    let template = Template::kern(&server, &divide);
    let results: Vec<_> = template
        .submit_all([(10i64, 2i64), (9, 3), (1, 0)])
        .into_iter()
        .map(|j| j.wait().ok().flatten())
        .collect();
    assert_eq!(
        results,
        vec![Some(ScalarValue::I64(5)), Some(ScalarValue::I64(3)), None]
    );
}

#[test]
fn waiting_for_a_group_waits_for_all_of_its_jobs_and_counts_failures() {
    let server = server(4);
    let group = Group::new();
    let finished = Arc::new(AtomicUsize::new(0));
    for i in 0..20u64 {
        let finished = finished.clone();
        server
            .submit_fn(move || {
                std::thread::sleep(Duration::from_millis(i % 3));
                finished.fetch_add(1, Ordering::SeqCst);
                assert!(i % 7 != 3, "deliberate test panic");
            })
            .in_group(&group);
    }
    let summary = server.wait_group(&group);
    assert_eq!(finished.load(Ordering::SeqCst), 20);
    assert_eq!(summary.finished, 20);
    assert_eq!(summary.failed, 3, "i = 3, 10, 17 panic");
    assert_eq!(group.len(), 20);
}

#[test]
fn a_group_waits_only_for_its_own_jobs() {
    let server = server(2);
    let (release, blocked) = std::sync::mpsc::channel::<()>();
    let outsider = server.submit_fn(move || blocked.recv().is_ok());
    let group = Group::new();
    server.submit_fn(|| 1).in_group(&group);
    assert_eq!(
        group.wait().finished,
        1,
        "returns while the outsider still blocks"
    );
    release.send(()).unwrap();
    assert!(outsider.wait().unwrap());
}

#[test]
fn the_worker_count_changes_under_load_without_losing_jobs() {
    let server = server(1);
    let done = Arc::new(AtomicUsize::new(0));
    let submit_batch = |n: usize| {
        (0..n)
            .map(|_| {
                let done = done.clone();
                server.submit_fn(move || {
                    std::thread::sleep(Duration::from_millis(2));
                    done.fetch_add(1, Ordering::SeqCst)
                })
            })
            .collect::<Vec<_>>()
    };
    let mut jobs = submit_batch(40);
    server.set_workers(4).unwrap();
    assert_eq!(server.workers(), 4);
    jobs.extend(submit_batch(40));
    server.set_workers(2).unwrap();
    jobs.extend(submit_batch(40));
    for job in jobs {
        job.wait().unwrap();
    }
    server.wait_all();
    assert_eq!(done.load(Ordering::SeqCst), 120);
    let stats = server.stats();
    assert_eq!(stats.jobs_done(), 120);
    assert_eq!(stats.workers.len(), 4, "workers 0..4 were started");
    assert_eq!(stats.workers.iter().filter(|w| w.active).count(), 2);
    assert!(
        stats.workers.iter().filter(|w| w.jobs > 0).count() > 1,
        "more than one worker ran jobs: {stats}"
    );
}

#[test]
fn stats_add_up() {
    let server = server(3);
    for _ in 0..30 {
        server.submit_fn(|| std::thread::sleep(Duration::from_millis(1)));
    }
    server.wait_all();
    let stats = server.stats();
    assert_eq!(stats.jobs_done(), 30);
    assert_eq!(stats.queued, 0);
    assert_eq!(stats.running, 0);
    assert!(stats.busy() >= Duration::from_millis(30), "{stats}");
    assert!(stats.wall >= Duration::from_millis(10), "{stats}");
    for w in &stats.workers {
        assert!(
            w.busy <= stats.wall,
            "no worker is busy longer than the server lives"
        );
    }
    let table = stats.to_string();
    assert!(table.starts_with("Job execution statistics:"), "{table}");
    assert_eq!(table.lines().count(), 2 + 3 + 1, "{table}");
}

#[test]
fn many_threads_can_submit_at_once() {
    let server = server(4);
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let server = server.clone();
            std::thread::spawn(move || {
                (0..250u64)
                    .map(|i| server.submit_fn(move || t * 1000 + i))
                    .map(|job| job.wait().unwrap())
                    .sum::<u64>()
            })
        })
        .collect();
    let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let expected: u64 = (0..8u64)
        .map(|t| (0..250u64).map(|i| t * 1000 + i).sum::<u64>())
        .sum();
    assert_eq!(total, expected);
    server.wait_all();
    assert_eq!(server.stats().jobs_done(), 2000);
}

#[test]
fn dropping_the_server_finishes_the_queued_jobs() {
    let done = Arc::new(AtomicUsize::new(0));
    let jobs: Vec<_> = {
        let server = server(1);
        (0..10)
            .map(|_| {
                let done = done.clone();
                server.submit_fn(move || {
                    std::thread::sleep(Duration::from_millis(1));
                    done.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect()
    };
    assert_eq!(
        done.load(Ordering::SeqCst),
        10,
        "the drop waited for the queue"
    );
    assert!(jobs.iter().all(|j| j.is_finished()));
}

#[test]
fn a_job_may_drop_the_last_handle_of_its_own_server() {
    let server = server(1);
    let inside = server.clone();
    let job = server.submit_fn(move || drop(inside));
    drop(server);
    job.wait().unwrap();
}

#[test]
fn a_job_may_run_a_parallel_ufunc_without_deadlocking() {
    let module = Module::from_source(
        "twice.kern",
        "#[vectorize]\nfn twice(x: f64) -> f64 { 2.0 * x }",
    )
    .unwrap();
    let twice = module
        .ufunc("twice")
        .unwrap()
        .with_target(kern_runtime::Target::Parallel);
    let server = server(2);
    let twice = Arc::new(twice);
    let jobs: Vec<_> = (0..4)
        .map(|k| {
            let twice = twice.clone();
            server.submit_fn(move || {
                let x = ndarray::Array1::from_elem(100_000, k as f64);
                let y = twice.call(&[(&x).into()]).unwrap();
                f64::unwrap_ref(&y).expect("an f64 result").sum()
            })
        })
        .collect();
    for (k, job) in jobs.into_iter().enumerate() {
        assert_eq!(job.wait().unwrap(), 200_000.0 * k as f64);
    }
}
