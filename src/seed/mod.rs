//! The sample legacy hospital database: schema and deterministic seed data.
