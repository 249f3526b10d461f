//! SSM Parameter Store on loopback, for the saga stages' `api-key` mode: moto's server
//! (installed by `scripts/install-engines`, pinned), the fallback the design names where no
//! embedded engine speaks a protocol. Only the tests and users that need it start one; the
//! unchanged `aws-sdk-ssm` client reaches it through `AWS_ENDPOINT_URL_SSM`.

use std::path::Path;
use std::time::Duration;

use crate::StackError;

/// A running moto server; stopped when dropped.
pub struct ParameterStore {
    pub endpoint: String,
    process: std::process::Child,
}

impl ParameterStore {
    pub async fn start() -> Result<Self, StackError> {
        let failed = |cause: String| StackError::Engine {
            name: "ssm (moto)",
            cause,
        };
        let server = Path::new(env!("CARGO_MANIFEST_DIR")).join("engines/.venv/bin/moto_server");
        if !server.exists() {
            return Err(failed(format!(
                "{} is missing: run scripts/install-engines",
                server.display()
            )));
        }
        let port = crate::free_port().map_err(|e| failed(e.to_string()))?;
        let process = std::process::Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| failed(e.to_string()))?;
        let store = Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            process,
        };
        let probe = format!("{}/moto-api/", store.endpoint);
        crate::wait_for("ssm (moto)", || async {
            let answer = tokio::time::timeout(Duration::from_secs(1), reqwest::get(&probe)).await;
            matches!(answer, Ok(Ok(response)) if response.status().is_success()).then_some(())
        })
        .await?;
        Ok(store)
    }

    /// The variable that points an SDK client at this store.
    pub fn env(&self) -> (String, String) {
        ("AWS_ENDPOINT_URL_SSM".to_owned(), self.endpoint.clone())
    }
}

impl Drop for ParameterStore {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
