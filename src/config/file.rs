//! The configuration file (`--config FILE`, TOML): its `[server]` table sets any option of
//! `serve`, named as the flag (`max-connections` or `max_connections`). Sub-tables are only for
//! grouping (`[server.database]`, `[server.auth]`...): their keys are options too. A value
//! that is set by a flag or an environment variable is not taken from the file.
//!
//! ```toml
//! [server]
//! listen = "0.0.0.0:8080"
//! base-url = "https://fhir.example.org/r4"
//! log-format = "json"
//!
//! [server.database]
//! database-url = "postgres://facade@db.internal/hospital"
//! replica-url = ["postgres://facade@replica1.internal/hospital"]
//! max-connections = 20
//! ```
//!
//! [`dump`] writes the effective configuration back as such a file, secrets redacted.

use std::ffi::OsString;

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, CommandFactory, FromArgMatches};

use super::Cli;

/// The file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// The command line is wrong (clap's message, with usage).
    #[error(transparent)]
    Args(#[from] clap::Error),
    /// The file cannot be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not TOML, or holds something that is not an option.
    #[error("configuration file {path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// The command line `args` (program name first) with the configuration file's values for the
/// options that neither a flag nor the environment set, parsed; with its matches (for
/// [`dump`]).
pub fn parse(args: Vec<OsString>) -> Result<(Cli, ArgMatches), ConfigFileError> {
    let matches = Cli::command().try_get_matches_from(&args)?;
    let (serve, in_subcommand) = match matches.subcommand() {
        Some(("serve", m)) => (m, true),
        Some(_) => return Ok((Cli::from_arg_matches(&matches)?, matches)),
        None => (&matches, false),
    };
    let Some(path) = serve.get_one::<String>("config").cloned() else {
        return Ok((Cli::from_arg_matches(&matches)?, matches));
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigFileError::Read {
        path: path.clone(),
        source,
    })?;
    let from_file = options(&text).map_err(|message| ConfigFileError::Invalid {
        path: path.clone(),
        message,
    })?;
    let command = serve_command(in_subcommand);
    let mut injected: Vec<OsString> = Vec::new();
    for (key, value) in from_file {
        let wanted = key.replace('_', "-");
        let Some(arg) = command.get_arguments().find(|a| {
            a.get_long() == Some(wanted.as_str()) || a.get_id().as_str().replace('_', "-") == wanted
        }) else {
            return Err(ConfigFileError::Invalid {
                path,
                message: format!("'{key}' is not an option of serve (see fhir-facade --help)"),
            });
        };
        let id = arg.get_id().as_str();
        if matches!(
            serve.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) || id == "config"
        {
            continue;
        }
        let flag = format!("--{}", arg.get_long().unwrap_or(id));
        let bad = |what: &str| ConfigFileError::Invalid {
            path: path.clone(),
            message: format!("'{key}' {what}"),
        };
        match (arg.get_action(), value) {
            (ArgAction::SetTrue, toml::Value::Boolean(b)) => {
                if b {
                    injected.push(flag.into());
                }
            }
            (ArgAction::SetTrue, _) => return Err(bad("must be true or false")),
            (ArgAction::Append, toml::Value::Array(items)) => {
                for item in items {
                    injected.push(
                        format!(
                            "{flag}={}",
                            scalar(&item).ok_or_else(|| bad("must list plain values"))?
                        )
                        .into(),
                    );
                }
            }
            (_, v) => {
                let v = scalar(&v).ok_or_else(|| bad("must be a plain value"))?;
                injected.push(format!("{flag}={v}").into());
            }
        }
    }
    // The file's options go right after the program name (or `serve`): flags that follow are
    // the user's, and none of them is set twice.
    let at = if in_subcommand {
        args.iter().position(|a| a == "serve").map_or(1, |i| i + 1)
    } else {
        1
    };
    let mut merged = args;
    merged.splice(at..at, injected);
    let matches = Cli::command().try_get_matches_from(&merged)?;
    Ok((Cli::from_arg_matches(&matches)?, matches))
}

/// The options of `serve`, as clap describes them.
fn serve_command(in_subcommand: bool) -> clap::Command {
    let cli = Cli::command();
    if in_subcommand {
        cli.find_subcommand("serve")
            .cloned()
            .expect("serve is a subcommand")
    } else {
        cli
    }
}

/// The `[server]` table's options, sub-tables flattened, in file order.
fn options(text: &str) -> Result<Vec<(String, toml::Value)>, String> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (key, value) in doc {
        match (key.as_str(), value) {
            ("server", toml::Value::Table(t)) => flatten(t, &mut out),
            (other, _) => {
                return Err(format!(
                    "unknown table or key '{other}': options go in a [server] table"
                ));
            }
        }
    }
    Ok(out)
}

