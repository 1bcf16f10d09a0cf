//! Pushing a generated 100 MB image from the Docker Engine to a local
//! registry (Debian's docker-registry on loopback): slipway's push against
//! `skopeo copy docker-daemon:... docker://...` of the same image in the
//! same run, and `docker push` for reference.
//!
//! The image is `FROM scratch` with one 100 MB layer: half pseudo-random
//! bytes (incompressible, like binaries and compressed assets), half text
//! (log-like lines, which gzip shrinks several times). Every push goes to
//! a registry of its own (fresh storage on a new port) with slipway's layer
//! cache empty, so each client reads the image from the engine, compresses
//! it and uploads every blob; nothing is reused between runs. Runs alternate
//! (slipway, skopeo, docker) so load from elsewhere falls on all three.
//!
//! Run: `cargo bench -p slipway-image --bench push`
//! (`-- --quick`: a 20 MB image, one round).

use std::io::Write;
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use slipway_image::{build, push, BuildOptions, Docker, LocalRegistry, PushOptions, Reference};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The build context: `data/random.bin` and `data/text.log`.
fn context(dir: &std::path::Path, bytes: usize) {
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM scratch\nCOPY data/ /data/\nLABEL bench=push\n",
    )
    .unwrap();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d ^ std::process::id() as u64;
    let mut random =
        std::io::BufWriter::new(std::fs::File::create(dir.join("data/random.bin")).unwrap());
    let mut buf = vec![0u8; 1 << 16];
    let mut left = bytes / 2;
    while left > 0 {
        for b in buf.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        let n = left.min(buf.len());
        random.write_all(&buf[..n]).unwrap();
        left -= n;
    }
    random.flush().unwrap();
    let mut text =
        std::io::BufWriter::new(std::fs::File::create(dir.join("data/text.log")).unwrap());
    let mut written = 0;
    let mut i: u64 = 0;
    while written < bytes / 2 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let line = format!(
            "2026-11-23T10:{:02}:{:02}.{:03}Z INFO svc-portal request id={:016x} path=/v1/merchants/M-{} status={} duration_ms={}\n",
            (i / 60) % 60,
            i % 60,
            i % 1000,
            x,
            x % 5000,
            [200, 200, 200, 404, 500][(x % 5) as usize],
            x % 900
        );
        text.write_all(line.as_bytes()).unwrap();
        written += line.len();
        i += 1;
    }
    text.flush().unwrap();
}

/// A registry of its own for one push.
struct Registry {
    _dir: tempfile::TempDir,
    local: LocalRegistry,
}

impl Registry {
    fn start() -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let addr = ([127, 0, 0, 1], free_port()).into();
        let local = LocalRegistry::new(dir.path(), addr);
        std::fs::create_dir_all(&local.dir).unwrap();
        local
            .up(Duration::from_secs(20))
            .expect("docker-registry starts (scripts/install/images.sh installs it)");
        Registry { _dir: dir, local }
    }

    fn address(&self) -> String {
        self.local.addr.to_string()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.local.down();
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn run(cmd: &mut Command) -> f64 {
    let started = Instant::now();
    let out = cmd.output().expect("the command starts");
    let secs = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    secs
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (mb, rounds) = if quick { (20, 1) } else { (100, 5) };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let docker = Docker::connect().unwrap();

    let ctx = tempfile::tempdir().unwrap();
    context(ctx.path(), mb * 1_000_000);
    let source = format!("slipway-bench/push:{mb}mb-{}", std::process::id());
    let built = rt
        .block_on(build(
            &docker,
            &BuildOptions {
                context: ctx.path().to_path_buf(),
                references: vec![source.clone()],
                ..Default::default()
            },
            |_| {},
        ))
        .expect("the bench image builds");
    drop(ctx);
    let image = rt.block_on(docker.inspect_image(&source)).unwrap().unwrap();
    println!(
        "image {source}: {:.1} MB uncompressed, 1 layer ({})",
        image.size as f64 / 1e6,
        &built.image_id[..19]
    );

    let mut slipway_s = Vec::new();
    let mut skopeo_s = Vec::new();
    let mut docker_s = Vec::new();
    let mut sizes = (0, 0);
    for round in 1..=rounds {
        // slipway
        let reg = Registry::start();
        let cache = tempfile::tempdir().unwrap();
        let target =
            Reference::parse(&format!("{}/bench/slipway:r{round}", reg.address())).unwrap();
        let mut options = PushOptions::new(&source, vec![target]);
        options.cache_dir = Some(cache.path().to_path_buf());
        let started = Instant::now();
        let pushed = rt
            .block_on(push(&docker, &options, |_| {}))
            .expect("slipway pushes");
        let s = started.elapsed().as_secs_f64();
        slipway_s.push(s);
        sizes.0 = pushed.size;
        drop(reg);

        // skopeo copy from the engine
        let reg = Registry::start();
        let s2 = run(Command::new("skopeo").args([
            "copy",
            "--quiet",
            "--insecure-policy",
            "--dest-tls-verify=false",
            &format!("docker-daemon:{source}"),
            &format!("docker://{}/bench/skopeo:r{round}", reg.address()),
        ]));
        skopeo_s.push(s2);
        let raw = Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{}/bench/skopeo:r{round}", reg.address()))
            .output()
            .unwrap();
        let manifest: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap_or_default();
        sizes.1 = manifest["layers"][0]["size"].as_u64().unwrap_or(0)
            + manifest["config"]["size"].as_u64().unwrap_or(0);
        drop(reg);

        // docker push (the engine's own client)
        let reg = Registry::start();
        let tagged = format!("{}/bench/docker:r{round}", reg.address());
        run(Command::new("docker").args(["tag", &source, &tagged]));
        let s3 = run(Command::new("docker").args(["push", "-q", &tagged]));
        docker_s.push(s3);
        let _ = Command::new("docker")
            .args(["image", "rm", &tagged])
            .output();
        drop(reg);

        println!("round {round}: slipway {s:.2} s, skopeo copy {s2:.2} s, docker push {s3:.2} s");
    }
    let (a, b, c) = (median(slipway_s), median(skopeo_s), median(docker_s));
    println!();
    println!("push of a {mb} MB image to a local registry (median of {rounds}):");
    println!(
        "  slipway      {a:6.2} s  {:6.1} MB/s  ({:.1} MB sent)",
        mb as f64 / a,
        sizes.0 as f64 / 1e6
    );
    println!(
        "  skopeo copy  {b:6.2} s  {:6.1} MB/s  ({:.1} MB sent)",
        mb as f64 / b,
        sizes.1 as f64 / 1e6
    );
    println!("  docker push  {c:6.2} s  {:6.1} MB/s", mb as f64 / c);
    println!(
        "  slipway / skopeo: {:.2}x ({})",
        a / b,
        if a <= b {
            "target met: no slower"
        } else {
            "target missed: slower"
        }
    );
    let _ = Command::new("docker")
        .args(["image", "rm", &source])
        .output();
}
