//! The thread that owns a generator's llama.cpp context.
//!
//! One context serves up to `parallel` requests at once: each gets its own sequence in the
//! KV cache, and every step decodes one batch holding the next token of each generating
//! sequence plus prompt chunks of new ones (continuous batching, as llama-server does). No
//! two threads ever touch the context; requests reach it through a channel and tokens leave
//! through one channel per request, so a dropped receiver cancels its sequence.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use ragweave_core::{Error, FinishReason, SamplingParams, StopMatcher};
use tokio::sync::mpsc::UnboundedSender;

use crate::backend::with_logged_errors;
use crate::context_thread::ContextThread;
use crate::error::LlamaCppError;
use crate::pieces::Utf8Pieces;
use crate::sampling;

/// What a request's channel carries.
#[derive(Debug)]
pub(crate) enum Event {
    /// Text of one generated token (possibly empty while characters or a stop sequence are
    /// incomplete).
    Piece(String),
    /// Generation ended normally.
    Done {
        /// Why.
        reason: FinishReason,
        /// Tokens sampled, an end-of-generation token included.
        tokens: usize,
    },
    /// Generation failed; nothing follows.
    Failed(Error),
}

/// What the worker's queue carries.
pub(crate) enum Order {
    /// Serve a request.
    Generate(Job),
    /// Panic, as a bug in the worker would: fault tests check what callers then see.
    Panic,
}

/// A generation request for the worker.
pub(crate) struct Job {
    pub prompt: Vec<LlamaToken>,
    pub params: SamplingParams,
    pub events: UnboundedSender<Event>,
}

/// Context sizes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    /// Tokens per sequence.
    pub context: u32,
    /// Sequences decoded together.
    pub parallel: u32,
    /// Tokens per decode call.
    pub batch: u32,
    /// CPU threads.
    pub threads: i32,
}

/// Starts the worker; returns once its context exists (or could not be made).
pub(crate) fn spawn(
    model: Arc<LlamaModel>,
    shape: Shape,
) -> Result<ContextThread<Order>, LlamaCppError> {
    let params = move || {
        LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(shape.context * shape.parallel))
            .with_n_batch(shape.batch)
            .with_n_ubatch(shape.batch)
            .with_n_seq_max(shape.parallel)
            .with_n_threads(shape.threads)
            .with_n_threads_batch(shape.threads)
    };
    ContextThread::start("generator", model, params, move |model, ctx, queue| {
        Worker::new(model, ctx, shape).run(queue)
    })
}

/// One request being served.
struct Slot {
    seq: i32,
    job: Job,
    sampler: LlamaSampler,
    /// Prompt tokens decoded so far.
    fed: usize,
    /// Position of the next token in the sequence.
    pos: i32,
    /// The sampled token to decode next, once the prompt is in.
    next: Option<LlamaToken>,
    /// Index of this slot's logits in the batch just decoded.
    logits_at: Option<i32>,
    sampled: usize,
    text: Utf8Pieces,
    stop: StopMatcher,
}

struct Worker<'m> {
    model: &'m LlamaModel,
    ctx: LlamaContext<'m>,
    shape: Shape,
    batch: LlamaBatch<'static>,
    slots: Vec<Slot>,
    free_seqs: Vec<i32>,
}

impl<'m> Worker<'m> {
    fn new(model: &'m LlamaModel, ctx: LlamaContext<'m>, shape: Shape) -> Self {
        Self {
            model,
            ctx,
            shape,
            batch: LlamaBatch::new(shape.batch as usize, 1),
            slots: Vec::new(),
            free_seqs: (0..shape.parallel as i32).rev().collect(),
        }
    }

