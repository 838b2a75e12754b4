//! The embassy-time driver of this firmware: a 1 kHz SysTick tick.
//!
//! SysTick interrupts once per millisecond (embassy-time is built with
//! `tick-hz-1_000`, so one interrupt is one tick). The handler advances a 64-bit
//! tick count and, when the earliest alarm is due, lets the timer queue wake the
//! expired timers and compute the next alarm. The queue is embassy-time-queue-utils'
//! default `Queue`, which with embassy-executor is the integrated queue: its
//! items live in the task headers, so scheduling a wake never allocates.
//!
//! Everything is behind one critical-section mutex: thread-mode code
//! (`now`, `schedule_wake`) and the SysTick handler never race.

use core::cell::RefCell;
use core::task::Waker;

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_time_driver::{Driver, TICK_HZ};
use embassy_time_queue_utils::Queue;

struct State {
    /// Ticks since boot.
    ticks: u64,
    /// Tick at which the earliest queued timer expires (`u64::MAX`: none).
    alarm_at: u64,
    queue: Queue,
}

pub struct SysTickDriver {
    state: Mutex<CriticalSectionRawMutex, RefCell<State>>,
}

impl SysTickDriver {
    const fn new() -> Self {
        Self {
            state: Mutex::new(RefCell::new(State {
                ticks: 0,
                alarm_at: u64::MAX,
                queue: Queue::new(),
            })),
        }
    }

    /// Called from the SysTick exception, once per tick.
    fn on_tick(&self) {
        self.state.lock(|state| {
            let mut state = state.borrow_mut();
            state.ticks = state.ticks.wrapping_add(1);
            let now = state.ticks;
            if now >= state.alarm_at {
                // Wakes every expired timer and returns the next expiry.
                state.alarm_at = state.queue.next_expiration(now);
            }
        });
    }
}

impl Driver for SysTickDriver {
    fn now(&self) -> u64 {
        self.state.lock(|state| state.borrow().ticks)
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        self.state.lock(|state| {
            let mut state = state.borrow_mut();
            if state.queue.schedule_wake(at, waker) {
                // The queue changed: recompute the alarm. A timer that is
                // already due is woken right here instead of one tick later.
                let now = state.ticks;
                state.alarm_at = state.queue.next_expiration(now);
            }
        });
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver::new());

/// Starts SysTick at `TICK_HZ` from the core clock.
pub fn init(mut syst: SYST, core_clock_hz: u32) {
    let reload = core_clock_hz / TICK_HZ as u32 - 1;
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(reload);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

#[exception]
fn SysTick() {
    DRIVER.on_tick();
}
