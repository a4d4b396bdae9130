//! Authorization: the server as a SMART on FHIR resource server.
//!
//! - [`settings`]: the `--auth` options, checked.
//! - [`token`]: bearer token → [`Access`] (JWT access tokens verified against a JWKS
//!   ([`jwks`]) or a development HS256 secret; opaque tokens through RFC 7662 introspection
//!   ([`introspect`])).
//! - [`scopes`]: SMART v1 and v2 scope strings (pure).
//! - [`policy`]: what an [`Access`] may do: the 403 decision for the interaction asked, and
//!   the [`crate::plan::Scope`] the planner writes into every statement of the request (so what
//!   a token may not see never leaves the database).
//! - [`discovery`]: `/.well-known/smart-configuration` and `CapabilityStatement.rest.security`.
//!
//! Sits beside [`crate::http`], which authenticates each request with it; imports only
//! layers below (plan, request, mapping).

pub mod discovery;
pub mod introspect;
pub mod jwks;
pub mod policy;
pub mod scopes;
pub mod settings;
pub mod token;

pub use policy::{Denied, Interaction};
pub use scopes::SmartScope;
pub use settings::{AuthMode, AuthSettings};
pub use token::{Access, AuthError, Authenticator};
