//! The router end to end: real upstream servers and real client load on
//! loopback, one test binary.

mod admin;
mod draining;
mod errors;
mod http2;
mod routing;
mod stats;
mod support;
