//! Loads the pipeline and serves it until Ctrl-C or SIGTERM.

use std::path::PathBuf;
use std::sync::Arc;

use {{crate_name}}::{AppState, app, load};

struct Args {
    config: PathBuf,
    bind: String,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        config: PathBuf::from("pipeline.toml"),
        bind: "127.0.0.1:3000".into(),
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let value = given.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--config" => args.config = value.into(),
            "--bind" => args.bind = value,
            other => {
                return Err(format!(
                    "unknown flag {other}; use --config FILE --bind ADDR"
                ));
            }
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    let pipeline = load(&args.config).await?;
    let token = std::env::var("API_TOKEN").ok().filter(|t| !t.is_empty());
    if token.is_none() {
        eprintln!("warning: API_TOKEN is not set; serving without auth");
    }
    let state = AppState {
        pipeline,
        token: token.map(Arc::from),
    };
    let listener = tokio::net::TcpListener::bind(&args.bind).await?;
    eprintln!(
        "serving {} on http://{}",
        args.config.display(),
        listener.local_addr()?
    );
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            term.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
