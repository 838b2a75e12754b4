//! Simulated hardware: one block of fake memory-mapped registers.
//!
//! The "peripherals" are word offsets into `REGS`, a `static mut` array that is
//! only ever touched through `read_volatile`/`write_volatile`, so the compiler
//! must keep every register access (and everything computed from one) exactly
//! as it would for a real MMIO block. The layout and bit names are modelled on
//! an STM32F4 (USART, SPI, FLASH, IWDG, GPIO, ADC).

use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::AtomicU32;

use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::signal::Signal;

const REG_WORDS: usize = 64;

static mut REGS: [u32; REG_WORDS] = [0; REG_WORDS];

/// One 32-bit register of the fake peripheral block.
#[derive(Clone, Copy)]
pub struct Reg(usize);

impl Reg {
    #[inline(always)]
    fn ptr(self) -> *mut u32 {
        debug_assert!(self.0 < REG_WORDS);
        // SAFETY: the offset is inside REGS; only raw pointers are formed.
        unsafe { (&raw mut REGS).cast::<u32>().add(self.0) }
    }

    #[inline(always)]
    pub fn read(self) -> u32 {
        // SAFETY: valid, aligned pointer into REGS.
        unsafe { read_volatile(self.ptr()) }
    }

    #[inline(always)]
    pub fn write(self, value: u32) {
        // SAFETY: valid, aligned pointer into REGS.
        unsafe { write_volatile(self.ptr(), value) }
    }

    #[inline(always)]
    pub fn modify(self, f: impl FnOnce(u32) -> u32) {
        self.write(f(self.read()))
    }

    #[inline(always)]
    pub fn set_bits(self, mask: u32) {
        self.modify(|v| v | mask)
    }

    #[inline(always)]
    pub fn clear_bits(self, mask: u32) {
        self.modify(|v| v & !mask)
    }
}

/// Interrupt numbers as on an STM32F4 (used by `DefaultHandler` to dispatch).
pub mod irqn {
    pub const FLASH: i16 = 4;
    pub const SPI1: i16 = 35;
    pub const SPI2: i16 = 36;
    pub const USART1: i16 = 37;
}

// ---------------------------------------------------------------- USART

pub mod usart_bits {
    pub const SR_ORE: u32 = 1 << 3;
    pub const SR_IDLE: u32 = 1 << 4;
    pub const SR_RXNE: u32 = 1 << 5;
    pub const SR_TC: u32 = 1 << 6;
    pub const SR_TXE: u32 = 1 << 7;
    pub const CR1_RE: u32 = 1 << 2;
    pub const CR1_TE: u32 = 1 << 3;
    pub const CR1_IDLEIE: u32 = 1 << 4;
    pub const CR1_RXNEIE: u32 = 1 << 5;
    pub const CR1_TCIE: u32 = 1 << 6;
    pub const CR1_TXEIE: u32 = 1 << 7;
    pub const CR1_UE: u32 = 1 << 13;
}

/// A USART instance: its registers and the signals its interrupt handler raises.
pub struct Usart {
    base: usize,
    /// Raised by the IRQ handler with the status word when RX needs attention.
    pub rx_event: Signal<CriticalSectionRawMutex, u32>,
    /// Raised by the IRQ handler when the transmitter can take data.
    pub tx_event: Signal<CriticalSectionRawMutex, u32>,
    pub overruns: AtomicU32,
}

impl Usart {
    pub const fn new(base: usize) -> Self {
        Self {
            base,
            rx_event: Signal::new(),
            tx_event: Signal::new(),
            overruns: AtomicU32::new(0),
        }
    }
    pub fn sr(&self) -> Reg {
        Reg(self.base)
    }
    pub fn dr(&self) -> Reg {
        Reg(self.base + 1)
    }
    pub fn brr(&self) -> Reg {
        Reg(self.base + 2)
    }
    pub fn cr1(&self) -> Reg {
        Reg(self.base + 3)
    }

    pub fn init(&self, pclk: u32, baud: u32) {
        use usart_bits::*;
        self.brr().write(pclk.div_ceil(baud));
        self.cr1().write(CR1_UE | CR1_TE | CR1_RE);
    }

