//! Start-up wires the server: connect, load the mapping and check it against FHIR and the live
//! database, build the FHIR service and bind the listener. Testable: port 0 picks a free port.

use std::net::TcpListener;
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::{App, HttpServer, middleware, web};
use anyhow::Context;

use crate::auth::{AuthSettings, Authenticator};
use crate::config::Settings;
use crate::db::Database;
use crate::export::Exporter;
use crate::http::{self, HttpState};
use crate::request::cursor::CursorCodec;
use crate::service::{Fhir, Limits};
use crate::sql::Caps;

/// A built, not yet running, server.
pub struct Application {
    port: u16,
    base_url: String,
    server: Server,
    /// The admin server and its port, when `--admin-listen` is set.
    admin: Option<(Server, u16)>,
    db: Database,
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
        let mapping = crate::check::load_checked(&settings.mapping_path, &db, &caps).await?;
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
        let limits = limits(&settings);
        let auth = authorization(&settings.auth, &mapping, addr, &base_url).await?;
        let mut fhir = Fhir::new(
            Arc::new(mapping),
            db,
            caps,
            base_url.clone(),
            CursorCodec::new(&secret),
            limits,
        );
        if let Some(security) = crate::auth::discovery::rest_security(&settings.auth) {
            fhir = fhir.with_security(security);
        }
        if settings.export.is_some() {
            fhir = fhir.with_export();
        }
        let fhir = Arc::new(fhir);
        let export =
            match &settings.export {
                None => None,
                Some(e) => Some(Exporter::open(fhir.clone(), e.clone()).await.with_context(
                    || match &e.s3 {
                        Some(at) => format!(
                            "cannot open the export bucket s3://{}/{}",
                            at.bucket, at.prefix
                        ),
                        None => format!("cannot open the export directory {}", e.dir.display()),
                    },
                )?),
            };
        let db = fhir.database().clone();
        let base_path = http::base_path(&base_url);
        let state = web::Data::new(HttpState {
            fhir,
            export,
            expose_query_count: settings.expose_sql_count,
            body_timeout: settings.http.body_timeout,
            auth,
            base_path: base_path.clone(),
            ready_timeout: settings.db.connect_timeout,
        });
        let admin = match &settings.ops.admin_listen {
            Some(listen) => Some(admin_server(
                listen,
                &addr,
                state.clone(),
                &settings.mapping_path,
            )?),
            None => None,
        };
        let cache_control = settings.http.cache_control.clone();
        let origins = settings.auth.cors_origins.clone();
        let server =
            HttpServer::new(move || {
                let mut headers = middleware::DefaultHeaders::new()
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
                if let Some(v) = &cache_control {
                    headers = headers.add((header::CACHE_CONTROL, v.as_str()));
                }
                App::new()
                    .wrap(middleware::from_fn(http::error::in_requested_format))
                    .wrap(middleware::from_fn(http::auth::authenticate))
                    // `Patient/1/` is `Patient/1`: clients that join paths with a slash work.
                    .wrap(middleware::NormalizePath::trim())
                    .wrap(middleware::from_fn(http::admit::admit))
                    .wrap(headers)
                    .wrap(middleware::Condition::new(
                        !origins.is_empty(),
                        cors(&origins),
                    ))
                    .wrap(middleware::from_fn(http::logging::log_requests))
                    .app_data(state.clone())
                    .app_data(web::PathConfig::default().error_handler(|e, _| {
                        http::error::ApiError::NotFound(e.to_string()).into()
                    }))
                    .configure(http::configure(&base_path))
            })
            // A client that closes its connection ends its request (and stops its statements).
            .h1_allow_half_closed(false)
            // On SIGTERM or SIGINT: stop accepting, let in-flight requests finish this long.
            .shutdown_timeout(settings.ops.shutdown_timeout.as_secs())
            .listen(listener)?
            .run();
        Ok(Application {
            port,
            base_url,
            server,
            admin,
            db,
        })
    }

    /// The port of the admin listener, when there is one.
    pub fn admin_port(&self) -> Option<u16> {
        self.admin.as_ref().map(|(_, port)| *port)
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The FHIR base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Serves until the process is stopped (SIGTERM or SIGINT): then new connections are
    /// refused, in-flight requests finish (within the shutdown timeout), the admin listener
    /// stops and the database pools are closed.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        crate::memory::spawn_trimmer();
        let admin = self.admin.map(|(server, _)| {
            let handle = server.handle();
            tokio::spawn(server);
            handle
        });
        let served = self.server.await;
        tracing::info!("requests finished; stopping");
        if let Some(admin) = admin {
            admin.stop(true).await;
        }
        self.db.close().await;
        tracing::info!("database connections closed; stopped");
        served
    }
}

