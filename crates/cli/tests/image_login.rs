//! The registry login built-ins in a real run: `amazon-ecr-login` readies
//! the local registry by default (the spec's `docker build`/`docker push`
//! steps then push to it), and logs in to ECR through GetAuthorizationToken
//! against moto's server (a local AWS) when slipway.toml says ECR.

mod image_support;
mod support;

use std::path::Path;

use image_support::{free_port, skopeo_inspect, unique_repo, ImageCleanup};
use support::{git, job, run_json, Slipway};

/// A repository with a workflow, a slipway.toml and a tiny Dockerfile.
fn repository(workflow: &str, slipway_toml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join(".github/workflows")).unwrap();
    std::fs::write(d.join(".github/workflows/ci.yml"), workflow).unwrap();
    std::fs::write(d.join("slipway.toml"), slipway_toml).unwrap();
    std::fs::create_dir_all(d.join("app")).unwrap();
    std::fs::write(
        d.join("app/Dockerfile"),
        "FROM scratch\nCOPY hello.txt /hello.txt\n",
    )
    .unwrap();
    std::fs::write(d.join("app/hello.txt"), format!("{d:?}\n")).unwrap();
    std::fs::write(d.join(".gitignore"), ".slipway/\n").unwrap();
    git(d, &["init", "-q"]);
    git(d, &["add", "-A"]);
    git(d, &["commit", "-qm", "init"]);
    dir
}

/// `slipway registry down` for the repository when the test ends.
struct Down<'a>(&'a Path);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        Slipway::new()
            .args(["registry", "down", "-C"])
            .args([self.0])
            .run();
    }
}

#[test]
fn the_local_registry_by_default_and_the_specs_docker_steps_push_to_it() {
    let port = free_port();
    let repo = unique_repo("login");
    let workflow = format!(
        r#"name: images
on: push
env:
  ECR_REGISTRY: 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com
jobs:
  build-and-push:
    runs-on: ubuntu-latest
    outputs:
      registry: ${{{{ steps.login-ecr.outputs.registry }}}}
    steps:
      - uses: actions/checkout@v4
      - name: Configure AWS credentials
        uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: arn:aws:iam::123456789012:role/GithubActionsRole
          aws-region: ap-northeast-1
      - name: Login to Amazon ECR
        id: login-ecr
        uses: aws-actions/amazon-ecr-login@v2
      - name: Build and push
        working-directory: app
        run: |
          docker build -q -t $ECR_REGISTRY/{repo}:v1 .
          docker push $ECR_REGISTRY/{repo}:v1
"#
    );
    let dir = repository(
        &workflow,
        &format!("[registry]\naddress = \"127.0.0.1:{port}\"\n"),
    );
    let d = dir.path();
    let _down = Down(d);
    let _clean = ImageCleanup(vec![format!("127.0.0.1:{port}/{repo}")]);
    let ran = run_json(d, &["--env", &format!("ECR_REGISTRY=127.0.0.1:{port}")]);
    assert_eq!(ran.code, 0, "{}", ran.logs);
    let j = job(&ran.summary, "build-and-push");
    assert_eq!(j["outputs"]["registry"], format!("127.0.0.1:{port}"));
    assert!(
        ran.logs.contains(&format!(
            "started the local registry at http://127.0.0.1:{port}"
        )),
        "{}",
        ran.logs
    );
    assert!(skopeo_inspect(&format!("127.0.0.1:{port}/{repo}:v1"), None).is_ok());

    // `slipway registry` sees the registry the run started.
    let status = Slipway::new()
        .args(["registry", "status", "--format", "json", "-C"])
        .args([d])
        .run();
    let s: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(
        (s["running"].clone(), s["managed"].clone()),
        (true.into(), true.into())
    );
    assert_eq!(s["repositories"], serde_json::json!([repo]));

    // A second run finds it running.
    let ran = run_json(d, &["--env", &format!("ECR_REGISTRY=127.0.0.1:{port}")]);
    assert_eq!(ran.code, 0, "{}", ran.logs);
    assert!(
        ran.logs.contains(&format!(
            "the local registry answers at http://127.0.0.1:{port}"
        )),
        "{}",
        ran.logs
    );
}

