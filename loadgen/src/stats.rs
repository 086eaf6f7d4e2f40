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

#[cfg(test)]
mod tests {
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