/// The admin server on `listen` (metrics, console), refused on the public address.
fn admin_server(
    listen: &str,
    public: &std::net::SocketAddr,
    state: web::Data<HttpState>,
    mapping_path: &str,
) -> anyhow::Result<(Server, u16)> {
    let listener =
        TcpListener::bind(listen).with_context(|| format!("cannot listen on {listen} (admin)"))?;
    let addr = listener.local_addr()?;
    if addr == *public {
        anyhow::bail!("--admin-listen must not be the public address {public}");
    }
    if !addr.ip().is_loopback() {
        tracing::warn!(
            %addr,
            "the admin listener (metrics, console running queries without authorization) is reachable from other machines: keep it on a private network"
        );
    }
    let metrics = crate::telemetry::metrics::install();
    let server = crate::admin::server(
        listener,
        crate::admin::AdminState {
            http: state,
            metrics,
            mapping_path: mapping_path.to_string(),
        },
    )?;
    tracing::info!(%addr, "admin listener: metrics at /metrics, console at /");
    Ok((server, addr.port()))
}

/// The token checker in SMART mode; in `none` mode, a loud warning when the server is reachable
/// from other machines.
async fn authorization(
    settings: &AuthSettings,
    mapping: &crate::mapping::Mapping,
    addr: std::net::SocketAddr,
    base_url: &str,
) -> anyhow::Result<Option<Arc<Authenticator>>> {
    settings.check().map_err(anyhow::Error::msg)?;
    if !settings.is_smart() {
        if !addr.ip().is_loopback() {
            tracing::warn!(
                "\n!!! --auth none while listening on {addr}: ANY client that can reach this port reads ALL the data, without authorization.\n!!! Use --auth smart (see README.md) unless this network is trusted."
            );
        }
        return Ok(None);
    }
    let unreachable: Vec<&str> = mapping
        .resource_types()
        .filter(|t| {
            *t != "Patient" && crate::request::compartment::patient_params(mapping, t).is_empty()
        })
        .collect();
    if !unreachable.is_empty() {
        tracing::info!(
            types = unreachable.join(", "),
            "not in the Patient compartment: served to user and system scopes only, never to patient scopes"
        );
    }
    let authenticator = Authenticator::new(settings, base_url)
        .await
        .context("cannot set up authorization")?;
    Ok(Some(authenticator))
}

/// CORS for the allowed `origins` (`*`: any): the methods and headers a FHIR app uses, the
/// response headers it reads.
fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::ACCEPT,
            header::CONTENT_TYPE,
            header::IF_NONE_MATCH,
            header::IF_MODIFIED_SINCE,
            header::HeaderName::from_static("prefer"),
        ])
        .expose_headers([
            header::ETAG,
            header::LAST_MODIFIED,
            header::LOCATION,
            header::WWW_AUTHENTICATE,
            header::CONTENT_LOCATION,
            header::RETRY_AFTER,
            header::HeaderName::from_static("x-progress"),
        ])
        .max_age(3600);
    for o in origins {
        cors = if o == "*" {
            cors.allow_any_origin()
        } else {
            cors.allowed_origin(o)
        };
    }
    cors
}

/// The limits on what one request may ask, as `settings` give them.
pub fn limits(settings: &Settings) -> Limits {
    Limits {
        max_count: settings.max_count,
        max_chain_depth: settings.max_chain_depth,
        max_includes: settings.max_includes,
        request: settings.limits,
        handling: settings.handling,
    }
}
