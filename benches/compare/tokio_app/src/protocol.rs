//! A small line-based key/value protocol.
//!
//! One request per line, one response line per request:
//!
//! ```text
//! PING                  -> PONG
//! GET key               -> VALUE v | NIL
//! SET key value         -> OK | REPLACED old
//! DEL key               -> DELETED 1 | DELETED 0
//! INCR key delta        -> INT n | ERR ...
//! APPEND key suffix     -> LEN n | ERR ...
//! SCAN prefix limit     -> KEYS k1,k2,... | KEYS -
//! SESSION               -> SESSION ops=n errors=m
//! QUIT                  -> BYE
//! HELLO namespace       -> WELCOME namespace (first line of a connection only)
//! ```
//!
//! [`Handler`] runs requests against the async [`Store`], inside one key namespace.
//! [`Model`] is a plain synchronous reimplementation that clients use to check every
//! response they get.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::storage::{MAX_VALUE_LEN, Store, StoreError, Value};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Ping,
    Get(String),
    Set(String, String),
    Del(String),
    Incr(String, i64),
    Append(String, String),
    Scan(String, usize),
    Session,
    Quit,
    Hello(String),
}

impl Command {
    /// The key a command works on, if it has exactly one.
    pub fn key(&self) -> Option<&str> {
        match self {
            Command::Get(k)
            | Command::Set(k, _)
            | Command::Del(k)
            | Command::Incr(k, _)
            | Command::Append(k, _) => Some(k),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    Empty,
    Unknown(String),
    Arity(String),
    BadInt(String),
    BadToken(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Empty => f.write_str("empty request"),
            ParseError::Unknown(c) => write!(f, "unknown command '{c}'"),
            ParseError::Arity(c) => write!(f, "wrong number of arguments for {c}"),
            ParseError::BadInt(s) => write!(f, "not an integer: '{s}'"),
            ParseError::BadToken(s) => write!(f, "bad token '{s}'"),
        }
    }
}

fn token(s: &str) -> Result<String, ParseError> {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Ok(s.to_owned())
    } else {
        Err(ParseError::BadToken(s.to_owned()))
    }
}

fn int<T: std::str::FromStr>(s: &str) -> Result<T, ParseError> {
    s.parse().map_err(|_| ParseError::BadInt(s.to_owned()))
}

pub fn parse(line: &str) -> Result<Command, ParseError> {
    let words: Vec<&str> = line.split_ascii_whitespace().collect();
    let Some((&name, args)) = words.split_first() else {
        return Err(ParseError::Empty);
    };
    let cmd = match (name, args) {
        ("PING", []) => Command::Ping,
        ("GET", [k]) => Command::Get(token(k)?),
        ("SET", [k, v]) => Command::Set(token(k)?, token(v)?),
        ("DEL", [k]) => Command::Del(token(k)?),
        ("INCR", [k, d]) => Command::Incr(token(k)?, int(d)?),
        ("APPEND", [k, s]) => Command::Append(token(k)?, token(s)?),
        ("SCAN", [p, n]) => Command::Scan(token(p)?, int(n)?),
        ("SESSION", []) => Command::Session,
        ("QUIT", []) => Command::Quit,
        ("HELLO", [ns]) => Command::Hello(token(ns)?),
        (name @ ("PING" | "GET" | "SET" | "DEL" | "INCR" | "APPEND" | "SCAN"), _)
        | (name @ ("SESSION" | "QUIT" | "HELLO"), _) => {
            return Err(ParseError::Arity(name.to_owned()));
        }
        (other, _) => return Err(ParseError::Unknown(other.to_owned())),
    };
    Ok(cmd)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    Pong,
    Ok,
    Replaced(String),
    Value(String),
    Nil,
    Deleted(bool),
    Int(i64),
    Len(usize),
    Keys(Vec<String>),
    Session { ops: u64, errors: u64 },
    Bye,
    Welcome(String),
    Err(String),
}

impl Response {
    pub fn is_err(&self) -> bool {
        matches!(self, Response::Err(_))
    }
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Response::Pong => f.write_str("PONG"),
            Response::Ok => f.write_str("OK"),
            Response::Replaced(v) => write!(f, "REPLACED {v}"),
            Response::Value(v) => write!(f, "VALUE {v}"),
            Response::Nil => f.write_str("NIL"),
            Response::Deleted(d) => write!(f, "DELETED {}", *d as u8),
            Response::Int(i) => write!(f, "INT {i}"),
            Response::Len(n) => write!(f, "LEN {n}"),
            Response::Keys(keys) if keys.is_empty() => f.write_str("KEYS -"),
            Response::Keys(keys) => write!(f, "KEYS {}", keys.join(",")),
            Response::Session { ops, errors } => write!(f, "SESSION ops={ops} errors={errors}"),
            Response::Bye => f.write_str("BYE"),
            Response::Welcome(ns) => write!(f, "WELCOME {ns}"),
            Response::Err(e) => write!(f, "ERR {e}"),
        }
    }
}

impl From<StoreError> for Response {
    fn from(e: StoreError) -> Response {
        Response::Err(e.to_string())
    }
}

/// Handles the requests of one session against the shared store, in namespace `ns`.
pub struct Handler {
    store: Arc<Store>,
    ns: String,
    ops: u64,
    errors: u64,
}

impl Handler {
    pub fn new(store: Arc<Store>, ns: String) -> Handler {
        Handler {
            store,
            ns,
            ops: 0,
            errors: 0,
        }
    }

    pub fn ops(&self) -> u64 {
        self.ops
    }

    pub fn errors(&self) -> u64 {
        self.errors
    }

    fn key(&self, k: &str) -> String {
        format!("{}/{}", self.ns, k)
    }

