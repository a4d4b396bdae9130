//! A small HTTP load driver: `connections` keep-alive connections, each sending its next
//! request as soon as the last one is answered, for a fixed time (bounded: it stops by itself,
//! and sends only to the 127.0.0.1 servers this benchmark started).

use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one run measured.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// Answered requests per second.
    pub rps: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// Requests answered.
    pub requests: usize,
    /// Answers that were not 200.
    pub errors: usize,
    /// Statements the measured requests ran, as the servers count them (their
    /// `x-sql-statements` header).
    pub statements: usize,
    /// Requests answered, the warm-up's included.
    pub sent: usize,
}

/// Sends GETs of `urls` (in turn, each connection starting at its own offset) over
/// `connections` connections for `warmup` (not measured) and then `duration`.
pub async fn drive(
    urls: Arc<Vec<String>>,
    connections: usize,
    warmup: Duration,
    duration: Duration,
) -> Measured {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .expect("client");
    let start = Instant::now() + warmup;
    let end = start + duration;
    let tasks: Vec<_> = (0..connections)
        .map(|c| {
            let (client, urls) = (client.clone(), urls.clone());
            tokio::spawn(async move {
                let mut times = Vec::new();
                let mut errors = 0;
                let mut statements = 0;
                let mut sent = 0;
                let mut i = c * 7919;
                loop {
                    let url = &urls[i % urls.len()];
                    i += 1;
                    let t = Instant::now();
                    if t >= end {
                        break;
                    }
                    let mut ran = 0;
                    let ok = match client.get(url).send().await {
                        Ok(res) => {
                            let status = res.status();
                            ran = res
                                .headers()
                                .get("x-sql-statements")
                                .and_then(|v| v.to_str().ok())
                                .and_then(|v| v.parse::<usize>().ok())
                                .unwrap_or(0);
                            let body = res.bytes().await;
                            if !status.is_success() && errors == 0 && c == 0 {
                                let text = body
                                    .as_ref()
                                    .map(|b| String::from_utf8_lossy(b).to_string());
                                eprintln!("{url}: {status} {text:?}");
                            }
                            status.is_success() && body.is_ok()
                        }
                        Err(e) => {
                            if errors == 0 && c == 0 {
                                eprintln!("{url}: {e}");
                            }
                            false
                        }
                    };
                    sent += 1;
                    if t >= start {
                        times.push(t.elapsed());
                        statements += ran;
                        if !ok {
                            errors += 1;
                        }
                    }
                }
                (times, errors, statements, sent)
            })
        })
        .collect();
    let mut times = Vec::new();
    let (mut errors, mut statements, mut sent) = (0, 0, 0);
    for t in tasks {
        let (t, e, n, s) = t.await.expect("driver task");
        times.extend(t);
        errors += e;
        statements += n;
        sent += s;
    }
    times.sort();
    let at = |q: f64| {
        times
            .get(((times.len() as f64 * q) as usize).min(times.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Measured {
        rps: times.len() as f64 / duration.as_secs_f64(),
        p50: at(0.5),
        p99: at(0.99),
        requests: times.len(),
        errors,
        statements,
        sent,
    }
}
