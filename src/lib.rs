//! emr-imaging: a patient's medical images inside any EMR page.
//!
//! Data flows one way: host page → `api` → [`session`] → [`bridge`] → ([`fhir`] | [`dicomweb`])
//! over [`net`] (+ [`cache`]) → [`imaging`] → `view`. Everything but `view` and `api` is plain
//! Rust with no browser dependency, so it is tested natively (and against real servers) with
//! `cargo test`.

#![forbid(unsafe_code)]

pub mod audit;
pub mod bridge;
pub mod cache;
pub mod context;
pub mod dicomweb;
pub mod fhir;
pub mod imaging;
pub mod launch;
pub mod net;
pub mod session;
mod sorting;
pub mod text;
pub mod upload;
mod wire;

pub mod api;
pub mod view;
