//! An async in-memory key/value store.
//!
//! The map lives behind a `tokio::sync::RwLock`, the statistics and the write journal behind
//! `tokio::sync::Mutex`es. Every public operation holds an [`OpGuard`] (a type with `Drop`)
//! across all of its awaits, so the store can check at the end that no operation was left
//! half done. The journal digest and the statistics are commutative (sums and counts), so
//! they do not depend on how concurrent clients interleave as long as each client works in
//! its own key namespace.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Mutex, RwLock};

/// A stored value: text or a 64-bit integer (created by `INCR`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Int(i64),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(s) => f.write_str(s),
            Value::Int(i) => write!(f, "{i}"),
        }
    }
}

/// Why an operation on a stored value failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreError {
    NotAnInteger,
    Overflow,
    TooLong,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreError::NotAnInteger => "value is not an integer",
            StoreError::Overflow => "increment overflows",
            StoreError::TooLong => "value too long",
        })
    }
}

/// Longest text value `APPEND` may produce.
pub const MAX_VALUE_LEN: usize = 96;

struct Entry {
    value: Value,
    /// How many times this key was written since it was (re)created.
    version: u64,
}

/// Operation counters. All of them are plain counts, independent of interleaving.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub reads: u64,
    pub misses: u64,
    pub writes: u64,
    pub deletes: u64,
    pub scans: u64,
    pub failed: u64,
}

#[derive(Clone, Copy)]
enum Op {
    Read { hit: bool },
    Write,
    Delete,
    Scan,
    Failed,
}

/// Marks one operation as in flight for as long as it lives.
pub struct OpGuard {
    in_flight: Arc<AtomicUsize>,
}

impl OpGuard {
    fn new(in_flight: &Arc<AtomicUsize>) -> OpGuard {
        in_flight.fetch_add(1, Ordering::SeqCst);
        OpGuard {
            in_flight: Arc::clone(in_flight),
        }
    }
}

