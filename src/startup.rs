//! Start-up wires the server: connect, load the mapping and check it against FHIR and the live
//! database, build the FHIR service and bind the listener. Testable: port 0 picks a free port.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::{App, HttpServer, middleware, web};
use anyhow::Context;

use crate::config::Settings;
use crate::db::Database;
use crate::http::{self, HttpState};
use crate::mapping::live::check_against_database;
use crate::request::cursor::CursorCodec;
use crate::service::{Fhir, Limits};
use crate::sql::Caps;

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
            crate::seed::ensure_sample(&settings.db.url).await?;
        }
        let db = Database::connect(&settings.db).await.with_context(|| {
            format!(
                "cannot open the database {}",
                crate::db::redact(&settings.db.url)
            )
        })?;
        let caps = Caps {
            dialect: db.dialect(),
            accents: db.probe_accents().await,
        };
        let mut mapping = crate::mapping::load(&settings.mapping_path, db.dialect())?;
        check_against_database(&settings.mapping_path, &mut mapping, &db).await?;
        for u in crate::request::compartment::unreachable_types(&mapping) {
            tracing::warn!("{}: {}", settings.mapping_path, u.advice());
        }

        let listener = TcpListener::bind(&settings.listen)
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let addr = listener.local_addr()?;
        let port = addr.port();
        let base_url = settings
            .base_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}/fhir"));
        let secret = match &settings.cursor_secret {
            Some(s) => s.as_bytes().to_vec(),
            None => {
                tracing::warn!(
                    "no --cursor-secret: paging cursors are signed with a random secret made now, \
                     so they do not outlive this process, and instances behind one load balancer \
                     must be given one shared secret"
                );
                rand::random::<[u8; 32]>().to_vec()
            }
        };
        let limits = Limits {
            max_count: settings.max_count,
            max_chain_depth: settings.max_chain_depth,
            max_includes: settings.max_includes,
            request: settings.limits,
            handling: settings.handling,
        };
        let fhir = Fhir::new(
            Arc::new(mapping),
            db,
            caps,
            base_url.clone(),
            CursorCodec::new(&secret),
            limits,
        );
        let state = web::Data::new(HttpState {
            fhir,
            expose_query_count: settings.expose_sql_count,
            body_timeout: settings.http.body_timeout,
        });
        let cache_control = settings.http.cache_control.clone();
        let server =
            HttpServer::new(move || {
                let mut headers = middleware::DefaultHeaders::new()
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
                if let Some(v) = &cache_control {
                    headers = headers.add((header::CACHE_CONTROL, v.as_str()));
                }
                App::new()
                    // `Patient/1/` is `Patient/1`: clients that join paths with a slash work.
                    .wrap(middleware::NormalizePath::trim())
                    .wrap(middleware::from_fn(http::admit::admit))
                    .wrap(headers)
                    .wrap(middleware::from_fn(http::logging::log_requests))
                    .app_data(state.clone())
                    .app_data(web::PathConfig::default().error_handler(|e, _| {
                        http::error::ApiError::NotFound(e.to_string()).into()
                    }))
                    .configure(http::configure)
            })
            // A client that closes its connection ends its request (and stops its statements).
            .h1_allow_half_closed(false)
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
