//! A local Cognito user pool engine: `cognito-local` (npm, pinned in `devstack/engines`), run
//! with Node as a child process on loopback. It signs RS256 ID tokens with a key it publishes
//! at `{issuer}/.well-known/jwks.json`, as a user pool does, so the gateway checks its tokens
//! the way API Gateway's Cognito authorizer checks a real pool's. Only `verify-stack`'s test
//! needs it; the rest of the local stack signs its own tokens.

use std::time::Duration;

use aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType;

use crate::{REGION, engines_dir, free_port};

#[derive(Debug, thiserror::Error)]
pub enum CognitoError {
    #[error("{0} is missing: run scripts/install-engines")]
    NotInstalled(String),
    #[error("starting cognito-local")]
    Start(#[source] std::io::Error),
    #[error("cognito-local did not answer on {0}")]
    NotAnswering(String),
    #[error("creating the user pool and its app client: {0}")]
    Pool(String),
}

/// A running `cognito-local`; dropping it stops it and removes its data.
pub struct LocalCognito {
    pub endpoint: String,
    process: std::process::Child,
    _data: tempfile::TempDir,
}

/// A user pool made for a test, with an app client like the one Pulumi's `verifierClient`
/// creates (admin password sign-in).
pub struct LocalPool {
    pub id: String,
    pub client_id: String,
    /// What its tokens name as `iss`; the gateway fetches the keys from under it.
    pub issuer: String,
}

impl LocalCognito {
    pub async fn start() -> Result<Self, CognitoError> {
        let main = engines_dir().join("cognito-local/lib/bin/start.js");
        if !main.exists() {
            return Err(CognitoError::NotInstalled(main.display().to_string()));
        }
        let port = free_port().map_err(CognitoError::Start)?;
        // It keeps its pools in `.cognito/` under its working directory.
        let data = tempfile::Builder::new()
            .prefix("devstack-cognito-")
            .tempdir()
            .map_err(CognitoError::Start)?;
        let process = std::process::Command::new("node")
            .arg(&main)
            .current_dir(data.path())
            // Also what the tokens' issuer is made of.
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(CognitoError::Start)?;
        let cognito = Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            process,
            _data: data,
        };
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http
                .get(format!("{}/health", cognito.endpoint))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(cognito);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(CognitoError::NotAnswering(cognito.endpoint.clone()))
    }

    /// An SDK client for it (it checks no signature; the credentials are throwaway).
    pub fn client(&self) -> aws_sdk_cognitoidentityprovider::Client {
        let config = aws_sdk_cognitoidentityprovider::config::Builder::new()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .credentials_provider(aws_credential_types::Credentials::new(
                "local", "local", None, None, "devstack",
            ))
            .endpoint_url(&self.endpoint)
            .build();
        aws_sdk_cognitoidentityprovider::Client::from_conf(config)
    }

    /// Creates a user pool (e-mail addresses as user names, as the stack's) and an app client
    /// that signs in with `ADMIN_USER_PASSWORD_AUTH`.
    pub async fn create_pool(&self, name: &str) -> Result<LocalPool, CognitoError> {
        let client = self.client();
        let failed = |e: &dyn std::error::Error| CognitoError::Pool(ingest::error_chain(e));
        let pool = client
            .create_user_pool()
            .pool_name(name)
            .send()
            .await
            .map_err(|e| failed(&e))?;
        let id = pool
            .user_pool()
            .and_then(|p| p.id())
            .ok_or_else(|| CognitoError::Pool("no pool id".into()))?
            .to_owned();
        let app = client
            .create_user_pool_client()
            .user_pool_id(&id)
            .client_name("verifier")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
            .send()
            .await
            .map_err(|e| failed(&e))?;
        let client_id = app
            .user_pool_client()
            .and_then(|c| c.client_id())
            .ok_or_else(|| CognitoError::Pool("no client id".into()))?
            .to_owned();
        Ok(LocalPool {
            issuer: format!("{}/{id}", self.endpoint),
            id,
            client_id,
        })
    }
}

impl Drop for LocalCognito {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