impl Drop for OpGuard {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A commutative digest of every write ever made: the wrapping sum of a hash per write.
#[derive(Default)]
struct Journal {
    records: u64,
    digest: u64,
}

pub struct Store {
    data: RwLock<BTreeMap<String, Entry>>,
    stats: Mutex<StoreStats>,
    journal: Mutex<Journal>,
    in_flight: Arc<AtomicUsize>,
}

pub fn fnv(h: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(h, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}

pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

impl Store {
    pub fn new() -> Arc<Store> {
        Arc::new(Store {
            data: RwLock::new(BTreeMap::new()),
            stats: Mutex::new(StoreStats::default()),
            journal: Mutex::new(Journal::default()),
            in_flight: Arc::new(AtomicUsize::new(0)),
        })
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    pub async fn get(&self, key: &str) -> Option<Value> {
        let _op = OpGuard::new(&self.in_flight);
        let found = {
            let data = self.data.read().await;
            data.get(key).map(|e| e.value.clone())
        };
        self.record(Op::Read {
            hit: found.is_some(),
        })
        .await;
        found
    }

    /// Stores `value` under `key` and returns the previous value.
    pub async fn set(&self, key: &str, value: Value) -> Option<Value> {
        let _op = OpGuard::new(&self.in_flight);
        let mut data = self.data.write().await;
        self.put(&mut data, key, value).await
    }

    pub async fn delete(&self, key: &str) -> bool {
        let _op = OpGuard::new(&self.in_flight);
        let removed = self.data.write().await.remove(key);
        match removed {
            Some(entry) => {
                let tombstone = Value::Text(String::new());
                self.journal_write(key, &tombstone, entry.version + 1).await;
                self.record(Op::Delete).await;
                true
            }
            None => {
                self.record(Op::Read { hit: false }).await;
                false
            }
        }
    }

    pub async fn incr(&self, key: &str, by: i64) -> Result<i64, StoreError> {
        let _op = OpGuard::new(&self.in_flight);
        let mut data = self.data.write().await;
        let current = match data.get(key) {
            Some(entry) => coerce_int(&entry.value).await,
            None => Ok(0),
        };
        match current.and_then(|c| c.checked_add(by).ok_or(StoreError::Overflow)) {
            Ok(next) => {
                self.put(&mut data, key, Value::Int(next)).await;
                Ok(next)
            }
            Err(e) => self.fail(e).await,
        }
    }

    /// Appends `suffix` to the text form of the value and returns the new length.
    pub async fn append(&self, key: &str, suffix: &str) -> Result<usize, StoreError> {
        let _op = OpGuard::new(&self.in_flight);
        let mut data = self.data.write().await;
        let mut text = data
            .get(key)
            .map(|e| e.value.to_string())
            .unwrap_or_default();
        if text.len() + suffix.len() > MAX_VALUE_LEN {
            return self.fail(StoreError::TooLong).await;
        }
        text.push_str(suffix);
        let len = text.len();
        self.put(&mut data, key, Value::Text(text)).await;
        Ok(len)
    }

    /// Writes one entry of the locked map and journals it while the write lock is held,
    /// like a write-ahead log. Returns the previous value.
    async fn put(
        &self,
        data: &mut BTreeMap<String, Entry>,
        key: &str,
        value: Value,
    ) -> Option<Value> {
        let version = data.get(key).map_or(1, |e| e.version + 1);
        self.journal_write(key, &value, version).await;
        let previous = data.insert(key.to_owned(), Entry { value, version });
        self.record(Op::Write).await;
        previous.map(|e| e.value)
    }

    async fn fail<T>(&self, e: StoreError) -> Result<T, StoreError> {
        self.record(Op::Failed).await;
        Err(e)
    }

    /// The keys starting with `prefix`, in order, at most `limit` of them.
    pub async fn scan(&self, prefix: &str, limit: usize) -> Vec<String> {
        let _op = OpGuard::new(&self.in_flight);
        let mut keys = Vec::new();
        {
            let data = self.data.read().await;
            for key in data.range(prefix.to_owned()..).map(|(k, _)| k) {
                if !key.starts_with(prefix) || keys.len() == limit {
                    break;
                }
                keys.push(key.clone());
            }
        }
        self.record(Op::Scan).await;
        keys
    }

    /// A digest of the whole map (keys, values, versions) in key order.
    pub async fn digest(&self) -> (usize, u64) {
        let _op = OpGuard::new(&self.in_flight);
        let data = self.data.read().await;
        let mut h = FNV_OFFSET;
        for (i, (key, entry)) in data.iter().enumerate() {
            h = fnv(h, key.as_bytes());
            h = fnv(h, entry.value.to_string().as_bytes());
            h = fnv(h, &entry.version.to_le_bytes());
            if i % 64 == 63 {
                // Long scans give other tasks a turn; the read lock stays held.
                tokio::task::yield_now().await;
            }
        }
        (data.len(), h)
    }

    pub async fn stats(&self) -> StoreStats {
        *self.stats.lock().await
    }

    pub async fn journal(&self) -> (u64, u64) {
        let journal = self.journal.lock().await;
        (journal.records, journal.digest)
    }

    async fn record(&self, op: Op) {
        let mut stats = self.stats.lock().await;
        match op {
            Op::Read { hit } => {
                stats.reads += 1;
                if !hit {
                    stats.misses += 1;
                }
            }
            Op::Write => stats.writes += 1,
            Op::Delete => stats.deletes += 1,
            Op::Scan => stats.scans += 1,
            Op::Failed => stats.failed += 1,
        }
    }

    async fn journal_write(&self, key: &str, value: &Value, version: u64) {
        let record = hash_record(key, value, version).await;
        let mut journal = self.journal.lock().await;
        journal.records += 1;
        journal.digest = journal.digest.wrapping_add(record);
    }
}

async fn coerce_int(value: &Value) -> Result<i64, StoreError> {
    match value {
        Value::Int(i) => Ok(*i),
        Value::Text(s) => s.parse().map_err(|_| StoreError::NotAnInteger),
    }
}

async fn hash_record(key: &str, value: &Value, version: u64) -> u64 {
    let h = fnv(FNV_OFFSET, key.as_bytes());
    let h = match value {
        Value::Text(s) => fnv(fnv(h, b"t"), s.as_bytes()),
        Value::Int(i) => fnv(fnv(h, b"i"), &i.to_le_bytes()),
    };
    fnv(h, &version.to_le_bytes())
}
