//! Who sends what: customers with a skewed (Zipf) order rate, so that hot partition keys occur;
//! web and mobile single orders, wholesale batches, and a set fraction of bad requests.

use ingest::order::{Channel, OrderRequest};
use rand::Rng;
use rand_distr::{Distribution, Zipf};

use crate::sample::{self, BadInput};

#[derive(Debug, thiserror::Error)]
pub enum PopulationError {
    #[error("at least one customer is needed")]
    NoCustomers,
    #[error("the skew must be 0 or more, got {0}")]
    Skew(f64),
    #[error("{name} must be a fraction from 0 to 1, got {value}")]
    Fraction { name: &'static str, value: f64 },
    #[error("the wholesale and bad fractions add up to more than 1")]
    MixOverOne,
    #[error("a wholesale batch holds 1 to 100 orders, got {0}")]
    BatchSize(usize),
}

/// The mix of requests.
#[derive(Debug, Clone, Copy)]
pub struct Mix {
    /// Fraction of requests that are wholesale batches (`POST /orders:batch`).
    pub wholesale: f64,
    /// Orders in a wholesale batch.
    pub batch_size: usize,
    /// Fraction of requests that are bad, cycling through every kind of [`BadInput`].
    pub bad: f64,
    /// Of the single orders, the fraction from the web; the rest come from mobile.
    pub web: f64,
}

/// One request, from the `customer`th customer (by rank: 0 orders most).
#[derive(Debug, Clone)]
pub enum Request {
    Order {
        customer: usize,
        order: OrderRequest,
    },
    Batch {
        customer: usize,
        orders: Vec<OrderRequest>,
    },
    Bad {
        customer: usize,
        kind: BadInput,
        order: OrderRequest,
    },
}

impl Request {
    /// Orders the request carries (a bad request counts as one).
    pub fn orders(&self) -> usize {
        match self {
            Self::Batch { orders, .. } => orders.len(),
            Self::Order { .. } | Self::Bad { .. } => 1,
        }
    }
}

pub struct Population {
    customers: Zipf<f64>,
    mix: Mix,
    next_bad: usize,
}

impl Population {
    /// `customers` customers; the `k`th most active orders `1/k^skew` as often as the first
    /// (0 is uniform, 1 is the classic Zipf law).
    pub fn new(customers: usize, skew: f64, mix: Mix) -> Result<Self, PopulationError> {
        if customers == 0 {
            return Err(PopulationError::NoCustomers);
        }
        if !(skew.is_finite() && skew >= 0.0) {
            return Err(PopulationError::Skew(skew));
        }
        for (name, value) in [
            ("wholesale", mix.wholesale),
            ("bad", mix.bad),
            ("web", mix.web),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(PopulationError::Fraction { name, value });
            }
        }
        if mix.wholesale + mix.bad > 1.0 {
            return Err(PopulationError::MixOverOne);
        }
        if !(1..=100).contains(&mix.batch_size) {
            return Err(PopulationError::BatchSize(mix.batch_size));
        }
        let customers =
            Zipf::new(customers as f64, skew).map_err(|_| PopulationError::Skew(skew))?;
        Ok(Self {
            customers,
            mix,
            next_bad: 0,
        })
    }

    pub fn next(&mut self, rng: &mut impl Rng) -> Request {
        // Zipf samples ranks 1..=n.
        let customer = (self.customers.sample(rng) as usize).saturating_sub(1);
        let roll: f64 = rng.random();
        if roll < self.mix.wholesale {
            let orders = (0..self.mix.batch_size)
                .map(|_| sample::order(rng, Channel::Wholesale))
                .collect();
            Request::Batch { customer, orders }
        } else if roll < self.mix.wholesale + self.mix.bad {
            let kind = BadInput::ALL[self.next_bad % BadInput::ALL.len()];
            self.next_bad += 1;
            Request::Bad {
                customer,
                kind,
                order: sample::order(rng, Channel::Web),
            }
        } else {
            let channel = if rng.random_bool(self.mix.web) {
                Channel::Web
            } else {
                Channel::Mobile
            };
            Request::Order {
                customer,
                order: sample::order(rng, channel),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    const MIX: Mix = Mix {
        wholesale: 0.05,
        batch_size: 10,
        bad: 0.02,
        web: 0.6,
    };

    #[test]
    fn a_few_customers_send_most_orders_and_the_mix_holds() {
        let mut population = Population::new(10_000, 1.0, MIX).expect("valid");
        let mut rng = StdRng::seed_from_u64(1);
        let mut per_customer = vec![0usize; 10_000];
        let (mut batches, mut bad) = (0, 0);
        let draws = 20_000;
        for _ in 0..draws {
            let request = population.next(&mut rng);
            match &request {
                Request::Batch { customer, orders } => {
                    assert_eq!(orders.len(), 10);
                    batches += 1;
                    per_customer[*customer] += 1;
                }
                Request::Bad { customer, .. } => {
                    bad += 1;
                    per_customer[*customer] += 1;
                }
                Request::Order { customer, .. } => per_customer[*customer] += 1,
            }
        }
        // Zipf with s = 1 over 10,000: the top 1% send about half of the requests.
        let top: usize = per_customer[..100].iter().sum();
        assert!(top > draws * 2 / 5, "top 100 customers sent {top}");
        assert!(per_customer[0] > per_customer[99] * 20);
        let fraction = |n: usize| n as f64 / draws as f64;
        assert!((fraction(batches) - 0.05).abs() < 0.01, "{batches}");
        assert!((fraction(bad) - 0.02).abs() < 0.01, "{bad}");
    }

    #[test]
    fn a_mix_that_cannot_be_is_refused() {
        let bad = |mix: Mix| Population::new(10, 1.0, mix).err().map(|e| e.to_string());
        assert!(
            bad(Mix {
                wholesale: 0.7,
                bad: 0.5,
                ..MIX
            })
            .is_some_and(|e| e.contains("more than 1"))
        );
        assert!(
            bad(Mix {
                batch_size: 0,
                ..MIX
            })
            .is_some_and(|e| e.contains("1 to 100"))
        );
        assert!(Population::new(0, 1.0, MIX).is_err());
        assert!(Population::new(10, -1.0, MIX).is_err());
    }
}
