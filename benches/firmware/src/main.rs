//! A firmware-shaped size benchmark: an embassy application for a
//! Cortex-M4F (thumbv7em-none-eabihf) with UART, SPI sensors, a flash log and
//! a watchdog, all on simulated (fake MMIO) hardware. It is built to be
//! measured (`.text`, `.rodata`, task-future statics), never run.

#![no_std]
#![no_main]
#![cfg_attr(feature = "tait-pools", feature(impl_trait_in_assoc_type))]

mod heartbeat;
mod hw;
mod logger;
mod monitor;
mod protocol;
mod sensor;
mod shared;
mod time_driver;
mod uart;

use core::mem::MaybeUninit;

use cortex_m_rt::{entry, exception};
use embassy_executor::Executor;
use embassy_time::Duration;
use panic_halt as _;

use crate::hw::{FLASH, GPIOA, LED_PIN, PCLK_HZ, RESET_CAUSE, SPI1, SPI2, USART1, irqn};
use crate::sensor::SensorConfig;
use crate::shared::{LOG, LogRecord};

const DEVICE_ADDRESS: u8 = 0x21;

static mut EXECUTOR: MaybeUninit<Executor> = MaybeUninit::uninit();

#[entry]
fn main() -> ! {
    let core = cortex_m::Peripherals::take().unwrap();
    time_driver::init(core.SYST, PCLK_HZ);

    USART1.init(PCLK_HZ, 115_200);
    GPIOA.set(LED_PIN, false);

    let cause = RESET_CAUSE.read();
    RESET_CAUSE.write(cause | (1 << 24)); // RMVF: clear the reset flags
    let _ = LOG.try_send(LogRecord::Boot { cause });

    // SAFETY: `main` runs once and never returns; nothing else touches EXECUTOR.
    let executor: &'static mut Executor = unsafe { (*(&raw mut EXECUTOR)).write(Executor::new()) };
    executor.run(|spawner| {
        spawner.spawn(uart::uart_rx_task(&USART1).unwrap());
        spawner.spawn(protocol::protocol_task(&USART1, DEVICE_ADDRESS).unwrap());
        spawner.spawn(
            sensor::sensor_task(
                &SPI1,
                SensorConfig {
                    index: 0,
                    channel: 2,
                    burst: 8,
                    conversion_us: 1_500,
                    offset: -40,
                    gain_q8: 300,
                    timeout: Duration::from_millis(2),
                },
            )
            .unwrap(),
        );
        spawner.spawn(
            sensor::sensor_task(
                &SPI2,
                SensorConfig {
                    index: 1,
                    channel: 0,
                    burst: 16,
                    conversion_us: 4_000,
                    offset: 12,
                    gain_q8: 256,
                    timeout: Duration::from_millis(5),
                },
            )
            .unwrap(),
        );
        spawner.spawn(monitor::monitor_task(Duration::from_millis(500)).unwrap());
        spawner.spawn(heartbeat::heartbeat_task(Duration::from_millis(250)).unwrap());
        spawner.spawn(logger::logger_task(&FLASH).unwrap());
    })
}

/// Device interrupts: without a PAC, cortex-m-rt points every IRQ vector at
/// `DefaultHandler`, which dispatches on the IRQ number.
#[exception]
unsafe fn DefaultHandler(irq: i16) {
    match irq {
        irqn::USART1 => USART1.on_interrupt(),
        irqn::SPI1 => SPI1.on_interrupt(),
        irqn::SPI2 => SPI2.on_interrupt(),
        irqn::FLASH => FLASH.on_interrupt(),
        _ => {}
    }
}
