//! The invocation's deadline. On Lambda a batch must be answered before the function times out,
//! or the whole invocation fails and every record in it is retried. The Lambda host runs each
//! batch [`within`] the invocation's deadline; a downstream call reads [`remaining`] and stops
//! retrying early enough to record its outcome and answer. The standalone host sets none.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `work` with `deadline` as the time it must be done by. The engine runs a batch's
/// records on the task that calls it, so every handler sees it.
pub async fn within<F: Future>(deadline: Instant, work: F) -> F::Output {
    DEADLINE.scope(deadline, work).await
}

/// Time left before the deadline, if there is one.
pub fn remaining() -> Option<Duration> {
    DEADLINE
        .try_with(|deadline| deadline.saturating_duration_since(Instant::now()))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_work_run_within_a_deadline_sees_it() {
        assert_eq!(remaining(), None);
        // Far off, so that a stalled machine still sees most of it left.
        let left = within(Instant::now() + Duration::from_secs(600), async {
            // Also in futures the engine polls concurrently on the same task.
            let (a, b) = tokio::join!(async { remaining() }, async { remaining() });
            (a, b)
        })
        .await;
        for left in [left.0, left.1] {
            let left = left.expect("a deadline");
            assert!(
                left <= Duration::from_secs(600) && left > Duration::from_secs(300),
                "{left:?}"
            );
        }
        assert_eq!(remaining(), None);
    }
}
