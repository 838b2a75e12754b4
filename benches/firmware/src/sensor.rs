//! Sensor polling over SPI: one task instance per bus (`pool_size = 2`).
//!
//! The read path is three async levels deep:
//! `read_sensor().await` -> `transfer().await` -> `wait_ready().await`,
//! with the transfer buffers and the configuration held across every level.

use embassy_time::{Duration, Instant, Timer, with_timeout};

use crate::hw::SpiBus;
use crate::hw::spi_bits::*;
use crate::shared::*;

const CMD_CONVERT: u8 = 0x40;
const CMD_READ: u8 = 0x80;
const ACK: u8 = 0xA5;
const MAX_BURST: usize = 16;

#[derive(Clone, Copy)]
pub struct SensorConfig {
    pub index: u8,
    pub channel: u8,
    /// Samples read back per conversion (averaged).
    pub burst: u8,
    pub conversion_us: u32,
    /// Calibration: value = (raw + offset) * gain_q8 / 256.
    pub offset: i16,
    pub gain_q8: i16,
    /// Per-byte bus timeout.
    pub timeout: Duration,
}

#[derive(Clone, Copy, Debug)]
#[repr(u8)]
pub enum BusError {
    Timeout = 1,
    Fault = 2,
    Nak = 3,
    Range = 4,
}

#[embassy_executor::task(pool_size = 2)]
pub async fn sensor_task(bus: &'static SpiBus, cfg: SensorConfig) {
    bus.init(3);
    let who = if cfg.index == 0 {
        alive::SENSOR0
    } else {
        alive::SENSOR1
    };
    let mut seq: u16 = 0;
    let mut failures: u32 = 0;
    let mut next = Instant::now();

    loop {
        let period = SENSOR_PERIOD_MS.load(core::sync::atomic::Ordering::Relaxed);
        next += Duration::from_millis(period as u64);
        Timer::at(next).await;
        alive::beat(who);

        match read_sensor(bus, &cfg).await {
            Ok((value, spread)) => {
                failures = 0;
                SAMPLES
                    .send(Sample {
                        sensor: cfg.index,
                        seq,
                        value,
                        spread,
                        at: Instant::now(),
                    })
                    .await;
                seq = seq.wrapping_add(1);
            }
            Err(error) => {
                failures += 1;
                counters::bump(&counters::SENSOR_ERRORS);
                bus.recover();
                if failures == 3 || failures % 64 == 0 {
                    LOG.send(LogRecord::SensorFault {
                        sensor: cfg.index,
                        error: error as u8,
                        failures,
                    })
                    .await;
                }
                // Back off before the next attempt.
                Timer::after_millis(5 * failures.min(20) as u64).await;
                next = Instant::now();
            }
        }
    }
}

/// Level 1: start a conversion, wait for it, read back a burst of samples
/// and return the calibrated mean and the spread.
async fn read_sensor(bus: &SpiBus, cfg: &SensorConfig) -> Result<(i16, u16), BusError> {
    let mut tx = [0u8; 2 + 2 * MAX_BURST];
    let mut rx = [0u8; 2 + 2 * MAX_BURST];

    tx[0] = CMD_CONVERT | (cfg.channel & 0x0F);
    tx[1] = cfg.burst;
    transfer(bus, &tx[..2], &mut rx[..2], cfg.timeout).await?;
    if rx[1] != ACK {
        return Err(BusError::Nak);
    }

    Timer::after_micros(cfg.conversion_us as u64).await;

    let burst = (cfg.burst as usize).clamp(1, MAX_BURST);
    let n = 2 + 2 * burst;
    tx[..n].fill(0);
    tx[0] = CMD_READ | (cfg.channel & 0x0F);
    transfer(bus, &tx[..n], &mut rx[..n], cfg.timeout).await?;
    if rx[1] != ACK {
        return Err(BusError::Nak);
    }

    let mut sum: i32 = 0;
    let mut min = i16::MAX;
    let mut max = i16::MIN;
    for pair in rx[2..n].chunks_exact(2) {
        let raw = i16::from_be_bytes([pair[0], pair[1]]);
        sum += raw as i32;
        min = min.min(raw);
        max = max.max(raw);
    }
    let mean = sum / burst as i32;
    let value = (mean + cfg.offset as i32) * cfg.gain_q8 as i32 / 256;
    if !(i16::MIN as i32..=i16::MAX as i32).contains(&value) {
        return Err(BusError::Range);
    }
    Ok((value as i16, (max as i32 - min as i32) as u16))
}

/// Level 2: one full-duplex transfer with chip select held low.
async fn transfer(
    bus: &SpiBus,
    tx: &[u8],
    rx: &mut [u8],
    timeout: Duration,
) -> Result<(), BusError> {
    bus.cs_low();
    for (out, slot) in tx.iter().zip(rx.iter_mut()) {
        if let Err(e) = wait_ready(bus, SR_TXE, CR2_TXEIE, timeout).await {
            bus.cs_high();
            return Err(e);
        }
        bus.dr().write(*out as u32);
        if let Err(e) = wait_ready(bus, SR_RXNE, CR2_RXNEIE, timeout).await {
            bus.cs_high();
            return Err(e);
        }
        *slot = bus.dr().read() as u8;
    }
    // Wait for the last frame to leave the shift register.
    let mut spins = 0;
    while bus.sr().read() & SR_BSY != 0 && spins < 1000 {
        spins += 1;
    }
    bus.cs_high();
    Ok(())
}

/// Level 3: wait for a status flag, sleeping on the bus interrupt, bounded
/// by `timeout`.
async fn wait_ready(bus: &SpiBus, flag: u32, irq: u32, timeout: Duration) -> Result<(), BusError> {
    loop {
        let sr = bus.sr().read();
        if sr & (SR_MODF | SR_OVR) != 0 {
            return Err(BusError::Fault);
        }
        if sr & flag != 0 {
            return Ok(());
        }
        bus.event.reset();
        bus.cr2().set_bits(irq | CR2_ERRIE);
        if with_timeout(timeout, bus.event.wait()).await.is_err() {
            bus.cr2().clear_bits(irq | CR2_ERRIE);
            return Err(BusError::Timeout);
        }
    }
}
