#![no_main]
//! Any text as `slipway.toml`: reading the deploy sections, and everything
//! a read config answers (its clusters, their services, settings and
//! ports), must never panic, whatever the bytes. Every error names the
//! file. The same text as a steps list and as a duration must not panic
//! either.

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use slipway_deploy::config::DeployConfig;
use slipway_deploy::duration;
use slipway_deploy::settings::Step;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match DeployConfig::parse(text, Path::new("/repo"), "slipway.toml") {
        Ok(config) => {
            let _ = config.cluster(None);
            for name in config.clusters.keys() {
                let c = config
                    .cluster(Some(name))
                    .expect("a cluster the config lists");
                let _ = config.services_of(c, None);
                let _ = config.settings(c);
                for s in config.services.values() {
                    let _ = c.port(s);
                }
            }
        }
        Err(e) => {
            let shown = e.to_string();
            assert!(shown.starts_with("slipway.toml"), "{shown}");
            if let Some((line, col)) = e.at {
                let lines = text.matches('\n').count() + 1;
                assert!(line >= 1 && line <= lines && col >= 1, "{shown}");
            }
        }
    }
    if let Ok(steps) = Step::parse_list(text) {
        let _ = Step::list_to_string(&steps);
    }
    if let Ok(d) = duration::parse(text) {
        let _ = duration::format(d);
    }
});
