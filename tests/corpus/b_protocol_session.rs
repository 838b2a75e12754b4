// Protocol handler: a session state machine (Idle/Authed/Closed) driven by commands,
// with `?` error paths inside async fns, awaits in match arms and a per-session buffer.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Idle,
    Authed { user: u32 },
    Closed,
}

#[derive(Debug)]
enum Cmd {
    Login(u32, &'static str),
    Send(&'static str),
    Flush,
    Logout,
    Ping(u32),
}

#[allow(dead_code)] // fields are only read through Debug
#[derive(Debug)]
enum ProtoError {
    NotAuthed,
    BadPassword(u32),
    Closed,
}

struct Session {
    state: State,
    buffer: Vec<String>,
    sent: u32,
    _tag: Noisy,
}

async fn check_password(user: u32, pw: &str) -> Result<(), ProtoError> {
    yield_now().await;
    if pw.len() as u32 == user % 7 + 3 { Ok(()) } else { Err(ProtoError::BadPassword(user)) }
}

async fn require_auth(s: &Session) -> Result<u32, ProtoError> {
    match s.state {
        State::Authed { user } => Ok(user),
        State::Idle => Err(ProtoError::NotAuthed),
        State::Closed => Err(ProtoError::Closed),
    }
}

async fn step(s: &mut Session, cmd: &Cmd) -> Result<String, ProtoError> {
    if s.state == State::Closed {
        return Err(ProtoError::Closed);
    }
    Ok(match *cmd {
        Cmd::Login(user, pw) => {
            check_password(user, pw).await?;
            s.state = State::Authed { user };
            format!("welcome {user}")
        }
        Cmd::Send(msg) => {
            let user = require_auth(s).await?;
            yield_now().await;
            s.buffer.push(format!("{user}:{msg}"));
            format!("queued ({} pending)", s.buffer.len())
        }
        Cmd::Flush => {
            require_auth(s).await?;
            let drained: Vec<String> = s.buffer.drain(..).collect();
            for m in &drained {
                YieldTimes(1).await;
                s.sent += 1;
                println!("    wire <- {m}");
            }
            format!("flushed {}", drained.len())
        }
        Cmd::Logout => {
            let user = require_auth(s).await?;
            s.state = State::Closed;
            format!("bye {user}, {} unsent dropped", s.buffer.len())
        }
        Cmd::Ping(k) => {
            YieldTimes(k).await;
            format!("pong {k}")
        }
    })
}

fn main() {
    let n = opaque(4);
    let script = [
        Cmd::Send("too early"),
        Cmd::Login(n, "abc"),
        Cmd::Login(n, "abcdefg"),
        Cmd::Send("hello"),
        Cmd::Ping(n % 3),
        Cmd::Send("world"),
        Cmd::Flush,
        Cmd::Send("late"),
        Cmd::Logout,
        Cmd::Ping(1),
    ];
    let (sess, polls) = block_on_counted(async {
        let mut s = Session { state: State::Idle, buffer: Vec::new(), sent: 0, _tag: Noisy("session") };
        for (i, c) in script.iter().enumerate() {
            match step(&mut s, c).await {
                Ok(r) => println!("{i} {c:?} -> ok: {r}"),
                Err(e) => println!("{i} {c:?} -> err: {e:?}"),
            }
        }
        s
    });
    println!("final state {:?}, sent {}, buffered {}, polls {polls}", sess.state, sess.sent, sess.buffer.len());
    drop(sess);
    println!("end");
}
