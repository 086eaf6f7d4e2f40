//! Business hours of the queues (`[[center.queues]] hours`): when each is open, in its time
//! zone. The call center has no wall clock; a task here tells it when a queue opens or
//! closes (`Input::QueueHours`), checking every [`CHECK_EVERY`].
//!
//! `open` lists periods, each `DAYS HH:MM-HH:MM`: DAYS is a day (`mon`), a range (`mon-fri`,
//! `fri-mon`), a list (`mon,wed,fri`) or `daily`; the end may be `24:00`, and an end before the
//! start runs past midnight into the next day (`fri 22:00-02:00` is Friday night). Times are
//! local to `timezone` (an IANA name; UTC when absent), daylight saving included.

use signaling::center::routing::Hours;
use std::time::Duration;

/// How often the hours are looked at.
pub const CHECK_EVERY: Duration = Duration::from_secs(15);

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// One period: on these weekdays (bit 0 Monday), from `start` to `end` (minutes of the day).
#[derive(Clone, Debug, PartialEq)]
struct Period {
    days: u8,
    start: u16,
    end: u16,
}

/// A queue's hours, parsed.
#[derive(Clone, Debug)]
pub struct Schedule {
    tz: jiff::tz::TimeZone,
    periods: Vec<Period>,
}

fn day(name: &str) -> Result<usize, String> {
    DAYS.iter()
        .position(|d| d.eq_ignore_ascii_case(name))
        .ok_or_else(|| format!("{name:?} is not a day (mon, tue, ..., sun)"))
}

fn days(spec: &str) -> Result<u8, String> {
    if spec.eq_ignore_ascii_case("daily") {
        return Ok(0x7f);
    }
    let mut mask = 0u8;
    for part in spec.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a.trim())?, day(b.trim())?);
                let mut d = a;
                loop {
                    mask |= 1 << d;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => mask |= 1 << day(part.trim())?,
        }
    }
    Ok(mask)
}

