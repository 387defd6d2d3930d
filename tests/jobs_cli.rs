//! The job server from the `kern` command line: a long `jobs::map` batch run with
//! stderr not a terminal (a pipe, as here) prints no progress bar or anything
//! else on stderr, and its results on stdout are the same with any worker count.

use std::process::Command;

const LONG_BATCH: &str = r#"
fn spin(n: i64) -> i64 {
    let mut x = 0;
    for i in 0..n {
        x = (x * 31 + i) % 1000003;
    }
    x
}

fn main() {
    jobs::set_workers(1);
    let n: Array<i64> = full(16, 10_000_000);
    let r = jobs::map(spin, &n);
    println!("{} {}", r.len(), r[0] == r[15]);
}
"#;

#[test]
fn a_long_batch_prints_nothing_on_stderr_when_it_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("long_batch.kern");
    std::fs::write(&file, LONG_BATCH).unwrap();
    let started = std::time::Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_kern"))
        .arg("run")
        .arg(&file)
        .output()
        .expect("the kern binary runs");
    let elapsed = started.elapsed();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "16 true\n");
    assert!(
        output.stderr.is_empty(),
        "stderr: {:?}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The batch was long enough that a terminal would have shown a bar.
    assert!(
        elapsed >= kern::jobs::progress::DELAY,
        "the batch took only {elapsed:?}"
    );
}
