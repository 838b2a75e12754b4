//! Framing/protocol handler: validates frames from the UART receive task,
//! dispatches on the command byte and answers over the UART.
//!
//! Request:  addr, cmd, seq, payload..., crc16 (little endian)
//! Response: addr | 0x80, status, seq, payload..., crc16, SLIP-encoded.

use core::sync::atomic::Ordering;

use embassy_futures::join::join;
use embassy_time::{Instant, Timer};

use crate::hw::{ADC1, ADC2, Adc, FLASH, Usart};
use crate::logger::{LOG_BASE, LOG_SIZE};
use crate::shared::*;
use crate::uart::slip_encode;

pub const BROADCAST: u8 = 0xFF;

const CMD_PING: u8 = 0x01;
const CMD_READ_SENSOR: u8 = 0x02;
const CMD_WRITE_CONFIG: u8 = 0x03;
const CMD_READ_LOG: u8 = 0x04;
const CMD_STATUS: u8 = 0x05;
const CMD_ECHO: u8 = 0x06;
const CMD_RESET: u8 = 0x07;

const CFG_SENSOR_PERIOD: u8 = 1;
const CFG_ALARM_THRESHOLD: u8 = 2;
const CFG_LABEL: u8 = 3;

const FIRMWARE_VERSION: [u8; 4] = [1, 4, 2, 0];

#[derive(Clone, Copy, PartialEq)]
#[repr(u8)]
pub enum Status {
    Ok = 0,
    BadCrc = 1,
    UnknownCommand = 2,
    BadArgument = 3,
}

/// Largest response payload that fits the response buffer.
const MAX_RESPONSE_PAYLOAD: usize = 72;

#[embassy_executor::task]
pub async fn protocol_task(uart: &'static Usart, my_addr: u8) {
    loop {
        let frame = FRAMES.receive().await;
        let bytes = frame.as_slice();
        let (body, crc) = bytes.split_at(bytes.len() - 2);
        let addr = body[0];
        let cmd = body[1];
        let seq = body[2];
        let payload = &body[3..];

        if addr != my_addr && addr != BROADCAST {
            continue;
        }
        if crc16(body) != u16::from_le_bytes([crc[0], crc[1]]) {
            counters::bump(&counters::PROTO_ERRORS);
            LOG.send(LogRecord::ProtocolError {
                code: Status::BadCrc as u8,
                seq,
            })
            .await;
            reply(uart, my_addr, seq, Status::BadCrc, &[]).await;
            continue;
        }

        match cmd {
            CMD_PING => reply(uart, my_addr, seq, Status::Ok, &FIRMWARE_VERSION).await,

            CMD_READ_SENSOR => {
                let index = payload.first().copied().unwrap_or(0) as usize;
                if index >= SENSOR_COUNT {
                    reply(uart, my_addr, seq, Status::BadArgument, payload).await;
                } else {
                    let r = LATEST.lock(|latest| latest.get()[index]);
                    let age = (Instant::now().as_millis() as u32).wrapping_sub(r.at_ms);
                    let mut out = [0u8; 9];
                    out[0..2].copy_from_slice(&r.value.to_le_bytes());
                    out[2..4].copy_from_slice(&r.average.to_le_bytes());
                    out[4..8].copy_from_slice(&age.to_le_bytes());
                    out[8] = (r.stale as u8) | ((r.alarm as u8) << 1);
                    reply(uart, my_addr, seq, Status::Ok, &out).await;
                }
            }

            CMD_WRITE_CONFIG => match payload.split_first() {
                Some((&key, value)) => match apply_config(key, value) {
                    Ok(()) => {
                        let mut stored = [0u8; 16];
                        let len = value.len().min(16);
                        stored[..len].copy_from_slice(&value[..len]);
                        LOG.send(LogRecord::Config {
                            key,
                            len: len as u8,
                            value: stored,
                        })
                        .await;
                        reply(uart, my_addr, seq, Status::Ok, &[key]).await;
                    }
                    Err(status) => reply(uart, my_addr, seq, status, &[key]).await,
                },
                None => reply(uart, my_addr, seq, Status::BadArgument, &[]).await,
            },

            CMD_READ_LOG => {
                let page = payload.first().copied().unwrap_or(0) as u32;
                if page * 64 >= LOG_SIZE {
                    reply(uart, my_addr, seq, Status::BadArgument, payload).await;
                } else {
                    let mut block = [0u8; 64];
                    FLASH.read(LOG_BASE + page * 64, &mut block);
                    reply(uart, my_addr, seq, Status::Ok, &block).await;
                }
            }

            CMD_STATUS => {
                // Both converters run at once; each averages a burst.
                let (vref, temp) = join(adc_average(&ADC1, 17, 8), adc_average(&ADC2, 16, 8)).await;
                let mut out = [0u8; 28];
                out[0..2].copy_from_slice(&vref.to_le_bytes());
                out[2..4].copy_from_slice(&temp.to_le_bytes());
                let all = [
                    &counters::RX_FRAMES,
                    &counters::RX_DROPPED,
                    &counters::PROTO_ERRORS,
                    &counters::SENSOR_ERRORS,
                    &counters::LOG_WRITES,
                ];
                for (i, c) in all.iter().enumerate() {
                    let v = c.load(Ordering::Relaxed);
                    out[4 + 4 * i..8 + 4 * i].copy_from_slice(&v.to_le_bytes());
                }
                let uptime = Instant::now().as_secs() as u32;
                out[24..28].copy_from_slice(&uptime.to_le_bytes());
                reply(uart, my_addr, seq, Status::Ok, &out).await;
            }

            // The payload is borrowed from the frame across the reply's awaits.
            CMD_ECHO => reply(uart, my_addr, seq, Status::Ok, payload).await,

            CMD_RESET => {
                if addr == BROADCAST {
                    reply(uart, my_addr, seq, Status::BadArgument, &[]).await;
                } else {
                    reply(uart, my_addr, seq, Status::Ok, &[]).await;
                    // Let the logger drain before resetting.
                    Timer::after_millis(20).await;
                    cortex_m::peripheral::SCB::sys_reset();
                }
            }

            _ => {
                counters::bump(&counters::PROTO_ERRORS);
                reply(uart, my_addr, seq, Status::UnknownCommand, &[cmd]).await;
            }
        }
    }
}

