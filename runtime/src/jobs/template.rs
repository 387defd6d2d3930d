//! Templates: one function submitted with many argument sets (Parallel Python's
//! `Template`), for Rust closures and compiled kern functions alike.

use std::sync::Arc;

use super::job::{Job, JobError};
use super::kernel::{KernArgs, KernFunction};
use super::server::Server;
use crate::ScalarValue;

type Run<A, T> = Arc<dyn Fn(A) -> Result<T, JobError> + Send + Sync>;

/// A function bound to a server; [`submit`](Template::submit) runs it on one
/// argument set. Cheap to clone.
pub struct Template<A, T> {
    server: Server,
    run: Run<A, T>,
}

impl<A, T> Clone for Template<A, T> {
    fn clone(&self) -> Self {
        Template {
            server: self.server.clone(),
            run: self.run.clone(),
        }
    }
}

impl<A: Send + 'static, T: Send + 'static> Template<A, T> {
    /// A template of the Rust function `f`.
    pub fn new(server: &Server, f: impl Fn(A) -> T + Send + Sync + 'static) -> Template<A, T> {
        Template {
            server: server.clone(),
            run: Arc::new(move |args| Ok(f(args))),
        }
    }

    /// Submits one call with `args`.
    pub fn submit(&self, args: A) -> Job<T> {
        let run = self.run.clone();
        self.server.submit_catching(move || run(args))
    }

    /// Submits one call per argument set, in order.
    pub fn submit_all(&self, argument_sets: impl IntoIterator<Item = A>) -> Vec<Job<T>> {
        argument_sets.into_iter().map(|a| self.submit(a)).collect()
    }
}

impl<A: KernArgs + Send + 'static> Template<A, Option<ScalarValue>> {
    /// A template of the compiled kern function `function`.
    pub fn kern(server: &Server, function: &KernFunction) -> Template<A, Option<ScalarValue>> {
        let function = function.clone();
        Template {
            server: server.clone(),
            run: Arc::new(move |args: A| {
                function
                    .call_to_stdout(&args.into_values())
                    .map_err(JobError::from)
            }),
        }
    }
}
