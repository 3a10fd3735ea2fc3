//! Timing requests: one client, one request at a time, keep-alive.
//!
//! Every case of a run is timed in the same rounds: each round gives each case a tenth
//! of its requests, in turn. A machine that is busier for a while (it is shared) slows
//! every case of a round alike, so the ratios between cases — what the targets are
//! stated in — hold even when the absolute rates move from run to run.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::future::BoxFuture;
use reqwest::{Client, RequestBuilder, StatusCode, Url};
use serde_json::Value;

/// Rounds every case's requests are spread over.
const ROUNDS: usize = 10;

/// One line of the report: a kind of request, sent in turn with each of its inputs.
pub struct Case<'a> {
    pub name: String,
    /// Sends the request of the given turn.
    send: Box<dyn Fn(usize) -> BoxFuture<'a, Result<()>> + 'a>,
}

impl<'a> Case<'a> {
    /// A case that sends `once(input)` with each of `inputs` in turn.
    pub fn each<T, F, Fut>(name: impl Into<String>, inputs: Vec<T>, once: F) -> Case<'a>
    where
        T: Clone + Send + 'a,
        F: Fn(T) -> Fut + Send + 'a,
        Fut: Future<Output = Result<()>> + Send + 'a,
    {
        assert!(!inputs.is_empty(), "a case needs at least one input");
        let send =
            move |turn: usize| -> BoxFuture<'a, Result<()>> { Box::pin(once(inputs[turn % inputs.len()].clone())) };
        Case { name: name.into(), send: Box::new(send) }
    }

    /// GETs of each URL in turn, each answered 200.
    pub fn gets(name: impl Into<String>, client: &'a Client, urls: Vec<Url>) -> Case<'a> {
        Case::each(name, urls, move |url| fetch(client, url))
    }
}

#[derive(Debug, Clone)]
pub struct Stats {
    pub name: String,
    pub requests: usize,
    pub median: Duration,
    pub p99: Duration,
    pub per_second: f64,
}

pub struct Limits {
    pub warmup: usize,
    pub requests: usize,
    pub max_time: Duration,
}

/// Sends one GET and reads the whole answer; anything but 200 is a failure.
async fn fetch(client: &Client, url: Url) -> Result<()> {
    expect(client.get(url), StatusCode::OK).await
}

/// Sends a request and reads the whole answer; any other status than `expected` is a failure.
pub async fn expect(request: RequestBuilder, expected: StatusCode) -> Result<()> {
    let response = request.send().await.context("sending a request")?;
    let status = response.status();
    let url = response.url().clone();
    let body = response.bytes().await.with_context(|| format!("reading GET {url}"))?;
    if status != expected {
        bail!("GET {url} answered {status} (expected {expected}): {}", String::from_utf8_lossy(&body));
    }
    Ok(())
}

/// GETs a URL once and returns its JSON, to set a case up.
pub async fn get_json(client: &Client, url: &Url) -> Result<Value> {
    let response = client.get(url.clone()).send().await.with_context(|| format!("GET {url}"))?;
    let status = response.status();
    let body = response.text().await?;
    if !status.is_success() {
        bail!("GET {url} answered {status}: {body}");
    }
    serde_json::from_str(&body).with_context(|| format!("GET {url} is not JSON"))
}

/// Warms every case up, then times them all in [`ROUNDS`] interleaved rounds until each
/// has its count of requests or has used its time limit. A case's rate is its requests
/// over the time they took; stats come in the order of `cases`.
pub async fn interleaved(cases: &[Case<'_>], limits: &Limits) -> Result<Vec<Stats>> {
    for case in cases {
        let warm_until = Instant::now() + limits.max_time / 10;
        for turn in 0..limits.warmup {
            (case.send)(turn).await.with_context(|| format!("warming up {}", case.name))?;
            if Instant::now() > warm_until {
                break;
            }
        }
    }
    let mut timings: Vec<Timing> = cases.iter().map(|_| Timing::default()).collect();
    let per_round = limits.requests.div_ceil(ROUNDS);
    let started = Instant::now();
    for round in 0..ROUNDS {
        // Each round starts with another case, so no case always follows the same one.
        for k in 0..cases.len() {
            let i = (round + k) % cases.len();
            let (case, timing) = (&cases[i], &mut timings[i]);
            let left = limits.requests.saturating_sub(timing.latencies.len());
            if left == 0 || timing.busy > limits.max_time {
                continue;
            }
            let round_started = Instant::now();
            for _ in 0..per_round.min(left) {
                let sent = Instant::now();
                (case.send)(limits.warmup + timing.latencies.len()).await.with_context(|| case.name.clone())?;
                timing.latencies.push(sent.elapsed());
            }
            timing.busy += round_started.elapsed();
        }
        eprintln!(
            "   round {}/{ROUNDS} of {} cases timed ({:.0} s)",
            round + 1,
            cases.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(cases.iter().zip(timings).map(|(case, timing)| timing.stats(&case.name)).collect())
}

/// The requests of one case so far.
#[derive(Default)]
struct Timing {
    latencies: Vec<Duration>,
    /// The time its requests took, over all rounds.
    busy: Duration,
}

impl Timing {
    fn stats(mut self, name: &str) -> Stats {
        self.latencies.sort_unstable();
        Stats {
            name: name.to_string(),
            requests: self.latencies.len(),
            median: percentile(&self.latencies, 50.0),
            p99: percentile(&self.latencies, 99.0),
            per_second: self.latencies.len() as f64 / self.busy.as_secs_f64(),
        }
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&values, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&values[..1], 99.0), Duration::from_millis(1));
    }

    #[tokio::test]
    async fn cases_are_timed_in_interleaved_rounds() {
        let sent = std::sync::Mutex::new(Vec::new());
        let case = |name: &'static str, inputs: Vec<u32>| {
            let sent = &sent;
            Case::each(name, inputs, move |input| async move {
                sent.lock().unwrap().push((name, input));
                Ok(())
            })
        };
        let cases = [case("a", vec![1, 2, 3]), case("b", vec![7])];
        let limits = Limits { warmup: 2, requests: 40, max_time: Duration::from_secs(30) };
        let stats = interleaved(&cases, &limits).await.unwrap();
        assert_eq!(stats.iter().map(|s| (s.name.as_str(), s.requests)).collect::<Vec<_>>(), [("a", 40), ("b", 40)]);
        assert!(stats.iter().all(|s| s.per_second > 0.0));
        drop(cases);
        let sent = sent.into_inner().unwrap();
        // Warm-up first (2 each), then rounds of 4: a, b, then b, a, then a, b…
        let order: String = sent.iter().skip(4).step_by(4).map(|(name, _)| *name).collect();
        assert_eq!(order, "abbaabbaabbaabbaabba");
        let inputs_of_a: Vec<u32> = sent.iter().filter(|(name, _)| *name == "a").map(|(_, i)| *i).take(6).collect();
        assert_eq!(inputs_of_a, [1, 2, 3, 1, 2, 3], "each input in turn, on from the warm-up");
    }
}
