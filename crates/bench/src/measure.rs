//! Timing HTTP requests: one client, one request at a time, keep-alive.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use reqwest::{Client, Url};
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

/// Sends one request and reads the whole answer; anything but 200 is a failure.
async fn fetch(client: &Client, url: &Url) -> Result<usize> {
    let response = client.get(url.clone()).send().await.with_context(|| format!("GET {url}"))?;
    let status = response.status();
    let body = response.bytes().await.with_context(|| format!("reading GET {url}"))?;
    if !status.is_success() {
        bail!("GET {url} answered {status}: {}", String::from_utf8_lossy(&body));
    }
    Ok(body.len())
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

/// Warms up, then times requests until the count or the time limit is reached.
pub async fn run(client: &Client, case: &Case, limits: &Limits) -> Result<Stats> {
    let warm_until = Instant::now() + limits.max_time / 10;
    for url in case.urls.iter().cycle().take(limits.warmup) {
        fetch(client, url).await?;
        if Instant::now() > warm_until {
            break;
        }
    }
    let mut latencies = Vec::with_capacity(limits.requests);
    let started = Instant::now();
    for url in case.urls.iter().cycle().take(limits.requests) {
        let sent = Instant::now();
        fetch(client, url).await?;
        latencies.push(sent.elapsed());
        if started.elapsed() > limits.max_time {
            break;
        }
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Ok(Stats {
        name: case.name.clone(),
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
