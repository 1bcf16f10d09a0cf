//! The router on its own, from a TOML file (see `slipway_router::StandaloneConfig`):
//!
//! ```sh
//! cargo run --release -p slipway-router --example router -- router.toml
//! ```
//!
//! Runs until Ctrl-C or SIGTERM, then lets open requests finish. Exit 2 on
//! a bad file or a port in use, with the reason on stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use slipway_router::{Standalone, StandaloneConfig};

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(path), None) = (args.next(), args.next()) else {
        eprintln!("usage: router FILE.toml");
        return ExitCode::from(2);
    };
    let config = match StandaloneConfig::load(&PathBuf::from(path)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // Requests are served on the router's own worker threads (one per
    // core); this runtime runs the admin server and waits for a signal.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async {
        let running = match Standalone::start(&config).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        for (name, addr) in &running.services {
            println!("service {name} on http://{addr}");
        }
        println!(
            "admin on http://{}/metrics and /api/v1/services",
            running.admin.addr()
        );
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: cannot watch SIGTERM: {e}");
                    return ExitCode::from(1);
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        running.stop().await;
        ExitCode::SUCCESS
    })
}
