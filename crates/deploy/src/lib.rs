//! slipway's deploy controller: rolling and blue-green strategies with
//! traffic steps, live analysis and automatic rollback, and the local
//! cluster they deploy to (supervised processes or containers behind
//! slipway's router, run by a daemon that survives its own restart).

pub mod analysis;
pub mod client;
pub mod config;
pub mod controller;
pub mod daemon;
pub mod duration;
pub mod local;
pub mod memory_store;
pub mod ports;
pub mod protocol;
pub mod render;
pub mod settings;
