//! The sample database the server runs on by default, created on first run.

use std::path::Path;

use anyhow::Context;

/// Creates the sample SQLite database at `url` (schema and data) when its file does not exist
/// yet; other URLs are left alone.
pub async fn ensure_sample(url: &str) -> anyhow::Result<()> {
    let Some(path) = url.strip_prefix("sqlite:") else {
        return Ok(());
    };
    let path = path.trim_start_matches("//");
    let path = path.split('?').next().unwrap_or(path);
    if Path::new(path).exists() {
        return Ok(());
    }
    if let Some(dir) = Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    tracing::info!(path, "creating the sample database");
    let opts = crate::seed::SeedOptions::default();
    crate::seed::seed_database(url, &opts)
        .await
        .context("cannot create the sample database")?;
    Ok(())
}
