//! Timing requests: one client, one request at a time, keep-alive.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use reqwest::{Client, RequestBuilder, StatusCode, Url};
use serde_json::Value;

/// One line of the report: a kind of request, asked in turn with each of its URLs.
pub struct Case {
    pub name: String,
    pub urls: Vec<Url>,
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

/// Times GETs of a case's URLs in turn.
pub async fn run(client: &Client, case: &Case, limits: &Limits) -> Result<Stats> {
    time(&case.name, &case.urls, limits, |url| fetch(client, url)).await
}

/// Warms up, then times `once` with each input in turn until the count or the time limit
/// is reached. Inputs are cloned before the clock starts.
pub async fn time<T, F, Fut>(name: &str, inputs: &[T], limits: &Limits, mut once: F) -> Result<Stats>
where
    T: Clone,
    F: FnMut(T) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let warm_until = Instant::now() + limits.max_time / 10;
    for input in inputs.iter().cycle().take(limits.warmup) {
        once(input.clone()).await?;
        if Instant::now() > warm_until {
            break;
        }
    }
    let mut latencies = Vec::with_capacity(limits.requests);
    let started = Instant::now();
    for input in inputs.iter().cycle().take(limits.requests) {
        let input = input.clone();
        let sent = Instant::now();
        once(input).await?;
        latencies.push(sent.elapsed());
        if started.elapsed() > limits.max_time {
            break;
        }
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Ok(Stats {
        name: name.to_string(),
        requests: latencies.len(),
        median: percentile(&latencies, 50.0),
        p99: percentile(&latencies, 99.0),
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
    })
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
}
