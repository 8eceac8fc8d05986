//! Built-in algorithms from the research ragweave builds on.

pub mod adaptive;
pub mod adaptive_fit;
pub mod fusion;
pub mod kmeans;
pub mod metrics;
pub mod pilot_fit;
pub mod pilot_router;
pub mod reorder;
pub mod rrf;
pub mod think;
pub mod window_memory;
