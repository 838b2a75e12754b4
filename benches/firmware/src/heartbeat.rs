//! Watchdog/heartbeat: a `Ticker` drives liveness checks of the periodic
//! tasks, feeds the independent watchdog while they all make progress and
//! blinks the status LED.

use core::sync::atomic::Ordering;

use embassy_time::{Duration, Ticker, Timer};

use crate::hw::{GPIOA, IWDG, LED_PIN};
use crate::shared::*;

/// Beats without progress after which a task counts as stuck.
const STUCK_LIMIT: u8 = 8;

#[embassy_executor::task]
pub async fn heartbeat_task(period: Duration) {
    // ~2 s at 32 kHz / 16.
    IWDG.start(2, 4000);
    let mut ticker = Ticker::every(period);
    let mut last = [0u32; alive::COUNT];
    let mut stalled = [0u8; alive::COUNT];
    let mut beat: u32 = 0;

    loop {
        ticker.next().await;
        beat = beat.wrapping_add(1);

        let mut healthy = true;
        for (i, counter) in alive::ALIVE.iter().enumerate() {
            // The logger only runs when there is something to log.
            if i == alive::LOGGER {
                continue;
            }
            let now = counter.load(Ordering::Relaxed);
            if now == last[i] {
                stalled[i] = stalled[i].saturating_add(1);
                if stalled[i] > STUCK_LIMIT {
                    healthy = false;
                }
            } else {
                stalled[i] = 0;
                last[i] = now;
            }
        }
        if healthy {
            IWDG.feed();
        }

        // One blink when healthy, three while an alarm is active, none when
        // stuck (the watchdog is about to reset us).
        let alarm = LATEST.lock(|l| l.get().iter().any(|r| r.alarm));
        let blinks = match (healthy, alarm) {
            (false, _) => 0,
            (true, false) => (beat % 4 == 0) as u32,
            (true, true) => 3,
        };
        for _ in 0..blinks {
            GPIOA.set(LED_PIN, true);
            Timer::after_millis(20).await;
            GPIOA.set(LED_PIN, false);
            Timer::after_millis(40).await;
        }
    }
}
