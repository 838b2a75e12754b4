//! Flash logger: serialises log records into 64-byte blocks, checksums them
//! with an async helper that never suspends (awaited once per chunk, in a
//! loop) and programs them into a ring of flash sectors, sleeping on the
//! flash controller's end-of-operation interrupt.

use embassy_time::{Instant, Timer};

use crate::hw::FlashCtrl;
use crate::hw::flash_bits::*;
use crate::shared::*;

pub const LOG_BASE: u32 = 0x0806_0000;
pub const LOG_SIZE: u32 = 128 * 1024;
const SECTOR_SIZE: u32 = 16 * 1024;
const BLOCK: usize = 64;
const MAGIC: u8 = 0x4C;

#[derive(Clone, Copy, Debug)]
pub enum FlashError {
    Program,
    Operation,
}

#[embassy_executor::task]
pub async fn logger_task(flash: &'static FlashCtrl) {
    let mut block = [0xFFu8; BLOCK];
    let mut write_at = find_end(flash);
    let mut sequence: u32 = 0;

    loop {
        let record = LOG.receive().await;
        alive::beat(alive::LOGGER);

        block.fill(0xFF);
        block[0] = MAGIC;
        block[1..5].copy_from_slice(&sequence.to_le_bytes());
        block[5..9].copy_from_slice(&(Instant::now().as_millis() as u32).to_le_bytes());
        let len = encode(&record, &mut block[10..BLOCK - 4]);
        block[9] = len as u8;

        // Await-free helper, awaited per 16-byte chunk.
        let mut crc = 0xFFFF_FFFF;
        for chunk in block[..BLOCK - 4].chunks(16) {
            crc = crc32_update(crc, chunk).await;
        }
        block[BLOCK - 4..].copy_from_slice(&(!crc).to_le_bytes());

        if (write_at - LOG_BASE) % SECTOR_SIZE == 0 {
            let sector = (write_at - LOG_BASE) / SECTOR_SIZE;
            if flash_erase(flash, sector).await.is_err() {
                counters::bump(&counters::PROTO_ERRORS);
                continue;
            }
        }

        let mut attempts = 0;
        loop {
            match flash_program(flash, write_at, &block).await {
                Ok(()) => break,
                Err(_) if attempts < 2 => {
                    attempts += 1;
                    Timer::after_millis(2).await;
                }
                Err(_) => break,
            }
        }
        counters::bump(&counters::LOG_WRITES);
        write_at += BLOCK as u32;
        if write_at >= LOG_BASE + LOG_SIZE {
            write_at = LOG_BASE;
        }
        sequence = sequence.wrapping_add(1);
    }
}

/// Scans for the first erased block of the log (synchronous, at start-up).
fn find_end(flash: &FlashCtrl) -> u32 {
    let mut head = [0u8; 4];
    let mut addr = LOG_BASE;
    while addr < LOG_BASE + LOG_SIZE {
        flash.read(addr, &mut head);
        if head[0] != MAGIC {
            return addr;
        }
        addr += BLOCK as u32;
    }
    LOG_BASE
}

fn encode(record: &LogRecord, out: &mut [u8]) -> usize {
    match *record {
        LogRecord::Boot { cause } => {
            out[0] = 1;
            out[1..5].copy_from_slice(&cause.to_le_bytes());
            5
        }
        LogRecord::Config { key, len, value } => {
            out[0] = 2;
            out[1] = key;
            out[2] = len;
            out[3..19].copy_from_slice(&value);
            19
        }
        LogRecord::Alarm {
            sensor,
            value,
            average,
        } => {
            out[0] = 3;
            out[1] = sensor;
            out[2..4].copy_from_slice(&value.to_le_bytes());
            out[4..6].copy_from_slice(&average.to_le_bytes());
            6
        }
        LogRecord::SensorTimeout { missed } => {
            out[0] = 4;
            out[1..3].copy_from_slice(&missed.to_le_bytes());
            3
        }
        LogRecord::SensorFault {
            sensor,
            error,
            failures,
        } => {
            out[0] = 5;
            out[1] = sensor;
            out[2] = error;
            out[3..7].copy_from_slice(&failures.to_le_bytes());
            7
        }
        LogRecord::ProtocolError { code, seq } => {
            out[0] = 6;
            out[1] = code;
            out[2] = seq;
            3
        }
    }
}

/// CRC-32 (IEEE, reflected) over one chunk. An async fn without a single
/// await: it completes on its first poll.
async fn crc32_update(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    crc
}

async fn flash_erase(flash: &FlashCtrl, sector: u32) -> Result<(), FlashError> {
    flash.unlock();
    flash.cr().write(CR_SER | ((sector & 0xF) << 3) | CR_STRT);
    let r = wait_done(flash).await;
    flash.cr().clear_bits(CR_SER);
    r
}

async fn flash_program(flash: &FlashCtrl, addr: u32, data: &[u8]) -> Result<(), FlashError> {
    flash.unlock();
    flash.cr().set_bits(CR_PG);
    let mut result = Ok(());
    for (i, word) in data.chunks_exact(4).enumerate() {
        flash.ar().write(addr + 4 * i as u32);
        flash
            .dr()
            .write(u32::from_le_bytes([word[0], word[1], word[2], word[3]]));
        result = wait_done(flash).await;
        if result.is_err() {
            break;
        }
    }
    flash.cr().clear_bits(CR_PG);
    result
}

async fn wait_done(flash: &FlashCtrl) -> Result<(), FlashError> {
    let mut sr = flash.sr().read();
    if sr & SR_BSY != 0 {
        flash.event.reset();
        flash.cr().set_bits(CR_EOPIE | CR_ERRIE);
        sr = flash.event.wait().await;
        flash.cr().clear_bits(CR_EOPIE | CR_ERRIE);
    }
    if sr & SR_PGERR != 0 {
        Err(FlashError::Program)
    } else if sr & SR_OPERR != 0 {
        Err(FlashError::Operation)
    } else {
        Ok(())
    }
}