fn apply_config(key: u8, value: &[u8]) -> Result<(), Status> {
    match (key, value.len()) {
        (CFG_SENSOR_PERIOD, 2) => {
            let ms = u16::from_le_bytes([value[0], value[1]]) as u32;
            if !(10..=10_000).contains(&ms) {
                return Err(Status::BadArgument);
            }
            SENSOR_PERIOD_MS.store(ms, Ordering::Relaxed);
            Ok(())
        }
        (CFG_ALARM_THRESHOLD, 2) => {
            let t = i16::from_le_bytes([value[0], value[1]]) as i32;
            ALARM_THRESHOLD.store(t, Ordering::Relaxed);
            Ok(())
        }
        (CFG_LABEL, 1..=16) => Ok(()),
        _ => Err(Status::BadArgument),
    }
}

/// Builds, SLIP-encodes and sends one response. Awaited from every arm of
/// the dispatcher; its buffers live across the UART write.
async fn reply(uart: &Usart, addr: u8, seq: u8, status: Status, payload: &[u8]) {
    let payload = &payload[..payload.len().min(MAX_RESPONSE_PAYLOAD)];
    let mut raw = [0u8; MAX_RESPONSE_PAYLOAD + 5];
    raw[0] = addr | 0x80;
    raw[1] = status as u8;
    raw[2] = seq;
    raw[3..3 + payload.len()].copy_from_slice(payload);
    let n = 3 + payload.len();
    let crc = crc16(&raw[..n]);
    raw[n..n + 2].copy_from_slice(&crc.to_le_bytes());

    let mut encoded = [0u8; 2 * (MAX_RESPONSE_PAYLOAD + 5) + 2];
    match slip_encode(&raw[..n + 2], &mut encoded) {
        Some(len) => uart.write_all(&encoded[..len]).await,
        None => counters::bump(&counters::PROTO_ERRORS),
    }
}

/// Averages `samples` conversions of `channel`, polling end-of-conversion
/// with a short sleep between polls.
async fn adc_average(adc: &Adc, channel: u32, samples: u32) -> u16 {
    const SR_EOC: u32 = 1 << 1;
    const CR_SWSTART: u32 = 1 << 30;
    let mut sum = 0u32;
    for _ in 0..samples {
        adc.cr().write(CR_SWSTART | (channel & 0x1F));
        let mut polls = 0;
        while adc.sr().read() & SR_EOC == 0 && polls < 8 {
            Timer::after_micros(50).await;
            polls += 1;
        }
        sum += adc.dr().read() & 0xFFF;
    }
    (sum / samples.max(1)) as u16
}

/// CRC-16/CCITT-FALSE.
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}