    /// Interrupt handler body: mask the sources that fired and wake the task.
    pub fn on_interrupt(&self) {
        use usart_bits::*;
        let sr = self.sr().read();
        let cr1 = self.cr1().read();
        if sr & (SR_RXNE | SR_IDLE | SR_ORE) != 0 && cr1 & (CR1_RXNEIE | CR1_IDLEIE) != 0 {
            self.cr1().clear_bits(CR1_RXNEIE | CR1_IDLEIE);
            self.rx_event.signal(sr);
        }
        if sr & (SR_TXE | SR_TC) != 0 && cr1 & (CR1_TXEIE | CR1_TCIE) != 0 {
            self.cr1().clear_bits(CR1_TXEIE | CR1_TCIE);
            self.tx_event.signal(sr);
        }
    }
}

// ---------------------------------------------------------------- SPI

pub mod spi_bits {
    pub const CR1_SPE: u32 = 1 << 6;
    pub const CR1_MSTR: u32 = 1 << 2;
    pub const CR2_RXNEIE: u32 = 1 << 6;
    pub const CR2_TXEIE: u32 = 1 << 7;
    pub const CR2_ERRIE: u32 = 1 << 5;
    pub const SR_RXNE: u32 = 1 << 0;
    pub const SR_TXE: u32 = 1 << 1;
    pub const SR_MODF: u32 = 1 << 5;
    pub const SR_OVR: u32 = 1 << 6;
    pub const SR_BSY: u32 = 1 << 7;
}

/// An SPI master with a GPIO chip-select line.
pub struct SpiBus {
    base: usize,
    cs_pin: u32,
    pub event: Signal<CriticalSectionRawMutex, u32>,
}

impl SpiBus {
    pub const fn new(base: usize, cs_pin: u32) -> Self {
        Self {
            base,
            cs_pin,
            event: Signal::new(),
        }
    }
    pub fn cr1(&self) -> Reg {
        Reg(self.base)
    }
    pub fn cr2(&self) -> Reg {
        Reg(self.base + 1)
    }
    pub fn sr(&self) -> Reg {
        Reg(self.base + 2)
    }
    pub fn dr(&self) -> Reg {
        Reg(self.base + 3)
    }

    pub fn init(&self, prescaler_log2: u32) {
        use spi_bits::*;
        self.cr1()
            .write(CR1_MSTR | ((prescaler_log2 & 7) << 3) | CR1_SPE);
        self.cs_high();
    }

    pub fn cs_low(&self) {
        GPIOA.bsrr().write(1 << (self.cs_pin + 16));
    }

    pub fn cs_high(&self) {
        GPIOA.bsrr().write(1 << self.cs_pin);
    }

    /// Abort a transfer after an error: disable, clear flags, re-enable.
    pub fn recover(&self) {
        use spi_bits::*;
        self.cs_high();
        self.cr1().clear_bits(CR1_SPE);
        let _ = self.dr().read();
        let _ = self.sr().read();
        self.cr2().clear_bits(CR2_RXNEIE | CR2_TXEIE | CR2_ERRIE);
        self.cr1().set_bits(CR1_SPE);
    }

    pub fn on_interrupt(&self) {
        use spi_bits::*;
        let sr = self.sr().read();
        self.cr2().clear_bits(CR2_RXNEIE | CR2_TXEIE | CR2_ERRIE);
        self.event.signal(sr);
    }
}

// ---------------------------------------------------------------- FLASH

pub mod flash_bits {
    pub const KEY1: u32 = 0x4567_0123;
    pub const KEY2: u32 = 0xCDEF_89AB;
    pub const SR_EOP: u32 = 1 << 0;
    pub const SR_OPERR: u32 = 1 << 1;
    pub const SR_PGERR: u32 = 0b111 << 4;
    pub const SR_BSY: u32 = 1 << 16;
    pub const CR_PG: u32 = 1 << 0;
    pub const CR_SER: u32 = 1 << 1;
    pub const CR_STRT: u32 = 1 << 16;
    pub const CR_EOPIE: u32 = 1 << 24;
    pub const CR_ERRIE: u32 = 1 << 25;
    pub const CR_LOCK: u32 = 1 << 31;
}

