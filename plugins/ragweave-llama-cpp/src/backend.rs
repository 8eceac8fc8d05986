//! The process-wide llama.cpp backend, and its log routed to `tracing`.
//!
//! llama.cpp explains a failed load only in its log (a null model comes back), so the log
//! callback also keeps the last error lines of the calling thread for the typed error.

use std::cell::RefCell;
use std::ffi::{CStr, c_char, c_void};
use std::sync::OnceLock;

use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_sys_2 as sys;

thread_local! {
    static RECENT_ERRORS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// The backend, initialised on first use (llama.cpp allows one per process).
pub(crate) fn backend() -> &'static LlamaBackend {
    static BACKEND: OnceLock<LlamaBackend> = OnceLock::new();
    BACKEND.get_or_init(|| {
        // SAFETY: the callback is a plain function that lives for the whole process.
        unsafe { sys::llama_log_set(Some(log_line), std::ptr::null_mut()) };
        LlamaBackend::init().expect("the llama.cpp backend is initialised only here")
    })
}

/// Runs `f` and returns what it returned with the error lines llama.cpp logged meanwhile
/// on this thread.
pub(crate) fn with_logged_errors<T>(f: impl FnOnce() -> T) -> (T, Vec<String>) {
    RECENT_ERRORS.with(|r| r.borrow_mut().clear());
    let out = f();
    let lines = RECENT_ERRORS.with(|r| std::mem::take(&mut *r.borrow_mut()));
    (out, lines)
}

extern "C" fn log_line(level: sys::ggml_log_level, text: *const c_char, _: *mut c_void) {
    if text.is_null() {
        return;
    }
    // SAFETY: llama.cpp passes a NUL-terminated string valid for this call.
    let text = unsafe { CStr::from_ptr(text) }.to_string_lossy();
    let line = text.trim_end();
    if line.is_empty() {
        return;
    }
    match level {
        sys::GGML_LOG_LEVEL_ERROR => {
            tracing::debug!(target: "llama.cpp", "{line}");
            RECENT_ERRORS.with(|r| {
                let mut r = r.borrow_mut();
                if r.len() < 16 {
                    r.push(line.to_string());
                }
            });
        }
        sys::GGML_LOG_LEVEL_WARN => tracing::debug!(target: "llama.cpp", "{line}"),
        _ => tracing::trace!(target: "llama.cpp", "{line}"),
    }
}
