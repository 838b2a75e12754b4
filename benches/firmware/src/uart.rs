//! Interrupt-driven USART: async read/write on top of the IRQ signals, and the
//! receive driver task that SLIP-decodes the byte stream into frames.

use core::sync::atomic::Ordering;

use crate::hw::Usart;
use crate::hw::usart_bits::*;
use crate::shared::{FRAMES, Frame, counters};

pub const SLIP_END: u8 = 0xC0;
pub const SLIP_ESC: u8 = 0xDB;
pub const SLIP_ESC_END: u8 = 0xDC;
pub const SLIP_ESC_ESC: u8 = 0xDD;

/// Smallest frame worth handing on: addr, cmd, seq, crc16.
const MIN_FRAME: usize = 5;

impl Usart {
    /// Reads bytes into `buf` until the line goes idle after at least one
    /// byte, or `buf` is full. Returns the number of bytes read.
    pub async fn read_until_idle(&self, buf: &mut [u8]) -> usize {
        let mut n = 0;
        loop {
            while n < buf.len() && self.sr().read() & SR_RXNE != 0 {
                buf[n] = self.dr().read() as u8;
                n += 1;
            }
            if n == buf.len() {
                return n;
            }
            self.rx_event.reset();
            self.cr1().set_bits(CR1_RXNEIE | CR1_IDLEIE);
            let sr = self.rx_event.wait().await;
            if sr & SR_ORE != 0 {
                // SR then DR read clears the overrun; the byte is lost.
                let _ = self.dr().read();
                self.overruns.fetch_add(1, Ordering::Relaxed);
            }
            if sr & SR_IDLE != 0 && n > 0 && sr & SR_RXNE == 0 {
                return n;
            }
        }
    }

    /// Writes every byte of `data`, sleeping on TXE, then waits for the
    /// transmission to complete.
    pub async fn write_all(&self, data: &[u8]) {
        for &byte in data {
            if self.sr().read() & SR_TXE == 0 {
                self.tx_event.reset();
                self.cr1().set_bits(CR1_TXEIE);
                self.tx_event.wait().await;
            }
            self.dr().write(byte as u32);
        }
        if self.sr().read() & SR_TC == 0 {
            self.tx_event.reset();
            self.cr1().set_bits(CR1_TCIE);
            self.tx_event.wait().await;
        }
    }
}

/// UART receive driver: reads bursts of bytes, SLIP-decodes them and sends
/// every complete frame to the protocol handler.
#[embassy_executor::task]
pub async fn uart_rx_task(uart: &'static Usart) {
    let mut chunk = [0u8; 64];
    let mut frame = Frame::new();
    let mut escaped = false;
    let mut dropping = false;

    loop {
        let n = uart.read_until_idle(&mut chunk).await;
        for &byte in &chunk[..n] {
            let was_escaped = core::mem::replace(&mut escaped, false);
            let decoded = match (was_escaped, byte) {
                (false, SLIP_END) => {
                    if !dropping && frame.len() >= MIN_FRAME {
                        counters::bump(&counters::RX_FRAMES);
                        // Back-pressure: wait for the protocol task to take it.
                        FRAMES.send(frame.clone()).await;
                    } else if dropping {
                        counters::bump(&counters::RX_DROPPED);
                    }
                    frame.clear();
                    dropping = false;
                    None
                }
                (false, SLIP_ESC) => {
                    escaped = true;
                    None
                }
                (false, b) => Some(b),
                (true, SLIP_ESC_END) => Some(SLIP_END),
                (true, SLIP_ESC_ESC) => Some(SLIP_ESC),
                (true, _) => {
                    // Invalid escape: drop the rest of this frame.
                    dropping = true;
                    None
                }
            };
            if let Some(b) = decoded {
                if !dropping && !frame.push(b) {
                    dropping = true;
                }
            }
        }
    }
}

/// SLIP-encodes `data` into `out`, returning the encoded length, or `None`
/// when `out` is too small.
pub fn slip_encode(data: &[u8], out: &mut [u8]) -> Option<usize> {
    let mut n = 0;
    let mut put = |b: u8| -> Option<()> {
        *out.get_mut(n)? = b;
        n += 1;
        Some(())
    };
    put(SLIP_END)?;
    for &b in data {
        match b {
            SLIP_END => {
                put(SLIP_ESC)?;
                put(SLIP_ESC_END)?;
            }
            SLIP_ESC => {
                put(SLIP_ESC)?;
                put(SLIP_ESC_ESC)?;
            }
            _ => put(b)?,
        }
    }
    put(SLIP_END)?;
    Some(n)
}