pub struct FlashCtrl {
    base: usize,
    pub event: Signal<CriticalSectionRawMutex, u32>,
}

impl FlashCtrl {
    pub const fn new(base: usize) -> Self {
        Self {
            base,
            event: Signal::new(),
        }
    }
    pub fn keyr(&self) -> Reg {
        Reg(self.base)
    }
    pub fn sr(&self) -> Reg {
        Reg(self.base + 1)
    }
    pub fn cr(&self) -> Reg {
        Reg(self.base + 2)
    }
    pub fn ar(&self) -> Reg {
        Reg(self.base + 3)
    }
    pub fn dr(&self) -> Reg {
        Reg(self.base + 4)
    }

    pub fn unlock(&self) {
        use flash_bits::*;
        if self.cr().read() & CR_LOCK != 0 {
            self.keyr().write(KEY1);
            self.keyr().write(KEY2);
        }
    }

    pub fn on_interrupt(&self) {
        use flash_bits::*;
        let sr = self.sr().read();
        // Write-one-to-clear the completion/error flags.
        self.sr().write(sr & (SR_EOP | SR_OPERR | SR_PGERR));
        self.event.signal(sr);
    }

    /// Reads `out.len()` bytes of the log area through the data window.
    pub fn read(&self, addr: u32, out: &mut [u8]) {
        for (i, chunk) in out.chunks_mut(4).enumerate() {
            self.ar().write(addr + 4 * i as u32);
            let word = self.dr().read().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

// ---------------------------------------------------------------- IWDG / GPIO / ADC

pub struct Iwdg {
    base: usize,
}

impl Iwdg {
    pub const fn new(base: usize) -> Self {
        Self { base }
    }
    pub fn kr(&self) -> Reg {
        Reg(self.base)
    }
    pub fn pr(&self) -> Reg {
        Reg(self.base + 1)
    }
    pub fn rlr(&self) -> Reg {
        Reg(self.base + 2)
    }
    pub fn start(&self, prescaler: u32, reload: u32) {
        self.kr().write(0xCCCC);
        self.kr().write(0x5555);
        self.pr().write(prescaler);
        self.rlr().write(reload & 0xFFF);
    }
    pub fn feed(&self) {
        self.kr().write(0xAAAA);
    }
}

pub struct Gpio {
    base: usize,
}

impl Gpio {
    pub const fn new(base: usize) -> Self {
        Self { base }
    }
    pub fn bsrr(&self) -> Reg {
        Reg(self.base + 2)
    }
    pub fn set(&self, pin: u32, high: bool) {
        self.bsrr()
            .write(if high { 1 << pin } else { 1 << (pin + 16) });
    }
}

pub struct Adc {
    base: usize,
}

impl Adc {
    pub const fn new(base: usize) -> Self {
        Self { base }
    }
    pub fn sr(&self) -> Reg {
        Reg(self.base)
    }
    pub fn cr(&self) -> Reg {
        Reg(self.base + 1)
    }
    pub fn dr(&self) -> Reg {
        Reg(self.base + 2)
    }
}

// ---------------------------------------------------------------- instances

pub static USART1: Usart = Usart::new(0);
pub static SPI1: SpiBus = SpiBus::new(8, 4);
pub static SPI2: SpiBus = SpiBus::new(16, 12);
pub static FLASH: FlashCtrl = FlashCtrl::new(24);
pub static IWDG: Iwdg = Iwdg::new(32);
pub static GPIOA: Gpio = Gpio::new(36);
pub static ADC1: Adc = Adc::new(40);
pub static ADC2: Adc = Adc::new(44);

/// RCC->CSR-like reset cause register.
pub const RESET_CAUSE: Reg = Reg(48);

pub const LED_PIN: u32 = 5;
pub const PCLK_HZ: u32 = 84_000_000;
