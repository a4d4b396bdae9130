//! Start-up: connect, load and check the mapping against FHIR and the live database, bind
//! the listener and build the server. Testable: port 0 picks a free port.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware, web};
use anyhow::Context;

use crate::assemble::capability::{ServerInfo, capability_statement};
use crate::config::Settings;
use crate::db::{Database, QueryCounter};
use crate::http::{self, AppState};
use crate::mapping::schema_check::{DbColumn, SchemaInfo, apply_schema, relation_key, relations};
use crate::mapping::{Mapping, MappingError, MappingLoadError, Relation};
use crate::plan::read::probes;
use crate::sql::Dialect;

/// A built, not yet running, server.
pub struct Application {
    port: u16,
    base_url: String,
    server: Server,
}

impl Application {
    /// Connects to the database, checks the mapping and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        if settings.create_sample {
            ensure_sample(&settings.db.url).await?;
        }
        let db = Database::connect(&settings.db).await.with_context(|| {
            format!(
                "cannot open the database {}",
                crate::db::redact(&settings.db.url)
            )
        })?;
        let accents = db.probe_accents().await;
        let db = db.with_accents(accents);
        let mapping_text = std::fs::read(&settings.mapping_path).unwrap_or_default();
        let mut mapping = crate::mapping::load(&settings.mapping_path, db.dialect())?;
        check_against_database(&settings.mapping_path, &mut mapping, &db).await?;

        let listener = TcpListener::bind(&settings.listen)
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let addr = listener.local_addr()?;
        let port = addr.port();
        let base_url = settings
            .base_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}/fhir"));
        let info = ServerInfo {
            base_url: base_url.clone(),
            started: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            max_chain_depth: settings.max_chain_depth,
        };
        let secret = match &settings.cursor_secret {
            Some(s) => s.as_bytes().to_vec(),
            None => {
                use sha2::Digest;
                sha2::Sha256::digest(&mapping_text).to_vec()
            }
        };
        let state = web::Data::new(AppState {
            capability: capability_statement(&mapping, &info),
            mapping: Arc::new(mapping),
            db,
            expose_query_count: settings.expose_sql_count,
            base_url: base_url.clone(),
            cursors: crate::request::cursor::CursorCodec::new(&secret),
            max_count: settings.max_count,
            max_chain_depth: settings.max_chain_depth,
            max_includes: settings.max_includes,
        });
        let server =
            HttpServer::new(move || {
                App::new()
                    .wrap(middleware::from_fn(http::logging::log_requests))
                    .app_data(state.clone())
                    .app_data(web::PathConfig::default().error_handler(|e, _| {
                        http::error::ApiError::NotFound(e.to_string()).into()
                    }))
                    .configure(http::configure)
            })
            .listen(listener)?
            .run();
        Ok(Application {
            port,
            base_url,
            server,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The FHIR base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Serves until the process is stopped.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Creates the sample SQLite database (schema and data) when its file does not exist yet.
async fn ensure_sample(url: &str) -> anyhow::Result<()> {
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

fn select_all(r: &Relation) -> String {
    match r {
        Relation::Table(t) => format!("SELECT * FROM {t}"),
        Relation::Query(q) => format!("SELECT * FROM ({q}) probe"),
    }
}

/// How a table name from the mapping is written in SQL: quoted as written when that works
/// (keeps case, survives keywords), else as written (unquoted names folded by the database,
/// e.g. PostgreSQL's lower case, or names the user quoted themselves).
async fn resolve_table(db: &Database, table: &str) -> (String, Result<Vec<DbColumn>, String>) {
    let plain = table
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if plain {
        let quoted = table
            .split('.')
            .map(|part| db.dialect().quote_ident(part))
            .collect::<Vec<_>>()
            .join(".");
        if let Ok(cols) = db.describe_table(&quoted).await {
            return (quoted, Ok(cols));
        }
    }
    let described = db.describe_table(table).await.map_err(|e| e.to_string());
    (table.to_string(), described)
}

fn rename_tables(mapping: &mut Mapping, renamed: &HashMap<String, String>) {
    let rename = |r: &mut Relation| {
        if let Relation::Table(t) = r
            && let Some(new) = renamed.get(t.as_str())
        {
            *t = new.clone();
        }
    };
    for s in &mut mapping.sources {
        rename(&mut s.relation);
        for j in &mut s.joins {
            if let Some(new) = renamed.get(&j.table) {
                j.table = new.clone();
            }
        }
        for c in &mut s.children {
            rename(&mut c.relation);
        }
    }
}

/// Checks every table, column and SQL fragment of the mapping against the database, and
/// replaces column names by their real spelling.
pub async fn check_against_database(
    path: &str,
    mapping: &mut Mapping,
    db: &Database,
) -> Result<(), MappingLoadError> {
    let invalid = |errors: Vec<MappingError>| MappingLoadError::Invalid {
        path: path.to_string(),
        errors,
    };
    let mut schema = SchemaInfo::new();
    let mut renamed = HashMap::new();
    for r in relations(mapping) {
        match &r {
            Relation::Table(t) => {
                let (text, described) = resolve_table(db, t).await;
                schema.insert(relation_key(&Relation::Table(text.clone())), described);
                renamed.insert(t.clone(), text);
            }
            Relation::Query(_) => {
                let described = db
                    .describe(&select_all(&r))
                    .await
                    .map_err(|e| e.to_string());
                schema.insert(relation_key(&r), described);
            }
        }
    }
    rename_tables(mapping, &renamed);
    apply_schema(mapping, &schema).map_err(invalid)?;
    let counter = QueryCounter::default();
    let mut errors = Vec::new();
    for source in &mut mapping.sources {
        // The type of each selected value: a multi-source search types its NULL slots with it.
        if let Some((_, stmt)) = probes(source, db.dialect()).first()
            && let Ok(cols) = db.describe(&stmt.sql).await
        {
            source.column_types = cols.into_iter().map(|c| c.type_name).collect();
        }
    }
    for source in &mapping.sources {
        for (entry, stmt) in probes(source, db.dialect()) {
            if let Err(e) = db.fetch(&stmt, &counter).await {
                errors.push(
                    MappingError::new(source.line, entry, format!("the generated SQL fails: {e}"))
                        .hint("check `filter`, `expr`, `join` and `order_by` SQL against your database"),
                );
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(invalid(errors))
    }
}

/// The dialect of a URL, for callers that have not connected yet.
pub fn dialect_of(url: &str) -> Option<Dialect> {
    Dialect::from_url(url)
}
