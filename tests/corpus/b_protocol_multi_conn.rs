// Protocol handler: several connection tasks share a bank ledger and process command
// lists concurrently; one connection is cancelled mid-command and its guards drop.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

#[derive(Clone, Copy, Debug)]
enum Op {
    Deposit(usize, u32),
    Withdraw(usize, u32),
    Transfer(usize, usize, u32),
    Audit,
    Sleep(u32),
}

struct Ledger {
    balances: [u32; 3],
    log: Vec<String>,
}

type Shared = Rc<RefCell<Ledger>>;

async fn lock_delay(conn: u32) {
    YieldTimes(conn % 2 + 1).await;
}

async fn apply(conn: u32, ledger: &Shared, op: Op) -> Result<(), String> {
    match op {
        Op::Deposit(a, amt) => {
            lock_delay(conn).await;
            ledger.borrow_mut().balances[a] += amt;
        }
        Op::Withdraw(a, amt) => {
            let have = ledger.borrow().balances[a];
            lock_delay(conn).await;
            if have < amt {
                return Err(format!("insufficient in {a}: {have} < {amt}"));
            }
            ledger.borrow_mut().balances[a] -= amt;
        }
        Op::Transfer(from, to, amt) => {
            let _hold = Noisy("transfer-hold");
            Box::pin(apply(conn, ledger, Op::Withdraw(from, amt))).await?;
            yield_now().await;
            Box::pin(apply(conn, ledger, Op::Deposit(to, amt))).await?;
        }
        Op::Audit => {
            yield_now().await;
            let l = ledger.borrow();
            let total: u32 = l.balances.iter().sum();
            println!("  conn{conn} audit {:?} total {total}", l.balances);
        }
        Op::Sleep(k) => YieldTimes(k).await,
    }
    Ok(())
}

async fn connection(conn: u32, ledger: Shared, ops: Vec<Op>) {
    let _c = Noisy(["conn0 closed", "conn1 closed", "conn2 closed"][conn as usize]);
    for op in ops {
        let r = apply(conn, &ledger, op).await;
        let line = format!("conn{conn} {op:?} -> {r:?}");
        ledger.borrow_mut().log.push(line);
    }
}

fn main() {
    let n = opaque(10);
    let ledger = Rc::new(RefCell::new(Ledger { balances: [n * 10, n, 0], log: Vec::new() }));
    let mut tasks: Vec<Option<Pin<Box<dyn Future<Output = ()>>>>> = vec![
        Some(Box::pin(connection(0, ledger.clone(),
            vec![Op::Deposit(1, 5), Op::Transfer(0, 2, n * 3), Op::Audit]))),
        Some(Box::pin(connection(1, ledger.clone(),
            vec![Op::Withdraw(1, n * 2), Op::Sleep(2), Op::Transfer(1, 0, 4), Op::Audit]))),
        Some(Box::pin(connection(2, ledger.clone(),
            vec![Op::Transfer(0, 1, 7), Op::Sleep(50), Op::Deposit(2, 1000)]))),
    ];
    let mut round = 0;
    while tasks.iter().any(|t| t.is_some()) {
        round += 1;
        for (i, slot) in tasks.iter_mut().enumerate() {
            if let Some(t) = slot {
                if poll_once(t.as_mut()).is_ready() {
                    println!("round {round}: conn{i} finished");
                    *slot = None;
                }
            }
        }
        if round == 12 {
            println!("round {round}: cancelling conn2");
            tasks[2] = None;
        }
    }
    for line in &ledger.borrow().log {
        println!("{line}");
    }
    println!("final balances {:?} after {round} rounds", ledger.borrow().balances);
}
