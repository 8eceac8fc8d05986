//! The plugin's boundary: a panic inside mistral.rs becomes an error instead of unwinding
//! through the caller (mistral.rs reaches `unwrap`, `expect` and `unimplemented!` on some bad
//! inputs).

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;

use crate::error::MistralRsError;

/// Runs `work`, turning a panic into [`MistralRsError::Panicked`].
pub(crate) async fn guard<T>(
    during: &'static str,
    work: impl Future<Output = Result<T, MistralRsError>>,
) -> Result<T, MistralRsError> {
    // Unwind safety: after a panic nothing of `work` is used again; the caller gets an error.
    match AssertUnwindSafe(work).catch_unwind().await {
        Ok(result) => result,
        Err(payload) => Err(MistralRsError::Panicked {
            during,
            message: message(payload.as_ref()),
        }),
    }
}

fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_an_error_with_its_message() {
        let r: Result<(), _> = guard("testing", async { panic!("boom {}", 7) }).await;
        let e = r.unwrap_err().to_string();
        assert!(e.contains("while testing: boom 7"), "{e}");
        let ok = guard("testing", async { Ok::<_, MistralRsError>(3) }).await;
        assert_eq!(ok.unwrap(), 3);
    }
}
