//! Routing at scale: 10,000 waiting contacts and 1,000 agents with skills in 5 queues (each
//! with overflow steps). Measures, in the sans-IO call center alone (no I/O):
//! - a routing decision when an agent becomes free (set available: the best waiting contact
//!   for them is found and offered), and the accept that follows;
//! - a contact arriving while 10,000 wait (admission, its place in the queue, routing);
//! - building the supervisors' dashboard.
//!
//! Medians and 90th percentiles over many events, and how they grow with the queue (1,000,
//! 5,000, 10,000 waiting). `cargo bench -p signaling --bench routing_bench`.

use signaling::center::routing::{OverflowStep, QueueRules, Skills};
use signaling::center::{CallCenter, CenterConfig, Input, Start};
use signaling::protocol::CallerInfo;
use signaling::{AgentId, CallId, ParticipantKind};
use std::time::{Duration, Instant};

const QUEUES: [&str; 5] = ["billing", "technical", "sales", "returns", "general"];

/// A small deterministic generator (no dependency for a benchmark).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn config() -> CenterConfig {
    let queues = QUEUES
        .iter()
        .map(|q| QueueRules {
            name: q.to_string(),
            min_proficiency: 3,
            overflow: if *q == "general" {
                vec![]
            } else {
                vec![
                    OverflowStep {
                        after_s: 30,
                        min_proficiency: Some(1),
                        queue: None,
                    },
                    OverflowStep {
                        after_s: 90,
                        queue: Some("general".into()),
                        min_proficiency: None,
                    },
                ]
            },
            ..Default::default()
        })
        .collect();
    CenterConfig {
        queues,
        wrap_up_s: 0,
        ..Default::default()
    }
}

fn skills(rng: &mut Lcg) -> Skills {
    let mut s = Skills::new();
    for _ in 0..(1 + rng.below(3)) {
        let q = QUEUES[rng.below(QUEUES.len() as u64) as usize];
        s.insert(q.to_string(), 1 + rng.below(5) as u8);
    }
    s
}

fn drain(c: &mut CallCenter) -> Vec<signaling::center::Output> {
    std::iter::from_fn(|| c.poll_output()).collect()
}

fn offered(outs: &[signaling::center::Output]) -> Option<CallId> {
    outs.iter().find_map(|o| match o {
        signaling::center::Output::Notify(
            _,
            signaling::center::Event::CallOffered { call_id, .. },
        ) => Some(call_id.clone()),
        _ => None,
    })
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    v[((v.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e6
}

/// A floor with `agents` agents all on a call and `waiting` contacts waiting.
fn floor(agents: usize, waiting: usize, t0: Instant) -> (CallCenter, Vec<AgentId>, Lcg, usize) {
    let mut rng = Lcg(42);
    let mut c = CallCenter::new(config());
    let mut ids = vec![];
    for i in 0..agents {
        let a = AgentId::from(format!("agent{i}").as_str());
        c.handle(
            t0,
            Input::AgentLogin {
                agent: a.clone(),
                name: format!("Agent {i}"),
                skills: skills(&mut rng),
            },
        )
        .unwrap();
        ids.push(a);
    }
    drain(&mut c);
    let mut n = 0;
    // Each agent takes one contact; then `waiting` more wait.
    for a in &ids {
        c.handle(
            t0,
            Input::SetAvailability {
                agent: a.clone(),
                available: true,
            },
        )
        .unwrap();
        drain(&mut c);
    }
    let total = agents * 2 + waiting;
    while n < total {
        let call = CallId::from(format!("c{n}").as_str());
        let queue = QUEUES[rng.below(QUEUES.len() as u64) as usize];
        c.handle(
            t0,
            Input::StartCall {
                call: call.clone(),
                caller: CallerInfo::default(),
                start: Start {
                    queue: Some(queue.into()),
                    ..Default::default()
                },
            },
        )
        .unwrap();
        for o in drain(&mut c) {
            if let signaling::center::Output::Notify(
                signaling::center::Recipient::Agent(a),
                signaling::center::Event::CallOffered { call_id, .. },
            ) = o
            {
                c.handle(
                    t0,
                    Input::Accept {
                        agent: a,
                        call: call_id,
                    },
                )
                .unwrap();
            }
        }
        drain(&mut c);
        n += 1;
    }
    (c, ids, rng, n)
}

fn main() {
    let agents = 1000;
    println!("routing benchmark: {agents} agents with 1-3 skills of 5 queues (proficiency 1-5), overflow steps; times in µs");
    println!(
        "{:>8} | {:>24} | {:>24} | {:>24}",
        "in queue", "agent free -> offer p50/p90", "arrival p50/p90", "dashboard p50/p90"
    );
    for waiting in [1_000usize, 5_000, 10_000] {
        let t0 = Instant::now();
        let (mut c, ids, mut rng, mut n) = floor(agents, waiting, t0);
        // 30 s later the overflow steps have widened some contacts.
        let now = t0 + Duration::from_secs(45);
        let (mut free, mut arrive, mut dash) = (vec![], vec![], vec![]);
        for i in 0..1000 {
            // An agent hangs up (wrap-up 0: available again) and is offered the next contact.
            let a = &ids[rng.below(ids.len() as u64) as usize];
            let on_call = c.dashboard(now).agents.into_iter().find(|v| {
                &v.agent_id == a && v.state == signaling::protocol::AgentStateName::OnCall
            });
            let Some(call) = on_call.and_then(|v| v.call_id) else {
                continue;
            };
            c.handle(
                now,
                Input::HangUp {
                    call,
                    party: ParticipantKind::Agent,
                    agent: Some(a.clone()),
                },
            )
            .unwrap();
            drain(&mut c);
            let t = Instant::now();
            let _ = c.handle(
                now,
                Input::SetAvailability {
                    agent: a.clone(),
                    available: true,
                },
            );
            let outs = drain(&mut c);
            free.push(t.elapsed());
            if let Some(call) = offered(&outs) {
                c.handle(
                    now,
                    Input::Accept {
                        agent: a.clone(),
                        call,
                    },
                )
                .unwrap();
                drain(&mut c);
            }
            // One contact arrives, keeping the queue as long.
            let call = CallId::from(format!("c{n}").as_str());
            n += 1;
            let t = Instant::now();
            c.handle(
                now,
                Input::StartCall {
                    call,
                    caller: CallerInfo::default(),
                    start: Start {
                        queue: Some(QUEUES[i % QUEUES.len()].into()),
                        ..Default::default()
                    },
                },
            )
            .unwrap();
            drain(&mut c);
            arrive.push(t.elapsed());
            if i % 20 == 0 {
                let t = Instant::now();
                let d = c.dashboard(now);
                dash.push(t.elapsed());
                std::hint::black_box(d);
            }
        }
        println!(
            "{:>8} | {:>11.1} / {:>10.1} | {:>11.1} / {:>10.1} | {:>11.1} / {:>10.1}",
            c.queue_len(),
            pct(&mut free, 0.5),
            pct(&mut free, 0.9),
            pct(&mut arrive, 0.5),
            pct(&mut arrive, 0.9),
            pct(&mut dash, 0.5),
            pct(&mut dash, 0.9),
        );
    }
}
