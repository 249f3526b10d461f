//! Fault-injecting TCP proxies (the `fault-engine` crate) between the pipeline's processes and
//! what they talk to: Kinesis, DynamoDB and the downstream stand-ins. Clean until told
//! otherwise; [`FaultProxies::set`] changes a proxy's faults while traffic flows.

use std::net::SocketAddr;

use fault_engine::{EngineError, FaultEngine, RunningEngine};
use fault_model::{FaultSpec, Phase, Proxy, ProxyFaults, Run, TrafficFlow};

/// What a proxy stands in front of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upstream {
    Kinesis,
    Dynamodb,
    /// The inventory, fulfilment and accounting stand-ins (one server).
    Downstream,
}

impl Upstream {
    fn name(self) -> &'static str {
        match self {
            Self::Kinesis => "kinesis",
            Self::Dynamodb => "dynamodb",
            Self::Downstream => "downstream",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    #[error("{0} is not an http://host:port endpoint")]
    Endpoint(String),
    #[error("the {proxy} fault proxy")]
    Engine {
        proxy: &'static str,
        #[source]
        source: EngineError,
    },
}

/// A network fault, as the proxies can inject it.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// Nothing gets through and nothing is answered: requests wait until the caller's
    /// timeout, like a service whose network path is gone.
    Unreachable,
    /// Each connection, old or new, is reset with `reset_probability` when it is next used,
    /// and every read and write waits a uniformly drawn time in `[min_ms, max_ms]`.
    Flaky {
        reset_probability: f64,
        min_ms: f64,
        max_ms: f64,
    },
    /// Every read and write waits a uniformly drawn time in `[min, max]` milliseconds.
    Slow { min_ms: f64, max_ms: f64 },
}

impl Fault {
    fn specs(self) -> Vec<FaultSpec> {
        match self {
            Self::Unreachable => vec![FaultSpec::Blackhole {
                flow: TrafficFlow::Both,
            }],
            Self::Flaky {
                reset_probability,
                min_ms,
                max_ms,
            } => vec![
                FaultSpec::ConnectionReset {
                    flow: TrafficFlow::Both,
                    probability: reset_probability,
                },
                FaultSpec::Jitter {
                    flow: TrafficFlow::ToClient,
                    min_delay_ms: min_ms,
                    max_delay_ms: max_ms,
                    probability: 1.0,
                },
            ],
            Self::Slow { min_ms, max_ms } => vec![FaultSpec::Jitter {
                flow: TrafficFlow::ToClient,
                min_delay_ms: min_ms,
                max_delay_ms: max_ms,
                probability: 1.0,
            }],
        }
    }
}

/// Counts of what a proxy did, the evidence that a fault was really injected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Effects {
    pub connection_resets: u64,
    /// Directions of connections that went silent (each counted once).
    pub blackholed: u64,
    /// Reads and writes held back by a delay.
    pub delayed: u64,
}

/// One proxy per [`Upstream`], each on its own loopback port.
pub struct FaultProxies {
    proxies: Vec<(Upstream, RunningEngine, SocketAddr)>,
}

impl FaultProxies {
    /// Starts a clean proxy in front of each `(upstream, endpoint)`; endpoints are
    /// `http://127.0.0.1:PORT` URLs.
    pub async fn start(upstreams: &[(Upstream, &str)]) -> Result<Self, FaultError> {
        let mut proxies = Vec::new();
        for (upstream, endpoint) in upstreams {
            let address = endpoint
                .strip_prefix("http://")
                .map(|rest| rest.trim_end_matches('/'))
                .filter(|address| address.parse::<SocketAddr>().is_ok())
                .ok_or_else(|| FaultError::Endpoint((*endpoint).to_owned()))?;
            let name = upstream.name();
            let run = Run {
                schema_version: fault_model::SCHEMA_VERSION,
                name: name.to_owned(),
                proxies: vec![Proxy {
                    name: name.to_owned(),
                    protocol: fault_model::TransportProtocol::Tcp,
                    listen: "127.0.0.1:0".to_owned(),
                    upstream: address.to_owned(),
                }],
                phases: vec![Phase {
                    name: "clean".to_owned(),
                    duration: None,
                    proxies: vec![ProxyFaults {
                        proxy: name.to_owned(),
                        faults: Vec::new(),
                    }],
                }],
            };
            let engine = FaultEngine::from_run(&run)
                .start()
                .await
                .map_err(|source| FaultError::Engine {
                    proxy: name,
                    source,
                })?;
            let bound =
                engine
                    .endpoints()
                    .tcp
                    .first()
                    .copied()
                    .ok_or_else(|| FaultError::Engine {
                        proxy: name,
                        source: EngineError::UnknownProxy(name.to_owned()),
                    })?;
            proxies.push((*upstream, engine, bound));
        }
        Ok(Self { proxies })
    }

    /// The proxy's endpoint in front of `upstream`, as `http://127.0.0.1:PORT`.
    pub fn endpoint(&self, upstream: Upstream) -> Option<String> {
        self.proxies
            .iter()
            .find(|(u, _, _)| *u == upstream)
            .map(|(_, _, address)| format!("http://{address}"))
    }

    /// What the proxy in front of `upstream` has done to its traffic so far.
    pub fn effects(&self, upstream: Upstream) -> Effects {
        self.proxies
            .iter()
            .find(|(u, _, _)| *u == upstream)
            .map(|(_, engine, _)| {
                let effects = engine.transport_status().effects;
                Effects {
                    connection_resets: effects.connection_resets,
                    blackholed: effects.blackhole_activations,
                    delayed: effects.jitter_applications,
                }
            })
            .unwrap_or_default()
    }

    /// Injects `fault` into the traffic to `upstream` from now on, or clears it with `None`.
    pub async fn set(&self, upstream: Upstream, fault: Option<Fault>) -> Result<(), FaultError> {
        let name = upstream.name();
        let Some((_, engine, _)) = self.proxies.iter().find(|(u, _, _)| *u == upstream) else {
            return Err(FaultError::Engine {
                proxy: name,
                source: EngineError::UnknownProxy(name.to_owned()),
            });
        };
        engine
            .set_faults(name, fault.map(Fault::specs).unwrap_or_default())
            .await
            .map_err(|source| FaultError::Engine {
                proxy: name,
                source,
            })
    }
}
