//! Rate profiles: how many requests a second the load generator offers over time, as small
//! JSON files (`devstack/load-profiles/`).

use std::path::Path;

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("reading {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a rate profile")]
    Parse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {problem}")]
    Invalid { path: String, problem: String },
}

/// The profiles in `devstack/load-profiles/`, built in.
pub const SHIPPED: [(&str, &str); 3] = [
    ("sale", include_str!("../../load-profiles/sale.json")),
    ("step", include_str!("../../load-profiles/step.json")),
    (
        "constant",
        include_str!("../../load-profiles/constant.json"),
    ),
];

/// Phases one after the other; the rate moves linearly from `rate` to `to` within a phase.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub description: String,
    pub phases: Vec<Phase>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub name: String,
    pub seconds: f64,
    /// Requests per second at the start of the phase.
    pub rate: f64,
    /// Requests per second at its end; `rate` when absent.
    #[serde(default)]
    pub to: Option<f64>,
}

impl Profile {
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::from_json(&shown, &text)
    }

    /// Parses and checks a profile; `name` says where it came from in errors.
    pub fn from_json(name: &str, text: &str) -> Result<Self, ProfileError> {
        let profile: Self = serde_json::from_str(text).map_err(|source| ProfileError::Parse {
            path: name.to_owned(),
            source,
        })?;
        profile.check().map_err(|problem| ProfileError::Invalid {
            path: name.to_owned(),
            problem,
        })?;
        Ok(profile)
    }

    /// A profile shipped in `devstack/load-profiles/` by name (`sale`, `step`, `constant`), or
    /// a profile file by path.
    pub fn named_or_file(name: &str) -> Result<Self, ProfileError> {
        match SHIPPED.iter().find(|(shipped, _)| *shipped == name) {
            Some((shipped, text)) => Self::from_json(shipped, text),
            None => Self::load(Path::new(name)),
        }
    }

    fn check(&self) -> Result<(), String> {
        if self.phases.is_empty() {
            return Err("a profile needs at least one phase".into());
        }
        for phase in &self.phases {
            let rates = [Some(phase.rate), phase.to];
            if !(phase.seconds.is_finite() && phase.seconds > 0.0) {
                return Err(format!("phase {:?}: seconds must be above 0", phase.name));
            }
            if rates
                .iter()
                .flatten()
                .any(|rate| !(rate.is_finite() && *rate >= 0.0))
            {
                return Err(format!(
                    "phase {:?}: rates must be 0 or more requests a second",
                    phase.name
                ));
            }
        }
        Ok(())
    }

    /// The same profile with every rate multiplied by `factor`.
    pub fn scaled(mut self, factor: f64) -> Self {
        for phase in &mut self.phases {
            phase.rate *= factor;
            phase.to = phase.to.map(|to| to * factor);
        }
        self
    }

    pub fn seconds(&self) -> f64 {
        self.phases.iter().map(|p| p.seconds).sum()
    }

    /// The phase at `t` seconds from the start and the rate it asks for then; `None` after the
    /// last phase.
    pub fn at(&self, t: f64) -> Option<(&Phase, f64)> {
        let mut start = 0.0;
        for phase in &self.phases {
            if t < start + phase.seconds {
                let progress = (t - start) / phase.seconds;
                let end = phase.to.unwrap_or(phase.rate);
                return Some((phase, phase.rate + (end - phase.rate) * progress));
            }
            start += phase.seconds;
        }
        None
    }

    /// Requests the profile offers in all (the integral of its rate).
    pub fn requests(&self) -> f64 {
        self.phases
            .iter()
            .map(|p| p.seconds * (p.rate + p.to.unwrap_or(p.rate)) / 2.0)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(json: &str) -> Result<Profile, String> {
        let profile: Profile = serde_json::from_str(json).map_err(|e| e.to_string())?;
        profile.check().map(|()| profile)
    }

    #[test]
    fn the_rate_moves_linearly_within_a_phase_and_stops_after_the_last() {
        let p = profile(
            r#"{"description":"d","phases":[
                {"name":"flat","seconds":10,"rate":50},
                {"name":"ramp","seconds":20,"rate":50,"to":250}]}"#,
        )
        .expect("valid");
        assert_eq!(p.at(0.0).map(|(_, r)| r), Some(50.0));
        assert_eq!(p.at(9.99).map(|(ph, _)| ph.name.as_str()), Some("flat"));
        assert_eq!(p.at(20.0).map(|(_, r)| r), Some(150.0));
        assert!(p.at(30.0).is_none());
        assert_eq!(p.seconds(), 30.0);
        assert_eq!(p.requests(), 500.0 + 3000.0);
        assert_eq!(p.scaled(2.0).at(20.0).map(|(_, r)| r), Some(300.0));
    }

    #[test]
    fn bad_profiles_are_refused_with_the_reason() {
        for (json, expected) in [
            (r#"{"description":"d","phases":[]}"#, "at least one phase"),
            (
                r#"{"description":"d","phases":[{"name":"x","seconds":0,"rate":1}]}"#,
                "seconds must be above 0",
            ),
            (
                r#"{"description":"d","phases":[{"name":"x","seconds":1,"rate":1,"to":-5}]}"#,
                "rates must be 0 or more",
            ),
            (
                r#"{"description":"d","phases":[{"name":"x","seconds":1,"rps":1}]}"#,
                "unknown field",
            ),
        ] {
            let error = profile(json).expect_err(json);
            assert!(error.contains(expected), "{json}: {error}");
        }
    }

    #[test]
    fn the_shipped_profiles_load_by_name_and_a_missing_file_is_named() {
        for (name, _) in SHIPPED {
            let p = Profile::named_or_file(name).expect(name);
            assert!(p.requests() > 0.0, "{name}");
        }
        let error = Profile::named_or_file("no-such-profile.json").expect_err("missing");
        assert!(
            error.to_string().contains("no-such-profile.json"),
            "{error}"
        );
    }
}