fn minutes(hhmm: &str) -> Result<u16, String> {
    let bad = || format!("{hhmm:?} is not a time (HH:MM)");
    let (h, m) = hhmm.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m >= 60 || h > 24 || (h == 24 && m > 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn period(spec: &str) -> Result<Period, String> {
    let (d, range) = spec
        .trim()
        .rsplit_once(' ')
        .ok_or_else(|| format!("{spec:?}: expected \"DAYS HH:MM-HH:MM\""))?;
    let (a, b) = range
        .split_once('-')
        .ok_or_else(|| format!("{spec:?}: expected \"DAYS HH:MM-HH:MM\""))?;
    let (start, end) = (minutes(a)?, minutes(b)?);
    if start == end {
        return Err(format!("{spec:?}: the period is empty"));
    }
    Ok(Period {
        days: days(d.trim())?,
        start,
        end,
    })
}

impl Schedule {
    pub fn parse(h: &Hours) -> Result<Self, String> {
        let tz = match h.timezone.as_deref() {
            None => jiff::tz::TimeZone::UTC,
            Some(name) => {
                jiff::tz::TimeZone::get(name).map_err(|e| format!("timezone {name:?}: {e}"))?
            }
        };
        if h.open.is_empty() {
            return Err("hours need at least one period in `open`".into());
        }
        let periods = h.open.iter().map(|p| period(p)).collect::<Result<_, _>>()?;
        Ok(Self { tz, periods })
    }

    /// Whether the queue is open at `at`.
    pub fn is_open(&self, at: jiff::Timestamp) -> bool {
        let local = at.to_zoned(self.tz.clone());
        let today = local.weekday().to_monday_zero_offset() as u8;
        let yesterday = (today + 6) % 7;
        let now = local.hour() as u16 * 60 + local.minute() as u16;
        self.periods.iter().any(|p| {
            let on = |d: u8| p.days & (1 << d) != 0;
            if p.start < p.end {
                on(today) && (p.start..p.end).contains(&now)
            } else {
                // Past midnight: the evening of a listed day, or the morning after it.
                (on(today) && now >= p.start) || (on(yesterday) && now < p.end)
            }
        })
    }
}

/// Tell the center whenever a queue with hours opens or closes (and once at start).
pub async fn run(app: std::sync::Weak<crate::app::App>) {
    // What the center was last told of each queue with hours. A queue whose hours are
    // removed is opened by the center itself (`Input::SetQueues`).
    let mut known: std::collections::HashMap<String, bool> = Default::default();
    loop {
        let Some(a) = app.upgrade() else { return };
        let now = jiff::Timestamp::now();
        let queues = a.queues();
        for q in queues.iter() {
            let Some(hours) = &q.hours else { continue };
            // Checked when the rules were saved; open rather than shut by a bad one.
            let open = Schedule::parse(hours).map_or(true, |s| s.is_open(now));
            if known.get(&q.name) != Some(&open) {
                tracing::info!(queue = %q.name, open, "business hours");
                a.center.tell(signaling::center::Input::QueueHours {
                    queue: q.name.clone(),
                    open,
                });
                known.insert(q.name.clone(), open);
            }
        }
        known.retain(|name, _| queues.iter().any(|q| &q.name == name && q.hours.is_some()));
        let changed = a.queues_changed.clone();
        drop(queues);
        drop(a);
        tokio::select! {
            _ = tokio::time::sleep(CHECK_EVERY) => {}
            _ = changed.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(tz: &str, open: &[&str]) -> Schedule {
        Schedule::parse(&Hours {
            timezone: Some(tz.into()),
            open: open.iter().map(|s| s.to_string()).collect(),
        })
        .unwrap()
    }

    fn at(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn weekdays_in_the_queues_time_zone_with_daylight_saving() {
        let s = schedule("Europe/London", &["mon-fri 08:00-18:00", "sat 09:00-13:00"]);
        // Wednesday 2 December 2026: London is on UTC.
        assert!(!s.is_open(at("2026-12-02T07:59:00Z")));
        assert!(s.is_open(at("2026-12-02T08:00:00Z")));
        assert!(s.is_open(at("2026-12-02T17:59:00Z")));
        assert!(!s.is_open(at("2026-12-02T18:00:00Z")));
        // Saturday morning, Sunday never.
        assert!(s.is_open(at("2026-12-05T10:00:00Z")));
        assert!(!s.is_open(at("2026-12-05T13:30:00Z")));
        assert!(!s.is_open(at("2026-12-06T10:00:00Z")));
        // In July London is UTC+1: 07:30 UTC is 08:30 there.
        assert!(s.is_open(at("2026-07-01T07:30:00Z")));
        assert!(!s.is_open(at("2026-07-01T17:30:00Z")));
    }

    #[test]
    fn a_period_past_midnight_belongs_to_the_day_it_starts() {
        let s = schedule("UTC", &["fri 22:00-02:00"]);
        assert!(s.is_open(at("2026-12-04T23:00:00Z"))); // Friday night
        assert!(s.is_open(at("2026-12-05T01:59:00Z"))); // early Saturday
        assert!(!s.is_open(at("2026-12-05T02:00:00Z")));
        assert!(!s.is_open(at("2026-12-04T01:00:00Z"))); // early Friday: Thursday is closed
        let all = schedule("UTC", &["daily 00:00-24:00"]);
        assert!(all.is_open(at("2026-12-06T23:59:59Z")));
        let wrap = schedule("UTC", &["fri-mon 10:00-11:00", "wed 10:00-11:00"]);
        assert!(wrap.is_open(at("2026-12-07T10:30:00Z"))); // Monday
        assert!(!wrap.is_open(at("2026-12-08T10:30:00Z"))); // Tuesday
        assert!(wrap.is_open(at("2026-12-09T10:30:00Z"))); // Wednesday
    }

    #[test]
    fn bad_hours_are_refused_with_a_reason() {
        for (tz, open, says) in [
            (Some("Mars/Olympus"), vec!["mon 08:00-09:00"], "timezone"),
            (None, vec![], "at least one"),
            (None, vec!["mon 8-9"], "not a time"),
            (None, vec!["funday 08:00-09:00"], "not a day"),
            (None, vec!["mon 25:00-26:00"], "not a time"),
            (None, vec!["mon 09:00-09:00"], "empty"),
            (None, vec!["08:00-09:00"], "expected"),
        ] {
            let e = Schedule::parse(&Hours {
                timezone: tz.map(str::to_string),
                open: open.iter().map(|s| s.to_string()).collect(),
            })
            .unwrap_err();
            assert!(e.contains(says), "{open:?}: {e}");
        }
    }
}
