//! How a saga stage proves who it is to its service, the same for all three: nothing, a SigV4
//! signature for a service behind IAM-authorised API Gateway (made by the AWS signing crate with
//! the function's own credentials), or an API key read once from Parameter Store at start.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;

/// `none` (or unset), `iam` or `api-key`.
pub const AUTH_ENV: &str = "DOWNSTREAM_AUTH";
/// With `api-key`: the name of the SecureString parameter holding the key.
pub const API_KEY_PARAMETER_ENV: &str = "DOWNSTREAM_API_KEY_PARAMETER";
/// The service name SigV4 signs for: API Gateway's.
pub const SIGNING_NAME: &str = "execute-api";
/// The header an API key travels in (API Gateway's).
pub const API_KEY_HEADER: &str = "x-api-key";

#[derive(Clone)]
pub enum DownstreamAuth {
    None,
    SigV4(Arc<SigV4>),
    ApiKey(String),
}

/// What SigV4 signs with: the credentials provider (the SDK's chain), cached here because the
/// chain itself is not (on Fargate each call would ask the container's credentials endpoint),
/// and the region.
pub struct SigV4 {
    provider: SharedCredentialsProvider,
    region: String,
    cached: tokio::sync::Mutex<Option<Credentials>>,
}

/// Cached credentials are renewed this long before they expire.
const RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);

