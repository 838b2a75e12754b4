//! Channels, signals and shared state between the tasks.

use core::cell::Cell;
use core::sync::atomic::{AtomicI32, AtomicU32, Ordering};

use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;
use embassy_time::Instant;

pub type Cs = CriticalSectionRawMutex;

pub const SENSOR_COUNT: usize = 2;

/// Largest decoded (un-SLIPped) frame: addr, cmd, seq, up to 91 payload bytes, crc16.
pub const MAX_FRAME: usize = 96;

/// One decoded frame, as the UART receive task hands it to the protocol task.
#[derive(Clone)]
pub struct Frame {
    len: u8,
    data: [u8; MAX_FRAME],
}

impl Frame {
    pub const fn new() -> Self {
        Self {
            len: 0,
            data: [0; MAX_FRAME],
        }
    }
    pub fn push(&mut self, byte: u8) -> bool {
        let len = self.len as usize;
        if len == MAX_FRAME {
            return false;
        }
        self.data[len] = byte;
        self.len += 1;
        true
    }
    pub fn clear(&mut self) {
        self.len = 0;
    }
    pub fn len(&self) -> usize {
        self.len as usize
    }
    pub fn as_slice(&self) -> &[u8] {
        &self.data[..self.len as usize]
    }
}

/// One measurement from a sensor task.
#[derive(Clone, Copy)]
pub struct Sample {
    pub sensor: u8,
    pub seq: u16,
    pub value: i16,
    pub spread: u16,
    pub at: Instant,
}

/// What the monitor publishes for the protocol handler to report.
#[derive(Clone, Copy)]
pub struct Reading {
    pub value: i16,
    pub average: i16,
    pub at_ms: u32,
    pub stale: bool,
    pub alarm: bool,
}

impl Reading {
    pub const NONE: Reading = Reading {
        value: 0,
        average: 0,
        at_ms: 0,
        stale: true,
        alarm: false,
    };
}

/// A record for the flash log.
#[derive(Clone, Copy)]
pub enum LogRecord {
    Boot {
        cause: u32,
    },
    Config {
        key: u8,
        len: u8,
        value: [u8; 16],
    },
    Alarm {
        sensor: u8,
        value: i16,
        average: i16,
    },
    SensorTimeout {
        missed: u16,
    },
    SensorFault {
        sensor: u8,
        error: u8,
        failures: u32,
    },
    ProtocolError {
        code: u8,
        seq: u8,
    },
}

/// UART receive task -> protocol task.
pub static FRAMES: Channel<Cs, Frame, 2> = Channel::new();
/// Sensor tasks -> monitor task.
pub static SAMPLES: Channel<Cs, Sample, 4> = Channel::new();
/// Everyone -> logger task.
pub static LOG: Channel<Cs, LogRecord, 4> = Channel::new();

/// Latest reading per sensor, written by the monitor, read by the protocol handler.
pub static LATEST: Mutex<Cs, Cell<[Reading; SENSOR_COUNT]>> =
    Mutex::new(Cell::new([Reading::NONE; SENSOR_COUNT]));

/// Runtime configuration, written by the protocol handler.
pub static SENSOR_PERIOD_MS: AtomicU32 = AtomicU32::new(100);
pub static ALARM_THRESHOLD: AtomicI32 = AtomicI32::new(850);

/// Liveness counters checked by the heartbeat task.
pub mod alive {
    use super::*;
    pub const SENSOR0: usize = 0;
    pub const SENSOR1: usize = 1;
    pub const MONITOR: usize = 2;
    pub const LOGGER: usize = 3;
    pub const COUNT: usize = 4;
    pub static ALIVE: [AtomicU32; COUNT] = [const { AtomicU32::new(0) }; COUNT];

    #[inline]
    pub fn beat(who: usize) {
        ALIVE[who].fetch_add(1, Ordering::Relaxed);
    }
}

/// Error and traffic counters reported by the STATUS command.
pub mod counters {
    use super::*;
    pub static RX_FRAMES: AtomicU32 = AtomicU32::new(0);
    pub static RX_DROPPED: AtomicU32 = AtomicU32::new(0);
    pub static PROTO_ERRORS: AtomicU32 = AtomicU32::new(0);
    pub static SENSOR_ERRORS: AtomicU32 = AtomicU32::new(0);
    pub static LOG_WRITES: AtomicU32 = AtomicU32::new(0);

    #[inline]
    pub fn bump(c: &AtomicU32) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}
