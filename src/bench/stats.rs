//! Latency summaries for the benchmark report. Percentiles use the nearest-rank method on the
//! sorted samples, so every figure reported is a latency that was actually observed.

use std::time::Duration;

/// The percentiles the report shows for one set of latencies, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// The `percentile` (0 to 100) of already sorted `samples` by nearest rank; `None` when empty.
pub fn percentile(sorted: &[f64], percentile: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percentile / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Summarises latencies; all zero when there are none.
pub fn summarize(latencies: &[Duration]) -> Summary {
    let mut millis: Vec<f64> = latencies.iter().map(|latency| latency.as_secs_f64() * 1000.0).collect();
    millis.sort_by(f64::total_cmp);
    Summary {
        count: millis.len(),
        p50_ms: percentile(&millis, 50.0).unwrap_or(0.0),
        p99_ms: percentile(&millis, 99.0).unwrap_or(0.0),
        max_ms: millis.last().copied().unwrap_or(0.0),
    }
}

/// `count` per second over `elapsed`; 0 when no time passed.
pub fn rate(count: usize, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 { count as f64 / seconds } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_are_observed_values() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&samples, 50.0), Some(50.0));
        assert_eq!(percentile(&samples, 99.0), Some(99.0));
        assert_eq!(percentile(&samples, 100.0), Some(100.0));
        assert_eq!(percentile(&samples, 0.0), Some(1.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn small_samples_round_the_rank_up() {
        let samples = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&samples, 50.0), Some(2.0));
        assert_eq!(percentile(&samples, 51.0), Some(3.0));
        assert_eq!(percentile(&samples, 99.0), Some(4.0));
    }

    #[test]
    fn summaries_sort_their_input_and_report_milliseconds() {
        let latencies = [30, 10, 20].map(Duration::from_millis);
        let summary = summarize(&latencies);
        assert_eq!(summary, Summary { count: 3, p50_ms: 20.0, p99_ms: 30.0, max_ms: 30.0 });
        assert_eq!(summarize(&[]), Summary::default());
    }

    #[test]
    fn rates_over_no_time_are_zero() {
        assert_eq!(rate(10, Duration::ZERO), 0.0);
        assert_eq!(rate(10, Duration::from_millis(500)), 20.0);
    }
}