    pub async fn handle_line(&mut self, line: &str) -> Response {
        self.respond(parse(line)).await
    }

    pub async fn respond(&mut self, parsed: Result<Command, ParseError>) -> Response {
        self.ops += 1;
        let response = match parsed {
            Ok(cmd) => self.handle(cmd).await,
            Err(e) => Response::Err(e.to_string()),
        };
        if response.is_err() {
            self.errors += 1;
        }
        response
    }

    async fn handle(&mut self, cmd: Command) -> Response {
        match cmd {
            Command::Ping => Response::Pong,
            Command::Get(k) => match self.store.get(&self.key(&k)).await {
                Some(v) => Response::Value(v.to_string()),
                None => Response::Nil,
            },
            Command::Set(k, v) => match self.store.set(&self.key(&k), Value::Text(v)).await {
                Some(old) => Response::Replaced(old.to_string()),
                None => Response::Ok,
            },
            Command::Del(k) => Response::Deleted(self.store.delete(&self.key(&k)).await),
            Command::Incr(k, delta) => match self.store.incr(&self.key(&k), delta).await {
                Ok(n) => Response::Int(n),
                Err(e) => e.into(),
            },
            Command::Append(k, s) => match self.store.append(&self.key(&k), &s).await {
                Ok(len) => Response::Len(len),
                Err(e) => e.into(),
            },
            Command::Scan(prefix, limit) => {
                let full = self.key(&prefix);
                let strip = self.ns.len() + 1;
                let keys = self.store.scan(&full, limit).await;
                Response::Keys(keys.into_iter().map(|k| k[strip..].to_owned()).collect())
            }
            Command::Session => Response::Session {
                ops: self.ops,
                errors: self.errors,
            },
            Command::Quit => Response::Bye,
            Command::Hello(_) => Response::Err("already greeted".to_owned()),
        }
    }
}

/// The synchronous reference model of one namespace.
#[derive(Default)]
pub struct Model {
    data: BTreeMap<String, Value>,
    ops: u64,
    errors: u64,
}

impl Model {
    pub fn apply_line(&mut self, line: &str) -> Response {
        self.apply(&parse(line))
    }

    pub fn apply(&mut self, parsed: &Result<Command, ParseError>) -> Response {
        self.ops += 1;
        let response = match parsed {
            Ok(cmd) => self.command(cmd),
            Err(e) => Response::Err(e.to_string()),
        };
        if response.is_err() {
            self.errors += 1;
        }
        response
    }

    fn command(&mut self, cmd: &Command) -> Response {
        match cmd {
            Command::Ping => Response::Pong,
            Command::Get(k) => self
                .data
                .get(k)
                .map_or(Response::Nil, |v| Response::Value(v.to_string())),
            Command::Set(k, v) => match self.data.insert(k.clone(), Value::Text(v.clone())) {
                Some(old) => Response::Replaced(old.to_string()),
                None => Response::Ok,
            },
            Command::Del(k) => Response::Deleted(self.data.remove(k).is_some()),
            Command::Incr(k, delta) => {
                let current = match self.data.get(k) {
                    None => 0,
                    Some(Value::Int(i)) => *i,
                    Some(Value::Text(s)) => match s.parse::<i64>() {
                        Ok(i) => i,
                        Err(_) => return StoreError::NotAnInteger.into(),
                    },
                };
                match current.checked_add(*delta) {
                    Some(n) => {
                        self.data.insert(k.clone(), Value::Int(n));
                        Response::Int(n)
                    }
                    None => StoreError::Overflow.into(),
                }
            }
            Command::Append(k, s) => {
                let mut text = self.data.get(k).map(|v| v.to_string()).unwrap_or_default();
                if text.len() + s.len() > MAX_VALUE_LEN {
                    return StoreError::TooLong.into();
                }
                text.push_str(s);
                let len = text.len();
                self.data.insert(k.clone(), Value::Text(text));
                Response::Len(len)
            }
            Command::Scan(prefix, limit) => Response::Keys(
                self.data
                    .range(prefix.clone()..)
                    .map(|(k, _)| k)
                    .take_while(|k| k.starts_with(prefix.as_str()))
                    .take(*limit)
                    .cloned()
                    .collect(),
            ),
            Command::Session => Response::Session {
                ops: self.ops,
                errors: self.errors,
            },
            Command::Quit => Response::Bye,
            Command::Hello(_) => Response::Err("already greeted".to_owned()),
        }
    }
}

/// xorshift64*: the deterministic source of every request.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One pseudo-random request line (sometimes a malformed one) over `keys` keys.
pub fn gen_line(rng: &mut Rng, keys: u64) -> String {
    let key = format!("k{}", rng.below(keys));
    match rng.below(100) {
        0..25 => format!("GET {key}"),
        25..45 => match rng.below(3) {
            0 => format!("SET {key} {}", rng.below(1000)),
            _ => format!("SET {key} v{:x}", rng.below(1 << 20)),
        },
        45..53 => format!("DEL {key}"),
        53..68 => format!("INCR {key} {}", rng.below(101) as i64 - 50),
        68..78 => format!(
            "APPEND {key} {}",
            ["a", "bc", "def", "7", "_x"][rng.below(5) as usize]
        ),
        78..84 => format!("SCAN k{} {}", rng.below(10), 1 + rng.below(4)),
        84..89 => "PING".to_owned(),
        89..92 => "SESSION".to_owned(),
        92..94 => format!("INCR {key} 9223372036854775807"),
        94 => String::new(),
        95 => format!("FETCH {key}"),
        96 => format!("GET {key} extra"),
        97 => format!("INCR {key} lots"),
        98 => format!("SET {key} bad!value"),
        _ => format!("HELLO {key}"),
    }
}
