//! How a saga stage proves who it is to its service, the same for all three: nothing, a SigV4
//! signature for a service behind IAM-authorised API Gateway (made by the AWS signing crate with
//! the function's own credentials), or an API key read once from Parameter Store at start.

use std::time::SystemTime;

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
    SigV4 {
        credentials: SharedCredentialsProvider,
        region: String,
    },
    ApiKey(String),
}

impl std::fmt::Debug for DownstreamAuth {
    // Never the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::SigV4 { region, .. } => write!(f, "SigV4 {{ region: {region} }}"),
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
    /// From [`AUTH_ENV`]: for `iam`, the SDK's credentials and region; for `api-key`, the
    /// parameter named by [`API_KEY_PARAMETER_ENV`], read now with decryption.
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self, AuthConfigError> {
        let mode = std::env::var(AUTH_ENV).unwrap_or_default();
        match mode.trim() {
            "" | "none" => Ok(Self::None),
            "iam" => match (sdk.credentials_provider(), sdk.region()) {
                (Some(credentials), Some(region)) => Ok(Self::SigV4 {
                    credentials,
                    region: region.to_string(),
                }),
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
            Self::SigV4 {
                credentials,
                region,
            } => {
                let credentials = credentials
                    .provide_credentials()
                    .await
                    .map_err(SignError::Credentials)?;
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

/// The headers (`authorization`, `x-amz-date`, and `x-amz-security-token` for temporary
/// credentials) that sign a request for [`SIGNING_NAME`] in `region` at `time`.
pub fn sigv4_headers(
    credentials: aws_credential_types::Credentials,
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
