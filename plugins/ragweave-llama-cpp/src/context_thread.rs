//! A thread that owns a llama.cpp context. A context borrows its model and must not be used
//! from two threads at once, so each generator and encoder gets one thread that makes its
//! context and serves a job queue; the rest of the process talks to it through channels.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel, sync_channel};

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::model::LlamaModel;

use crate::backend::{backend, with_logged_errors};
use crate::error::LlamaCppError;

/// Starts the thread; returns its job queue once the context exists, or why it could not be
/// made. `serve` runs until every sender of the queue is gone.
pub(crate) fn spawn<J: Send + 'static>(
    name: &str,
    model: Arc<LlamaModel>,
    params: impl FnOnce() -> LlamaContextParams + Send + 'static,
    serve: impl for<'m> FnOnce(&'m LlamaModel, LlamaContext<'m>, Receiver<J>) + Send + 'static,
) -> Result<Sender<J>, LlamaCppError> {
    let (jobs, queue) = channel::<J>();
    let (ready, started) = sync_channel(1);
    std::thread::Builder::new()
        .name(format!("llama.cpp {name}"))
        .spawn(move || {
            let params = params();
            let n_ctx = params.n_ctx().map_or(0, |n| n.get());
            let (ctx, errors) = with_logged_errors(|| model.new_context(backend(), params));
            match ctx {
                Ok(ctx) => {
                    let _ = ready.send(Ok(()));
                    serve(&model, ctx, queue);
                }
                Err(e) => {
                    let _ = ready.send(Err(LlamaCppError::Engine(format!(
                        "could not create a context of {n_ctx} tokens: {e} {}",
                        errors.join("; ")
                    ))));
                }
            }
        })
        .map_err(|e| LlamaCppError::Engine(format!("could not start the worker thread: {e}")))?;
    started.recv().map_err(|_| LlamaCppError::WorkerGone)??;
    Ok(jobs)
}