impl std::fmt::Debug for DownstreamAuth {
    // Never the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::SigV4(sigv4) => write!(f, "SigV4 {{ region: {} }}", sigv4.region),
            Self::ApiKey(_) => f.write_str("ApiKey(…)"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    #[error("{AUTH_ENV}={0}: expected none, iam or api-key")]
    Mode(String),
    #[error("{AUTH_ENV}=iam needs credentials and a region (AWS_REGION), and one is missing")]
    NoCredentials,
    #[error("{AUTH_ENV}=api-key needs {API_KEY_PARAMETER_ENV}")]
    NoParameter,
    #[error("reading the API key from parameter {name}")]
    Parameter {
        name: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("no credentials to sign with")]
    Credentials(#[source] aws_credential_types::provider::error::CredentialsError),
    #[error("signing the request")]
    Signing(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl DownstreamAuth {
    /// SigV4 with `provider`'s credentials in `region`.
    pub fn sigv4(provider: SharedCredentialsProvider, region: String) -> Self {
        Self::SigV4(Arc::new(SigV4 {
            provider,
            region,
            cached: tokio::sync::Mutex::new(None),
        }))
    }

    /// From [`AUTH_ENV`]: for `iam`, the SDK's credentials and region; for `api-key`, the
    /// parameter named by [`API_KEY_PARAMETER_ENV`], read now with decryption.
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self, AuthConfigError> {
        let mode = std::env::var(AUTH_ENV).unwrap_or_default();
        match mode.trim() {
            "" | "none" => Ok(Self::None),
            "iam" => match (sdk.credentials_provider(), sdk.region()) {
                (Some(credentials), Some(region)) => {
                    Ok(Self::sigv4(credentials, region.to_string()))
                }
                _ => Err(AuthConfigError::NoCredentials),
            },
            "api-key" => {
                let name = std::env::var(API_KEY_PARAMETER_ENV)
                    .map_err(|_| AuthConfigError::NoParameter)?;
                let failed =
                    |source: Box<dyn std::error::Error + Send + Sync>| AuthConfigError::Parameter {
                        name: name.clone(),
                        source,
                    };
                let answer = aws_sdk_ssm::Client::new(sdk)
                    .get_parameter()
                    .name(&name)
                    .with_decryption(true)
                    .send()
                    .await
                    .map_err(|e| failed(Box::new(e)))?;
                let key = answer
                    .parameter
                    .and_then(|parameter| parameter.value)
                    .filter(|key| !key.is_empty())
                    .ok_or_else(|| failed("the parameter has no value".into()))?;
                Ok(Self::ApiKey(key))
            }
            other => Err(AuthConfigError::Mode(other.to_owned())),
        }
    }

    /// The headers to add to a request of `method` to `url` with `headers` and `body` (the
    /// headers given are the ones signed).
    pub async fn headers(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Vec<(String, String)>, SignError> {
        match self {
            Self::None => Ok(Vec::new()),
            Self::ApiKey(key) => Ok(vec![(API_KEY_HEADER.to_owned(), key.clone())]),
            Self::SigV4(sigv4) => {
                let (credentials, region) = (sigv4.credentials().await?, &sigv4.region);
                sigv4_headers(
                    credentials,
                    region,
                    SystemTime::now(),
                    method,
                    url,
                    headers,
                    body,
                )
                .map_err(SignError::Signing)
            }
        }
    }
}

impl SigV4 {
    /// The cached credentials while they are good for more than [`RENEW_BEFORE`], else new ones
    /// from the provider.
    async fn credentials(&self) -> Result<Credentials, SignError> {
        let mut cached = self.cached.lock().await;
        let renew_by = SystemTime::now() + RENEW_BEFORE;
        if let Some(credentials) = cached
            .as_ref()
            .filter(|c| c.expiry().is_none_or(|expiry| expiry > renew_by))
        {
            return Ok(credentials.clone());
        }
        let fresh = self
            .provider
            .provide_credentials()
            .await
            .map_err(SignError::Credentials)?;
        *cached = Some(fresh.clone());
        Ok(fresh)
    }
}

/// The headers (`authorization`, `x-amz-date`, and `x-amz-security-token` for temporary
/// credentials) that sign a request for [`SIGNING_NAME`] in `region` at `time`.
pub fn sigv4_headers(
    credentials: Credentials,
    region: &str,
    time: SystemTime,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Vec<(String, String)>, Box<dyn std::error::Error + Send + Sync>> {
    let identity = credentials.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SIGNING_NAME)
        .time(time)
        .settings(SigningSettings::default())
        .build()?
        .into();
    let request = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )?;
    let (instructions, _signature) = sign(request, &params)?.into_parts();
    let (signed, _query) = instructions.into_parts();
    Ok(signed
        .into_iter()
        .map(|header| (header.name().to_owned(), header.value().to_owned()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::credential_fn::provide_credentials_fn;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// SigV4 over a provider that counts its calls and hands out credentials valid for `valid`.
    fn counting(valid: Option<Duration>) -> (DownstreamAuth, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let provider = provide_credentials_fn(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let expiry = valid.map(|valid| SystemTime::now() + valid);
                Ok(Credentials::new("AKID", "secret", None, expiry, "test"))
            }
        });
        (
            DownstreamAuth::sigv4(SharedCredentialsProvider::new(provider), "eu-west-1".into()),
            calls,
        )
    }

    async fn sign(auth: &DownstreamAuth) -> Vec<(String, String)> {
        auth.headers(
            "POST",
            "https://api.example/sales",
            &[("idempotency-key", "k")],
            b"{}",
        )
        .await
        .expect("signed")
    }

    #[tokio::test]
    async fn credentials_are_reused_until_they_near_expiry() {
        let (lasting, calls) = counting(Some(Duration::from_secs(3600)));
        for _ in 0..3 {
            let headers = sign(&lasting).await;
            let authorization = &headers
                .iter()
                .find(|(n, _)| n == "authorization")
                .expect("signed")
                .1;
            assert!(
                authorization.contains("Credential=AKID/"),
                "{authorization}"
            );
            assert!(
                authorization.contains("/eu-west-1/execute-api/aws4_request"),
                "{authorization}"
            );
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let (expiring, calls) = counting(Some(Duration::from_secs(60)));
        sign(&expiring).await;
        sign(&expiring).await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "renewed inside the last five minutes"
        );
    }
}
