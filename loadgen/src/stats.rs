//! Numbers the report is made of: percentiles, the processes' CPU time and memory from
//! `/proc`, and the counters one direction of audio keeps. Nothing here does I/O except the
//! `/proc` readers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The value at quantile `q` (0..1) of `v`, nearest rank; `None` for no values.
pub fn quantile(v: &mut [f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
    Some(v[i])
}

/// p50, p95 and max of `v` (milliseconds or whatever `v` holds), rounded to 0.1.
pub fn summary(mut v: Vec<f64>) -> serde_json::Value {
    let r = |x: Option<f64>| x.map(|x| (x * 10.0).round() / 10.0);
    serde_json::json!({
        "n": v.len(),
        "p50": r(quantile(&mut v, 0.5)),
        "p95": r(quantile(&mut v, 0.95)),
        "max": r(quantile(&mut v, 1.0)),
    })
}

/// One direction of audio (customer to agent, or agent to customer), summed over every call.
/// Only packets sent inside the measurement window count, on both sides: a packet is matched
/// to its send time by the timestamp in its payload, so packets in flight at the window's
/// edges count neither as sent nor as lost.
#[derive(Default)]
pub struct Direction {
    pub sent: AtomicU64,
    pub received: AtomicU64,
    /// One-way times of the packets received, in microseconds.
    latency_us: Mutex<Vec<u32>>,
}

impl Direction {
    pub fn count_sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_received(&self, latency_us: u64) {
        self.received.fetch_add(1, Ordering::Relaxed);
        let mut l = self.latency_us.lock().unwrap_or_else(|p| p.into_inner());
        l.push(latency_us.min(u32::MAX as u64) as u32);
    }

    /// sent, received, lost, loss % and one-way latency percentiles (microseconds).
    pub fn report(&self) -> serde_json::Value {
        let sent = self.sent.load(Ordering::Relaxed);
        let received = self.received.load(Ordering::Relaxed);
        let lost = sent.saturating_sub(received);
        let mut l: Vec<f64> = self
            .latency_us
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|&x| x as f64)
            .collect();
        serde_json::json!({
            "sent": sent,
            "received": received,
            "lost": lost,
            "loss_percent": if sent > 0 { (lost as f64 * 1e5 / sent as f64).round() / 1e3 } else { 0.0 },
            "latency_us": {
                "p50": quantile(&mut l, 0.5),
                "p99": quantile(&mut l, 0.99),
                "max": quantile(&mut l, 1.0),
            },
        })
    }
}

/// CPU time (user + system) a process has used, in seconds; `pid` None: this process.
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".into(),
    };
    parse_stat_cpu(&std::fs::read_to_string(path).ok()?)
}

/// utime + stime of a `/proc/PID/stat` line, in seconds (the kernel's 100 ticks a second).
pub fn parse_stat_cpu(stat: &str) -> Option<f64> {
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let after = stat.get(stat.rfind(')')? + 2..)?;
    let f: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// (VmRSS, VmHWM) of a process in KiB: resident memory now and at its peak.
pub fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// The sum of every sample of `name` (any labels) whose labels contain `with` (e.g.
/// `kind="final"`, or "" for all), in Prometheus text.
pub fn metric_sum(text: &str, name: &str, with: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            let bare = key.split('{').next()?;
            (bare == name && key.contains(with)).then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

/// Cumulative bucket counts of histogram `name`: (upper bound, count), ascending.
fn buckets(text: &str, name: &str) -> Vec<(f64, f64)> {
    let prefix = format!("{name}_bucket{{le=\"");
    let mut v: Vec<(f64, f64)> = text
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(&prefix)?;
            let (le, tail) = rest.split_once("\"}")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, tail.trim().parse().ok()?))
        })
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v
}

