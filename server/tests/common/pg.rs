//! A throwaway PostgreSQL cluster for the tests of one test binary.
//!
//! The first test that asks starts it from the machine's PostgreSQL binaries
//! (`initdb` and `pg_ctl` on PATH or in `/usr/lib/postgresql/*/bin`, or in
//! `$VITRINA_PG_BIN`): `initdb` into a fresh directory under /tmp, then `pg_ctl
//! start` on a free loopback port, with the socket in that directory. As root
//! (initdb refuses root) both run as the `postgres` user through `runuser`. Each
//! test gets a database of its own. A small watchdog process stops the cluster
//! and deletes its directory when the test binary exits, however it exits.
//!
//! When PostgreSQL cannot be started, every test that needs it **fails** with
//! what to install: the PostgreSQL tests never pass by not running.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

const HOW_TO_INSTALL: &str = "install PostgreSQL's server binaries (Debian: `apt-get install postgresql`, \
     or run `npm run setup`), or point VITRINA_PG_BIN at the directory holding initdb and pg_ctl";

pub struct Cluster {
    pub port: u16,
    pub dir: PathBuf,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();

/// The cluster of this test binary, started on first use; panics with what to
/// install when PostgreSQL is not available.
pub fn cluster() -> &'static Cluster {
    match CLUSTER.get_or_init(start) {
        Ok(c) => c,
        Err(e) => panic!("PostgreSQL is needed for this test and could not be started: {e}"),
    }
}

/// A connection URL to a new, empty database named after `tag`.
pub fn fresh_database(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let c = cluster();
    let name =
        format!("{}_{}", tag.replace(|ch: char| !ch.is_ascii_alphanumeric(), "_"), N.fetch_add(1, Ordering::Relaxed));
    let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", c.port);
    // The synchronous client must not run on an async worker thread.
    let sql = format!("CREATE DATABASE \"{name}\"");
    std::thread::spawn(move || -> Result<(), String> {
        let mut client = postgres::Client::connect(&admin, postgres::NoTls).map_err(|e| e.to_string())?;
        client.batch_execute(&sql).map_err(|e| e.to_string())
    })
    .join()
    .expect("create database thread")
    .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    format!("postgres://postgres@127.0.0.1:{}/{name}", c.port)
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0")))
        .unwrap_or(false)
}

/// The first of `names` found on PATH or in `extra` directories.
fn find(name: &str, extra: &[PathBuf]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).chain(extra.iter().cloned()).map(|d| d.join(name)).find(|p| p.is_file())
}

/// Where initdb and pg_ctl are: `$VITRINA_PG_BIN`, PATH, or Debian's
/// `/usr/lib/postgresql/VERSION/bin` (the newest).
fn pg_bin_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os("VITRINA_PG_BIN") {
        dirs.push(PathBuf::from(d));
    }
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse::<u32>().ok()?, e.path().join("bin"))))
        .collect();
    debian.sort();
    dirs.extend(debian.into_iter().rev().map(|(_, p)| p));
    dirs
}

/// `cmd` as the cluster's owner: as is, or as the `postgres` user when root.
fn as_owner(root: bool, program: &Path) -> Result<Command, String> {
    if !root {
        return Ok(Command::new(program));
    }
    let runuser = find("runuser", &[PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .ok_or("running as root and `runuser` is missing (util-linux), so initdb cannot run as another user")?;
    let mut c = Command::new(runuser);
    c.args(["-u", "postgres", "--"]).arg(program);
    Ok(c)
}

fn run(c: &mut Command, what: &str) -> Result<String, String> {
    let out = c.stdin(Stdio::null()).output().map_err(|e| format!("cannot run {what}: {e}"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("{what} failed ({}): {}", out.status, text.trim()))
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start() -> Result<Cluster, String> {
    let dirs = pg_bin_dirs();
    let initdb = match std::env::var_os("VITRINA_PG_BIN") {
        // Given: there and nowhere else.
        Some(d) => Some(Path::new(&d).join("initdb")).filter(|p| p.is_file()).ok_or_else(|| {
            format!("initdb not found in VITRINA_PG_BIN={}: {HOW_TO_INSTALL}", Path::new(&d).display())
        })?,
        None => find("initdb", &dirs)
            .ok_or_else(|| format!("initdb not found on PATH nor in {dirs:?}: {HOW_TO_INSTALL}"))?,
    };
    let bin = initdb.parent().unwrap().to_path_buf();
    let pg_ctl = Some(bin.join("pg_ctl"))
        .filter(|p| p.is_file())
        .or_else(|| find("pg_ctl", &dirs))
        .ok_or_else(|| format!("pg_ctl not found next to {} nor on PATH: {HOW_TO_INSTALL}", initdb.display()))?;
    let root = is_root();
    if root && run(Command::new("id").args(["-u", "postgres"]), "id -u postgres").is_err() {
        return Err(format!("running as root and there is no `postgres` user to run initdb as: {HOW_TO_INSTALL}"));
    }

    // Under /tmp, which the postgres user can reach (a temp dir under the
    // project may not be).
    let dir = std::env::temp_dir().join(format!("vitrina-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    if root {
        run(Command::new("chown").args(["postgres:postgres"]).arg(&dir), "chown postgres")?;
    }
    let data = dir.join("data");
    let mut c = as_owner(root, &initdb)?;
    c.args(["-D"]).arg(&data).args(["-U", "postgres", "--auth=trust", "--no-locale", "-E", "UTF8", "--no-sync"]);
    run(&mut c, "initdb")?;

    // Stop and delete it when this process ends, however it ends.
    let stop = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.3; done; {owner}{pg_ctl} -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        owner = if root { "runuser -u postgres -- " } else { "" },
        pg_ctl = pg_ctl.display(),
        data = data.display(),
        dir = dir.display(),
    );
    Command::new("sh")
        .args(["-c", &stop])
        .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the cleanup watchdog: {e}"))?;

    let mut last = String::new();
    for _ in 0..3 {
        let port = free_port();
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=on -c full_page_writes=off",
            dir.display()
        );
        let mut c = as_owner(root, &pg_ctl)?;
        c.arg("-D").arg(&data).args(["-o", &opts, "-l"]).arg(dir.join("log")).args(["-w", "-t", "30", "start"]);
        match run(&mut c, "pg_ctl start") {
            Ok(_) => return Ok(Cluster { port, dir }),
            Err(e) => {
                let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
                last = format!("{e}; server log: {}", log.trim());
            }
        }
    }
    Err(last)
}
