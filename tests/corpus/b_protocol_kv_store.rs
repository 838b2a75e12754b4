// Protocol handler: an async key-value store processing a list of commands, with awaits
// in most match arms, a nested batch command and values that need drop.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

enum Cmd {
    Set(&'static str, String),
    Get(&'static str),
    Incr(&'static str, u32),
    Del(&'static str),
    Batch(Vec<Cmd>),
    Dump,
}

#[derive(Default)]
struct Store {
    entries: Vec<(&'static str, String)>,
    ops: u32,
}

impl Store {
    fn slot(&mut self, k: &str) -> Option<&mut String> {
        self.entries.iter_mut().find(|(key, _)| *key == k).map(|(_, v)| v)
    }
}

async fn io_delay(n: u32) {
    YieldTimes(n).await;
}

async fn handle(store: &mut Store, cmd: Cmd, depth: usize) -> String {
    store.ops += 1;
    let pad = "  ".repeat(depth);
    match cmd {
        Cmd::Set(k, v) => {
            io_delay(1).await;
            let reply = format!("{pad}SET {k} ({} bytes)", v.len());
            match store.slot(k) {
                Some(old) => *old = v,
                None => store.entries.push((k, v)),
            }
            reply
        }
        Cmd::Get(k) => {
            io_delay(k.len() as u32 % 2).await;
            match store.slot(k) {
                Some(v) => format!("{pad}GET {k} = {v}"),
                None => format!("{pad}GET {k} = nil"),
            }
        }
        Cmd::Incr(k, by) => {
            let cur: u32 = store.slot(k).and_then(|v| v.parse().ok()).unwrap_or(0);
            io_delay(2).await;
            let next = cur + by;
            Box::pin(handle(store, Cmd::Set(k, next.to_string()), depth + 1)).await;
            format!("{pad}INCR {k} -> {next}")
        }
        Cmd::Del(k) => {
            let before = store.entries.len();
            store.entries.retain(|(key, _)| *key != k);
            io_delay(1).await;
            format!("{pad}DEL {k} removed {}", before - store.entries.len())
        }
        Cmd::Batch(cmds) => {
            let _guard = Noisy("batch-guard");
            let mut replies = vec![format!("{pad}BATCH of {}", cmds.len())];
            for c in cmds {
                replies.push(Box::pin(handle(store, c, depth + 1)).await);
            }
            replies.join("\n")
        }
        Cmd::Dump => {
            io_delay(1).await;
            let mut keys: Vec<String> = store.entries.iter().map(|(k, v)| format!("{k}={v}")).collect();
            keys.sort();
            format!("{pad}DUMP {}", keys.join(","))
        }
    }
}

fn main() {
    let n = opaque(5);
    let cmds = vec![
        Cmd::Set("alpha", format!("{}", n * 3)),
        Cmd::Get("alpha"),
        Cmd::Get("beta"),
        Cmd::Incr("alpha", n),
        Cmd::Incr("counter", 1),
        Cmd::Batch(vec![Cmd::Set("beta", "b".repeat(n as usize)), Cmd::Incr("counter", 2), Cmd::Get("beta")]),
        Cmd::Del("alpha"),
        Cmd::Del("missing"),
        Cmd::Dump,
    ];
    let (store, polls) = block_on_counted(async move {
        let mut store = Store::default();
        for cmd in cmds {
            let reply = handle(&mut store, cmd, 0).await;
            println!("{reply}");
        }
        store
    });
    println!("ops = {}, entries = {}, polls = {polls}", store.ops, store.entries.len());
}