fn flatten(table: toml::Table, out: &mut Vec<(String, toml::Value)>) {
    for (key, value) in table {
        match value {
            toml::Value::Table(t) => flatten(t, out),
            v => out.push((key, v)),
        }
    }
}

/// A plain TOML value as a flag's text.
fn scalar(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(n) => Some(n.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The effective options of `serve` in `matches`, as a configuration file: secrets (the
/// options whose environment values clap hides) shown as `"***"`, passwords in database URLs
/// redacted.
pub fn dump(matches: &ArgMatches) -> String {
    let (serve, in_subcommand) = match matches.subcommand() {
        Some(("serve", m)) => (m, true),
        _ => (matches, false),
    };
    let mut table = toml::Table::new();
    for arg in serve_command(in_subcommand).get_arguments() {
        let id = arg.get_id().as_str();
        if matches!(id, "config" | "print_config" | "help" | "version") {
            continue;
        }
        let Some(values) = serve.get_raw(id) else {
            continue;
        };
        let secret = arg.is_hide_env_values_set();
        let texts: Vec<toml::Value> = values
            .map(|v| {
                let v = v.to_string_lossy();
                let shown = if secret {
                    "***".to_string()
                } else if id.contains("url") || id.contains("endpoint") {
                    crate::db::redact(&v)
                } else {
                    v.into_owned()
                };
                // Numbers as numbers (they read back the same either way).
                if let Ok(n) = shown.parse::<i64>() {
                    toml::Value::Integer(n)
                } else if let Some(f) = shown.parse::<f64>().ok().filter(|f| f.is_finite()) {
                    toml::Value::Float(f)
                } else {
                    toml::Value::String(shown)
                }
            })
            .collect();
        let key = arg.get_long().unwrap_or(id).to_string();
        let value = match arg.get_action() {
            ArgAction::Append => toml::Value::Array(texts),
            ArgAction::SetTrue => toml::Value::Boolean(serve.get_flag(id)),
            _ => match texts.into_iter().next() {
                Some(v) => v,
                None => continue,
            },
        };
        table.insert(key, value);
    }
    let mut doc = toml::Table::new();
    doc.insert("server".into(), toml::Value::Table(table));
    toml::to_string(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_file(text: &str, args: &[&str]) -> Result<(Cli, ArgMatches), ConfigFileError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("facade.toml");
        std::fs::write(&path, text).unwrap();
        let mut argv: Vec<OsString> = vec!["fhir-facade".into()];
        argv.extend(args.iter().map(OsString::from));
        argv.push("--config".into());
        argv.push(path.into());
        parse(argv)
    }

    const FILE: &str = r#"
[server]
listen = "0.0.0.0:9000"
log_format = "json"
expose-sql-count = true

[server.database]
database-url = "postgres://facade:hunter2@db/h"
replica_urls = ["postgres://facade:hunter2@r1/h", "postgres://facade:hunter2@r2/h"]
max-connections = 20
statement-timeout = 2.5

[server.paging]
cursor-secret = "shared-secret"
"#;

    #[test]
    fn the_file_sets_options_that_flags_override() {
        let (cli, matches) = with_file(FILE, &["--max-connections", "7"]).unwrap();
        let s = &cli.serve;
        assert_eq!(s.listen, "0.0.0.0:9000");
        assert_eq!(s.log_format, crate::telemetry::LogFormat::Json);
        assert!(s.expose_sql_count);
        assert_eq!(s.replica_urls.len(), 2);
        assert_eq!(s.statement_timeout, 2.5);
        assert_eq!(s.max_connections, 7, "the flag wins");
        // Also after `serve`.
        let (cli, _) = with_file(FILE, &["serve", "--listen", "127.0.0.1:1"]).unwrap();
        let Some(super::super::Command::Serve(s)) = cli.command else {
            panic!("serve")
        };
        assert_eq!((s.listen.as_str(), s.max_connections), ("127.0.0.1:1", 20));

        let dump = dump(&matches);
        assert!(
            !dump.contains("hunter2") && !dump.contains("shared-secret"),
            "{dump}"
        );
        assert!(dump.contains(r#"cursor-secret = "***""#), "{dump}");
        assert!(dump.contains("postgres://facade:***@r2/h"), "{dump}");
        assert!(dump.contains("max-connections = 7\n"), "{dump}");
    }

    #[test]
    fn unknown_options_are_refused() {
        let e = with_file("[server]\nmax-conections = 3\n", &[]).unwrap_err();
        assert!(
            e.to_string().contains("'max-conections' is not an option"),
            "{e}"
        );
        let e = with_file("listen = 3\n", &[]).unwrap_err();
        assert!(e.to_string().contains("[server]"), "{e}");
        let e = with_file("[server]\nexpose-sql-count = 3\n", &[]).unwrap_err();
        assert!(e.to_string().contains("true or false"), "{e}");
    }
}
