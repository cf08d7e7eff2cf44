//! What every example's `main` does before serving, in one place.

/// Starts logging (filter from `RUST_LOG`, else `default_filter`) and returns the port to
/// serve on: `PORT` from the environment, else `default_port`.
pub(crate) fn setup(default_filter: &str, default_port: u16) -> u16 {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .init();
    std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(default_port)
}

/// permessage-deflate on when `DEFLATE=1` (as for Bun's reference server).
#[allow(dead_code)]
pub(crate) fn deflate_from_env() -> bool {
    std::env::var("DEFLATE").is_ok_and(|v| v == "1")
}
