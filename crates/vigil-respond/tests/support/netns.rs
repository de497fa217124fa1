//! Test hosts in network namespaces this test creates: host H runs `sshd` (its own host key,
//! Vigil's key authorized) and forwards between two more namespaces, O (another machine on
//! H's second network) and T (a machine behind H, listening on 8080). Vigil, in the test's own
//! namespace, reaches H at its management address. Needs root, `ip`, `nft`, `sshd` and
//! `ssh-keygen`; a machine without them fails the test with what to install.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

static NEXT: AtomicU32 = AtomicU32::new(0);

pub struct Lab {
    pub dir: tempfile::TempDir,
    names: Vec<String>,
    children: Vec<Child>,
    /// H's namespace, and O's and T's.
    pub h: String,
    pub o: String,
    pub t: String,
    /// The test's side of the management network, and H on it.
    pub management: String,
    pub host: String,
    /// H on O's network, O itself, and T.
    pub host_on_o: String,
    pub other: String,
    pub target: String,
    /// H's host key fingerprint (SHA256:…).
    pub host_key: String,
}

fn run(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap_or_else(|e| {
        panic!("cannot run {} ({e}); .ci/run installs iproute2, nftables and openssh-server", args[0])
    });
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

impl Lab {
    pub fn start() -> Lab {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        let tag = format!("{}{n}", pid % 100_000);
        // A /16 of 10/8 for this lab: distinct across the tests running at once.
        let net = 20 + (pid.wrapping_mul(31).wrapping_add(n * 7)) % 200;
        let (h, o, t) = (format!("vgl{tag}h"), format!("vgl{tag}o"), format!("vgl{tag}t"));
        let iface = |s: &str| format!("vg{tag}{s}");
        let ip = |sub: u32, host: u32| format!("10.{net}.{sub}.{host}");
        let mut lab = Lab {
            dir: tempfile::tempdir().expect("dir"),
            names: Vec::new(),
            children: Vec::new(),
            h: h.clone(),
            o: o.clone(),
            t: t.clone(),
            management: ip(0, 1),
            host: ip(0, 2),
            host_on_o: ip(1, 1),
            other: ip(1, 2),
            target: ip(2, 2),
            host_key: String::new(),
        };
        for ns in [&h, &o, &t] {
            run(&["ip", "netns", "add", ns]);
            lab.names.push(ns.clone());
            run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        // The management network: the test's namespace and H.
        run(&["ip", "link", "add", &iface("a"), "type", "veth", "peer", "name", &iface("b"), "netns", &h]);
        run(&["ip", "addr", "add", &format!("{}/24", ip(0, 1)), "dev", &iface("a")]);
        run(&["ip", "link", "set", &iface("a"), "up"]);
        run(&["ip", "-n", &h, "addr", "add", &format!("{}/24", ip(0, 2)), "dev", &iface("b")]);
        run(&["ip", "-n", &h, "link", "set", &iface("b"), "up"]);
        // H's other two networks: to O, and to T.
        for (ns, sub, (here, there)) in [(&o, 1, ("c", "d")), (&t, 2, ("e", "f"))] {
            run(&[
                "ip",
                "-n",
                &h,
                "link",
                "add",
                &iface(here),
                "type",
                "veth",
                "peer",
                "name",
                &iface(there),
                "netns",
                ns,
            ]);
            run(&["ip", "-n", &h, "addr", "add", &format!("{}/24", ip(sub, 1)), "dev", &iface(here)]);
            run(&["ip", "-n", &h, "link", "set", &iface(here), "up"]);
            run(&["ip", "-n", ns, "addr", "add", &format!("{}/24", ip(sub, 2)), "dev", &iface(there)]);
            run(&["ip", "-n", ns, "link", "set", &iface(there), "up"]);
            run(&["ip", "-n", ns, "route", "add", "default", "via", &ip(sub, 1)]);
        }
        run(&["ip", "netns", "exec", &h, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);

        let path = |name: &str| lab.dir.path().join(name).to_str().expect("utf-8").to_owned();
        for key in ["host_key", "vigil_key"] {
            run(&["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", key, "-f", &path(key)]);
        }
        std::fs::copy(lab.dir.path().join("vigil_key.pub"), lab.dir.path().join("authorized_keys"))
            .expect("keys");
        let printed = Command::new("ssh-keygen")
            .args(["-l", "-f", &path("host_key.pub")])
            .output()
            .expect("ssh-keygen");
        lab.host_key = String::from_utf8_lossy(&printed.stdout)
            .split_whitespace()
            .nth(1)
            .expect("fingerprint")
            .to_owned();
        std::fs::write(
            lab.dir.path().join("sshd_config"),
            format!(
                "Port 22\nListenAddress 0.0.0.0\nHostKey {}\nAuthorizedKeysFile {}\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPidFile none\nLogLevel INFO\n",
                path("host_key"),
                path("authorized_keys")
            ),
        )
        .expect("sshd config");
        std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
        let mut sshd = Command::new("ip")
            .args(["netns", "exec", &h, "/usr/sbin/sshd", "-D", "-e", "-f", &path("sshd_config")])
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sshd (.ci/run installs openssh-server)");
        let mut lines = BufReader::new(sshd.stderr.take().expect("stderr")).lines();
        lab.children.push(sshd);
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("Server listening on 0.0.0.0 port 22") => break,
                Some(Ok(_)) => {}
                _ => panic!("sshd did not start in {h}"),
            }
        }
        // sshd goes on logging to a pipe nobody reads unless it is drained.
        std::thread::spawn(move || lines.for_each(drop));

        let mut listener = Command::new("ip")
            .args(["netns", "exec", &t, "python3", "-c"])
            .arg("import socket\ns = socket.socket()\ns.bind(('0.0.0.0', 8080))\ns.listen()\nprint('ready', flush=True)\nwhile True:\n    c, _ = s.accept()\n    c.close()\n")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut ready = String::new();
        BufReader::new(listener.stdout.take().expect("stdout")).read_line(&mut ready).expect("ready");
        assert_eq!(ready.trim(), "ready");
        lab.children.push(listener);
        lab
    }

    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("vigil_key")
    }

    /// Whether a TCP connection from namespace `from` (the test's own when `None`) to
    /// `ip:port` opens within two seconds.
    pub fn reaches(&self, from: Option<&str>, ip: &str, port: u16) -> bool {
        match from {
            None => {
                let addr: SocketAddr = format!("{ip}:{port}").parse().expect("addr");
                TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()
            }
            Some(ns) => Command::new("ip")
                .args(["netns", "exec", ns, "timeout", "2", "bash", "-c", &format!("</dev/tcp/{ip}/{port}")])
                .stderr(Stdio::null())
                .status()
                .expect("bash")
                .success(),
        }
    }

    /// A program running in H under the file name `image`, for a test to kill.
    pub fn spawn_in_host(&mut self, image: &str) -> u32 {
        let copy = self.dir.path().join(image);
        std::fs::copy("/usr/bin/sleep", &copy).expect("copy");
        let child =
            Command::new("ip").args(["netns", "exec", &self.h]).arg(&copy).arg("600").spawn().expect("spawn");
        let pid = child.id();
        self.children.push(child);
        pid
    }

    /// How the child with `pid` ended, once it has.
    pub fn wait_for(&mut self, pid: u32) -> std::process::ExitStatus {
        let child = self.children.iter_mut().find(|c| c.id() == pid).expect("a child of the lab");
        child.wait().expect("wait")
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in &self.names {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}