    fn run(mut self, queue: Receiver<Order>) {
        loop {
            if self.slots.is_empty() {
                match queue.recv() {
                    Ok(order) => self.take(order),
                    Err(_) => return,
                }
            }
            while !self.free_seqs.is_empty() {
                match queue.try_recv() {
                    Ok(order) => self.take(order),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            self.drop_cancelled();
            if !self.slots.is_empty() {
                self.step();
            }
        }
    }

    fn take(&mut self, order: Order) {
        match order {
            Order::Generate(job) => self.admit(job),
            Order::Panic => panic!("a fault test asked the generator thread to panic"),
        }
    }

    fn admit(&mut self, job: Job) {
        let seq = self
            .free_seqs
            .pop()
            .expect("admitted only with a free sequence");
        let sampler = sampling::chain(&job.params, self.model.n_vocab());
        let stop = StopMatcher::new(&job.params.stop);
        self.slots.push(Slot {
            seq,
            job,
            sampler,
            fed: 0,
            pos: 0,
            next: None,
            logits_at: None,
            sampled: 0,
            text: Utf8Pieces::default(),
            stop,
        });
    }

    fn drop_cancelled(&mut self) {
        let mut i = 0;
        while i < self.slots.len() {
            if self.slots[i].job.events.is_closed() {
                self.release(i);
            } else {
                i += 1;
            }
        }
    }

    fn release(&mut self, i: usize) {
        let slot = self.slots.swap_remove(i);
        let _ = self
            .ctx
            .clear_kv_cache_seq(Some(slot.seq as u32), None, None);
        self.free_seqs.push(slot.seq);
    }

    /// One decode: the next token of each generating sequence, then prompt chunks.
    fn step(&mut self) {
        self.batch.clear();
        for slot in &mut self.slots {
            slot.logits_at = None;
            if let Some(token) = slot.next {
                self.batch
                    .add(token, slot.pos, &[slot.seq], true)
                    .expect("one token per slot fits: batch >= parallel");
                slot.logits_at = Some(self.batch.n_tokens() - 1);
                slot.pos += 1;
            }
        }
        let mut room = self.shape.batch as usize - self.batch.n_tokens() as usize;
        for slot in self.slots.iter_mut().filter(|s| s.next.is_none()) {
            let take = room.min(slot.job.prompt.len() - slot.fed);
            if take == 0 {
                break;
            }
            for i in slot.fed..slot.fed + take {
                let last = i + 1 == slot.job.prompt.len();
                self.batch
                    .add(slot.job.prompt[i], slot.pos, &[slot.seq], last)
                    .expect("room was counted");
                slot.pos += 1;
                if last {
                    slot.logits_at = Some(self.batch.n_tokens() - 1);
                }
            }
            slot.fed += take;
            room -= take;
        }
        let (decoded, errors) = with_logged_errors(|| self.ctx.decode(&mut self.batch));
        if let Err(e) = decoded {
            let why = format!("decode failed: {e} {}", errors.join("; "));
            while !self.slots.is_empty() {
                let _ = self.slots[0]
                    .job
                    .events
                    .send(Event::Failed(LlamaCppError::Engine(why.clone()).into()));
                self.release(0);
            }
            return;
        }
        let mut i = 0;
        while i < self.slots.len() {
            if self.sample(i) {
                i += 1;
            } else {
                self.release(i);
            }
        }
    }

    /// Samples slot `i`'s next token if it has logits; false when the slot is finished.
    fn sample(&mut self, i: usize) -> bool {
        let vocab = self.model.vocab();
        let context = self.shape.context as i32;
        let slot = &mut self.slots[i];
        let Some(at) = slot.logits_at else {
            return true;
        };
        let token = slot.sampler.sample(&self.ctx, at);
        slot.sampled += 1;
        let max = slot.job.params.max_tokens;
        let (mut emit, finish) = if vocab.is_eog(token) {
            (String::new(), Some(FinishReason::Stop))
        } else {
            let text = slot.text.push(&vocab.token_to_piece(token, false, None));
            let step = slot.stop.push(&text);
            let finish = if step.stopped {
                Some(FinishReason::Stop)
            } else if slot.sampled >= max || slot.pos >= context {
                Some(FinishReason::Length)
            } else {
                None
            };
            (step.emit, finish)
        };
        let Some(reason) = finish else {
            slot.next = Some(token);
            return slot.job.events.send(Event::Piece(emit)).is_ok();
        };
        if reason == FinishReason::Length || vocab.is_eog(token) {
            // Held-back text was not a stop sequence after all.
            let rest = slot.text.finish();
            emit.push_str(&slot.stop.push(&rest).emit);
            emit.push_str(&slot.stop.finish());
        }
        if !emit.is_empty() || !vocab.is_eog(token) {
            let _ = slot.job.events.send(Event::Piece(emit));
        }
        let _ = slot.job.events.send(Event::Done {
            reason,
            tokens: slot.sampled,
        });
        false
    }
}
