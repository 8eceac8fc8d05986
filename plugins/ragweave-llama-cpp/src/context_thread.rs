//! A thread that owns a llama.cpp context. A context borrows its model and must not be used
//! from two threads at once, so each generator and encoder gets one thread that makes its
//! context and serves a job queue; the rest of the process talks to it through channels.
//!
//! A panic in the thread (a bug here or in the bindings) must not leave the model dead for
//! the life of the process: the panic is caught and logged, the jobs it held fail (their
//! reply channels close), and the next job or health check starts a fresh thread with a
//! fresh context.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, SendError, Sender, channel, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::model::LlamaModel;

use crate::backend::{backend, with_logged_errors};
use crate::error::LlamaCppError;

type Params = Arc<dyn Fn() -> LlamaContextParams + Send + Sync>;
type Serve<J> = Arc<dyn for<'m> Fn(&'m LlamaModel, LlamaContext<'m>, Receiver<J>) + Send + Sync>;

/// The thread serving a context, restarted when it has died.
pub(crate) struct ContextThread<J> {
    name: &'static str,
    model: Arc<LlamaModel>,
    params: Params,
    serve: Serve<J>,
    live: Mutex<Live<J>>,
}

struct Live<J> {
    jobs: Sender<J>,
    /// `None` once joined.
    thread: Option<JoinHandle<()>>,
    /// Threads started after the first.
    restarts: usize,
    /// When the last restart failed, and why: another is not tried before
    /// [`RETRY_AFTER`], so health checks cannot make a context a second each.
    failed: Option<(Instant, String)>,
}

/// How long after a failed restart the next one waits.
const RETRY_AFTER: Duration = Duration::from_secs(10);

impl<J: Send + 'static> ContextThread<J> {
    /// Starts the thread; returns once its context exists, or why it could not be made.
    /// `serve` runs until every sender of the queue is gone.
    pub(crate) fn start(
        name: &'static str,
        model: Arc<LlamaModel>,
        params: impl Fn() -> LlamaContextParams + Send + Sync + 'static,
        serve: impl for<'m> Fn(&'m LlamaModel, LlamaContext<'m>, Receiver<J>) + Send + Sync + 'static,
    ) -> Result<Self, LlamaCppError> {
        let params: Params = Arc::new(params);
        let serve: Serve<J> = Arc::new(serve);
        let (jobs, thread) = spawn(name, &model, &params, &serve)?;
        let live = Live {
            jobs,
            thread: Some(thread),
            restarts: 0,
            failed: None,
        };
        Ok(Self {
            name,
            model,
            params,
            serve,
            live: Mutex::new(live),
        })
    }

    /// Queues `job`, first starting a fresh thread if the last one died.
    pub(crate) fn send(&self, job: J) -> Result<(), LlamaCppError> {
        let mut live = self.live();
        match live.jobs.send(job) {
            Ok(()) => Ok(()),
            Err(SendError(job)) => {
                self.restart(&mut live)?;
                live.jobs.send(job).map_err(|_| LlamaCppError::WorkerGone)
            }
        }
    }

    /// Ok while the thread runs, or once a dead one is replaced; the reason otherwise.
    pub(crate) fn health(&self) -> Result<(), LlamaCppError> {
        let mut live = self.live();
        if live.thread.as_ref().is_none_or(|t| t.is_finished()) {
            self.restart(&mut live)?;
        }
        Ok(())
    }

    /// Threads started to replace one that died.
    pub(crate) fn restarts(&self) -> usize {
        self.live().restarts
    }

    fn live(&self) -> MutexGuard<'_, Live<J>> {
        // The lock guards no invariant a panic could break: a sender and a handle.
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a new thread, the old one joined first: its context is freed before the new
    /// one is made (a GPU may hold only one).
    fn restart(&self, live: &mut Live<J>) -> Result<(), LlamaCppError> {
        if let Some(old) = live.thread.take() {
            let _ = old.join();
        }
        if let Some((at, why)) = &live.failed
            && at.elapsed() < RETRY_AFTER
        {
            return Err(LlamaCppError::Engine(why.clone()));
        }
        tracing::warn!(
            thread = self.name,
            "the llama.cpp {} thread had stopped; starting a new one",
            self.name
        );
        match spawn(self.name, &self.model, &self.params, &self.serve) {
            Ok((jobs, thread)) => {
                live.jobs = jobs;
                live.thread = Some(thread);
                live.restarts += 1;
                live.failed = None;
                Ok(())
            }
            Err(e) => {
                live.failed = Some((Instant::now(), e.to_string()));
                Err(e)
            }
        }
    }
}

fn spawn<J: Send + 'static>(
    name: &'static str,
    model: &Arc<LlamaModel>,
    params: &Params,
    serve: &Serve<J>,
) -> Result<(Sender<J>, JoinHandle<()>), LlamaCppError> {
    let (jobs, queue) = channel::<J>();
    let (ready, started) = sync_channel(1);
    let (model, params, serve) = (Arc::clone(model), Arc::clone(params), Arc::clone(serve));
    let thread = std::thread::Builder::new()
        .name(format!("llama.cpp {name}"))
        .spawn(move || {
            let params = params();
            let n_ctx = params.n_ctx().map_or(0, |n| n.get());
            let (ctx, errors) = with_logged_errors(|| model.new_context(backend(), params));
            let ctx = match ctx {
                Ok(ctx) => ctx,
                Err(e) => {
                    let _ = ready.send(Err(LlamaCppError::Engine(format!(
                        "could not create a context of {n_ctx} tokens: {e} {}",
                        errors.join("; ")
                    ))));
                    return;
                }
            };
            let _ = ready.send(Ok(()));
            // Unwinding drops the context and the queue: every waiting job's channel closes.
            let served = std::panic::catch_unwind(AssertUnwindSafe(|| serve(&model, ctx, queue)));
            if let Err(panic) = served {
                let why = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                tracing::error!(thread = name, "the llama.cpp {name} thread panicked: {why}");
            }
        })
        .map_err(|e| LlamaCppError::Engine(format!("could not start the worker thread: {e}")))?;
    started.recv().map_err(|_| LlamaCppError::WorkerGone)??;
    Ok((jobs, thread))
}
