//! The sample legacy hospital database: schema and deterministic seed data.
//! (Placeholder until the seed branch is merged.)

/// Options of the generator.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Number of patients.
    pub patients: u32,
    /// Random seed.
    pub seed: u64,
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions {
            patients: 300,
            seed: 2024,
        }
    }
}

/// Seeding failed.
#[derive(Debug, thiserror::Error)]
#[error("seed failed")]
pub struct SeedError;

/// Creates the sample database.
pub async fn seed_database(_url: &str, _opts: &SeedOptions) -> Result<String, SeedError> {
    Err(SeedError)
}