/// moto's server on a port of its own, stopped when dropped.
#[cfg(feature = "ecr")]
struct Moto {
    child: std::process::Child,
    port: u16,
}

#[cfg(feature = "ecr")]
impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(feature = "ecr")]
fn moto() -> Moto {
    let port = free_port();
    let child = std::process::Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("moto_server runs (scripts/install/images.sh installs moto[server])");
    // Dropped (and so stopped) on every path out of here.
    let moto = Moto { child, port };
    for _ in 0..600 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return moto;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("moto_server did not start on port {port}");
}

#[cfg(feature = "ecr")]
#[test]
fn ecr_login_through_get_authorization_token() {
    let moto = moto();
    let workflow = r#"name: images
on: push
jobs:
  login:
    runs-on: ubuntu-latest
    outputs:
      registry: ${{ steps.login-ecr.outputs.registry }}
      user: ${{ steps.login-ecr.outputs.docker_username_123456789012_dkr_ecr_ap_northeast_1_amazonaws_com }}
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          aws-region: ap-northeast-1
          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}
          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
      - id: login-ecr
        uses: aws-actions/amazon-ecr-login@v2
      - name: the docker login the next steps see
        run: |
          python3 - <<'PY'
          import base64, json, os
          auths = json.load(open(os.path.join(os.environ["DOCKER_CONFIG"], "config.json")))["auths"]
          for host, entry in auths.items():
              user, password = base64.b64decode(entry["auth"]).decode().split(":", 1)
              print("login", host, user, len(password) > 0)
          PY
"#;
    let dir = repository(
        workflow,
        &format!(
            "[registry]\nkind = \"ecr\"\nendpoint = \"http://127.0.0.1:{}\"\n",
            moto.port
        ),
    );
    let d = dir.path();
    let secrets = d.join("secrets.env");
    std::fs::write(
        &secrets,
        "AWS_ACCESS_KEY_ID=AKIAEXAMPLE\nAWS_SECRET_ACCESS_KEY=example-secret\n",
    )
    .unwrap();
    let ran = run_json(d, &["--secret-file", secrets.to_str().unwrap()]);
    assert_eq!(ran.code, 0, "{}", ran.logs);
    let j = job(&ran.summary, "login");
    assert_eq!(
        j["outputs"]["registry"],
        "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"
    );
    assert_eq!(j["outputs"]["user"], "AWS");
    assert!(
        ran.logs
            .contains("login 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com AWS True"),
        "{}",
        ran.logs
    );
    assert!(
        ran.logs
            .contains(&format!("through http://127.0.0.1:{}", moto.port)),
        "{}",
        ran.logs
    );
    // The user's own docker configuration is untouched.
    assert!(!ran.logs.contains("example-secret"));

    // No keys: the step says what to give it.
    let no_keys = workflow
        .replace(
            "          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}\n",
            "",
        )
        .replace(
            "          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}\n",
            "",
        );
    let dir2 = repository(
        &no_keys,
        &format!(
            "[registry]\nkind = \"ecr\"\nendpoint = \"http://127.0.0.1:{}\"\n",
            moto.port
        ),
    );
    let ran = Slipway::new()
        .args(["run", "--format", "json", "-C"])
        .args([dir2.path()])
        .run();
    assert_eq!(ran.code, 1);
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        assert!(ran.stderr.contains("no AWS credentials"), "{}", ran.stderr);
    }

    // ECR that cannot be reached fails the step and names the endpoint.
    let gone = free_port();
    let dir3 = repository(
        workflow,
        &format!("[registry]\nkind = \"ecr\"\nendpoint = \"http://127.0.0.1:{gone}\"\n"),
    );
    let secrets3 = dir3.path().join("secrets.env");
    std::fs::write(
        &secrets3,
        "AWS_ACCESS_KEY_ID=AKIAEXAMPLE\nAWS_SECRET_ACCESS_KEY=example-secret\n",
    )
    .unwrap();
    let ran = run_json(dir3.path(), &["--secret-file", secrets3.to_str().unwrap()]);
    assert_eq!(ran.code, 1);
    assert!(
        ran.logs.contains(&format!(
            "ECR GetAuthorizationToken at http://127.0.0.1:{gone}"
        )),
        "{}",
        ran.logs
    );
}
