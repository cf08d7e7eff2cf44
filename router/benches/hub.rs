//! The topic hub: what one `subscribe` and one `unsubscribe` cost with 1k, 10k and 100k
//! sockets already on the topic, and what a publish to 100k subscribers costs.
//!
//! Run it: `cargo bench -p hyperbun --bench hub`
//!
//! The sockets run over a transport that takes every byte at once (no network, no tasks),
//! with the default `SocketOptions`; see `hyperbun::__private::bench`.
//!
//! - `hub/subscribe/N`: the time of one `subscribe` to a topic with about N subscribers.
//!   Members of the topic leave it in batches (untimed) and join again (timed), in turn, so
//!   the topic keeps between N − 100 and N subscribers.
//! - `hub/unsubscribe/N`: the same, timing the leaving instead; the members leave in turn,
//!   so they are taken from everywhere in the topic, not just its end.
//! - `hub/publish/100000`: one publish of a 32-byte text frame to 100k subscribers; the
//!   throughput is in subscribers per second (one over it is the cost per subscriber).
//!   Every subscriber's queue is written out (untimed) after each publish, so each publish
//!   is a real delivery to an empty queue and no queue ever nears the backpressure limit.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use hyperbun::__private::bench::{Hub, Socket, Subscription};

const TOPIC: &str = "room";

/// Sockets already on the topic.
const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

/// Members that leave and join again between two timings.
const BATCH: usize = 100;

/// The published message.
const TEXT: &str = "a small chat message, 32 bytes..";

/// A member of the topic, with what it keeps to leave it (`None` while it is out).
type Member = (Socket, Option<Subscription>);

/// A hub with `n` sockets on [`TOPIC`].
fn room(n: usize) -> (Hub, Vec<Member>) {
    let hub = Hub::new();
    let members: Vec<Member> = Socket::many(n)
        .into_iter()
        .map(|socket| {
            let subscription = hub.subscribe(TOPIC, &socket);
            (socket, Some(subscription))
        })
        .collect();
    assert_eq!(hub.subscriber_count(TOPIC), n);
    (hub, members)
}

/// Which step of [`churn`] is timed.
#[derive(Clone, Copy, PartialEq)]
enum Timed {
    Leave,
    Join,
}

/// `iters` members of the topic leave it and join again, in turn, in batches of [`BATCH`];
/// returns the time the `timed` step took. `next` is the member to start with.
fn churn(
    hub: &Hub,
    members: &mut [Member],
    next: &mut usize,
    iters: u64,
    timed: Timed,
) -> Duration {
    let mut elapsed = Duration::ZERO;
    let mut left = usize::try_from(iters).expect("iterations fit in usize");
    while left > 0 {
        let batch = left.min(BATCH);
        let start = *next;
        let len = members.len();
        for step in [Timed::Leave, Timed::Join] {
            let clock = Instant::now();
            for i in start..start + batch {
                let (socket, subscription) = &mut members[i % len];
                match step {
                    Timed::Leave => {
                        let held = subscription.take().expect("a member");
                        let left = hub.unsubscribe(black_box(TOPIC), black_box(socket), held);
                        assert!(black_box(left));
                    }
                    Timed::Join => {
                        let joined = hub.subscribe(black_box(TOPIC), black_box(socket));
                        *subscription = Some(black_box(joined));
                    }
                }
            }
            if step == timed {
                elapsed += clock.elapsed();
            }
        }
        *next = (start + batch) % len;
        left -= batch;
    }
    elapsed
}

fn subscribe(c: &mut Criterion) {
    let mut group = c.benchmark_group("hub");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(30);
    group.throughput(Throughput::Elements(1));
    for n in SIZES {
        let (hub, mut members) = room(n);
        let mut next = 0;
        for (name, timed) in [("subscribe", Timed::Join), ("unsubscribe", Timed::Leave)] {
            group.bench_function(BenchmarkId::new(name, n), |b| {
                b.iter_custom(|iters| churn(&hub, &mut members, &mut next, iters, timed));
            });
        }
        assert_eq!(hub.subscriber_count(TOPIC), n, "every member is back");
    }
    group.finish();
}

fn publish(c: &mut Criterion) {
    let n = 100_000;
    let (hub, members) = room(n);
    // Every subscriber gets the frame: 2 bytes of header and the text.
    hub.publish_text(TOPIC, TEXT);
    let written: usize = members.iter().map(|(socket, _)| socket.drain()).sum();
    assert_eq!(
        written,
        n * (2 + TEXT.len()),
        "every subscriber got the frame"
    );

    let mut group = c.benchmark_group("hub");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(20);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function(BenchmarkId::new("publish", n), |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            for _ in 0..iters {
                let clock = Instant::now();
                hub.publish_text(black_box(TOPIC), black_box(TEXT));
                elapsed += clock.elapsed();
                for (socket, _) in &members {
                    socket.drain();
                }
            }
            elapsed
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = subscribe, publish
}
criterion_main!(benches);
