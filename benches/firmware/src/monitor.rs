//! Monitor: receives samples with a timeout (`select` between a channel
//! receive and a `Timer`), keeps a history per sensor, publishes averages and
//! raises alarms.

use embassy_futures::select::{Either, select};
use embassy_time::{Duration, Instant, Timer};

use crate::shared::*;

const HISTORY: usize = 32;
const HYSTERESIS: i32 = 25;

#[embassy_executor::task]
pub async fn monitor_task(timeout: Duration) {
    // 2 x 32 x i16 of history held across every await.
    let mut history = [[0i16; HISTORY]; SENSOR_COUNT];
    let mut head = [0usize; SENSOR_COUNT];
    let mut filled = [0usize; SENSOR_COUNT];
    let mut next_seq = [0u16; SENSOR_COUNT];
    let mut alarmed = [false; SENSOR_COUNT];
    let mut missed: u16 = 0;

    loop {
        match select(SAMPLES.receive(), Timer::after(timeout)).await {
            Either::First(sample) => {
                missed = 0;
                let i = sample.sensor as usize % SENSOR_COUNT;
                if sample.seq != next_seq[i] {
                    counters::bump(&counters::SENSOR_ERRORS);
                }
                next_seq[i] = sample.seq.wrapping_add(1);

                history[i][head[i]] = sample.value;
                head[i] = (head[i] + 1) % HISTORY;
                filled[i] = (filled[i] + 1).min(HISTORY);
                let average = mean(&history[i][..filled[i]]);

                let threshold = ALARM_THRESHOLD.load(core::sync::atomic::Ordering::Relaxed);
                let raise = !alarmed[i] && average as i32 > threshold && sample.spread < 200;
                if raise {
                    alarmed[i] = true;
                } else if alarmed[i] && (average as i32) < threshold - HYSTERESIS {
                    alarmed[i] = false;
                }

                let at_ms = sample.at.as_millis() as u32;
                let alarm = alarmed[i];
                LATEST.lock(|latest| {
                    let mut all = latest.get();
                    all[i] = Reading {
                        value: sample.value,
                        average,
                        at_ms,
                        stale: false,
                        alarm,
                    };
                    latest.set(all);
                });

                if raise {
                    LOG.send(LogRecord::Alarm {
                        sensor: sample.sensor,
                        value: sample.value,
                        average,
                    })
                    .await;
                }
            }
            Either::Second(()) => {
                missed = missed.saturating_add(1);
                let now_ms = Instant::now().as_millis() as u32;
                LATEST.lock(|latest| {
                    let mut all = latest.get();
                    for r in all.iter_mut() {
                        if now_ms.wrapping_sub(r.at_ms) > timeout.as_millis() as u32 {
                            r.stale = true;
                        }
                    }
                    latest.set(all);
                });
                if missed == 3 {
                    LOG.send(LogRecord::SensorTimeout { missed }).await;
                }
            }
        }
        alive::beat(alive::MONITOR);
    }
}

fn mean(values: &[i16]) -> i16 {
    if values.is_empty() {
        return 0;
    }
    let sum: i32 = values.iter().map(|&v| v as i32).sum();
    (sum / values.len() as i32) as i16
}