/// The speech pipeline over the window, from two scrapes of the server's /metrics: finals
/// emitted, finals and partials dropped (the recognisers did not keep up), finals rejected
/// by the guards, and the final latency (mean, and p50/p95 as bucket upper bounds).
pub fn speech_report(before: &str, after: &str) -> serde_json::Value {
    let d = |name: &str, with: &str| metric_sum(after, name, with) - metric_sum(before, name, with);
    let latency = "switchboard_asr_final_latency_seconds";
    let count = d(&format!("{latency}_count"), "");
    let sum = d(&format!("{latency}_sum"), "");
    let (b0, b1) = (buckets(before, latency), buckets(after, latency));
    let q = |q: f64| -> Option<f64> {
        if count <= 0.0 {
            return None;
        }
        b1.iter()
            .zip(b0.iter().chain(std::iter::repeat(&(0.0, 0.0))))
            .find(|((_, c1), (_, c0))| c1 - c0 >= q * count)
            .map(|((le, _), _)| *le)
    };
    serde_json::json!({
        "finals": d("switchboard_utterances_total", ""),
        "finals_dropped": d("switchboard_asr_dropped_jobs_total", "kind=\"final\""),
        "partials_dropped": d("switchboard_asr_dropped_jobs_total", "kind=\"partial\""),
        "finals_rejected": d("switchboard_asr_rejected_total", ""),
        "retries": d("switchboard_asr_retries_total", ""),
        "final_latency_s": {
            "n": count,
            "mean": (count > 0.0).then(|| (sum / count * 1000.0).round() / 1000.0),
            "p50_at_most": q(0.5),
            "p95_at_most": q(0.95),
        },
        "queue_depth_at_end": metric_sum(after, "switchboard_asr_queue_depth", ""),
        "streams_at_end": metric_sum(after, "switchboard_speech_streams", ""),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn speech_figures_are_differences_of_two_scrapes() {
        let before = "# HELP x\nswitchboard_utterances_total{emotion=\"calm\"} 2\n\
            switchboard_asr_dropped_jobs_total{kind=\"final\"} 1\n\
            switchboard_asr_final_latency_seconds_bucket{le=\"0.5\"} 1\n\
            switchboard_asr_final_latency_seconds_bucket{le=\"1\"} 2\n\
            switchboard_asr_final_latency_seconds_bucket{le=\"+Inf\"} 2\n\
            switchboard_asr_final_latency_seconds_sum 1.2\n\
            switchboard_asr_final_latency_seconds_count 2\n";
        let after = "switchboard_utterances_total{emotion=\"calm\"} 5\n\
            switchboard_utterances_total{emotion=\"angry\"} 1\n\
            switchboard_asr_dropped_jobs_total{kind=\"final\"} 1\n\
            switchboard_asr_dropped_jobs_total{kind=\"partial\"} 7\n\
            switchboard_asr_final_latency_seconds_bucket{le=\"0.5\"} 2\n\
            switchboard_asr_final_latency_seconds_bucket{le=\"1\"} 4\n\
            switchboard_asr_final_latency_seconds_bucket{le=\"+Inf\"} 6\n\
            switchboard_asr_final_latency_seconds_sum 9.2\n\
            switchboard_asr_final_latency_seconds_count 6\n";
        let r = super::speech_report(before, after);
        assert_eq!(r["finals"], 4.0);
        assert_eq!(r["finals_dropped"], 0.0);
        assert_eq!(r["partials_dropped"], 7.0);
        assert_eq!(r["final_latency_s"]["n"], 4.0);
        assert_eq!(r["final_latency_s"]["mean"], 2.0);
        // 1 of 4 new finals within 0.5 s, 2 within 1 s, all 4 only in +Inf.
        assert_eq!(r["final_latency_s"]["p50_at_most"], 1.0);
        assert!(r["final_latency_s"]["p95_at_most"].is_null()); // +Inf is not JSON
    }

    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&mut v, 0.5), Some(51.0));
        assert_eq!(quantile(&mut v, 0.99), Some(99.0));
        assert_eq!(quantile(&mut v, 1.0), Some(100.0));
        assert_eq!(quantile(&mut [], 0.5), None);
    }

    #[test]
    fn stat_cpu_skips_a_command_name_with_spaces() {
        let line = "1234 (my (odd) name) S 1 2 3 4 5 6 7 8 9 10 250 150 0 0 20 0";
        assert_eq!(parse_stat_cpu(line), Some(4.0));
        assert_eq!(parse_stat_cpu("garbage"), None);
    }

    #[test]
    fn a_direction_counts_loss() {
        let d = Direction::default();
        for _ in 0..10 {
            d.count_sent();
        }
        for us in [100, 200, 300, 400, 500, 600, 700, 800, 900] {
            d.count_received(us);
        }
        let r = d.report();
        assert_eq!(r["lost"], 1);
        assert_eq!(r["loss_percent"], 10.0);
        assert_eq!(r["latency_us"]["p50"], 500.0);
    }
}
