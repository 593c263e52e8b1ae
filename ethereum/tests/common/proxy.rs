//! A JSON-RPC proxy on 127.0.0.1 that can lie about what its upstream Ethereum node says, for
//! tests of observers and validators facing a dishonest endpoint. Shared by the `nexus-ethereum`
//! and `nexus-node` tests (included by path, std and serde_json only).

#![allow(dead_code)] // each test binary uses a different part of this module

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// How the proxy falsifies anvil's answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// Forward everything unchanged.
    Nothing,
    /// Flip a byte of the hash of block `n` in `eth_getBlockByNumber` answers.
    BlockHash(u64),
    /// Answer every `eth_getLogs` with no logs.
    DropLogs,
}

/// A JSON-RPC proxy on 127.0.0.1 in front of `upstream`, one thread per connection, closing each
/// connection after one answer; it can lie (see [`Tamper`]). Stops on drop.
pub struct Proxy {
    port: u16,
    tamper: Arc<Mutex<Tamper>>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    pub fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let tamper = Arc::new(Mutex::new(Tamper::Nothing));
        let stop = Arc::new(AtomicBool::new(false));
        let (t, s) = (tamper.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let t = t.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, upstream, &t);
                });
            }
        });
        Self { port, tamper, stop }
    }

    pub fn set(&self, tamper: Tamper) {
        *self.tamper.lock().expect("tamper lock") = tamper;
    }

    /// Its JSON-RPC URL.
    pub fn http(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Reads one HTTP request's body: headers up to the blank line, then Content-Length bytes.
fn read_http_body(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().map_err(|_| std::io::ErrorKind::InvalidData)?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(body)
}

fn serve(conn: TcpStream, upstream: u16, tamper: &Mutex<Tamper>) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let request = read_http_body(&mut reader)?;
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    up.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        up,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        request.len()
    )?;
    up.write_all(&request)?;
    let mut status = String::new();
    let mut up = BufReader::new(up);
    up.read_line(&mut status)?;
    let response = read_http_body(&mut up)?;
    let method =
        serde_json::from_slice::<Value>(&request).ok().and_then(|r| r["method"].as_str().map(String::from));
    let mut answer: Value = serde_json::from_slice(&response).map_err(|_| std::io::ErrorKind::InvalidData)?;
    match (*tamper.lock().expect("tamper lock"), method.as_deref()) {
        (Tamper::BlockHash(n), Some("eth_getBlockByNumber"))
            if answer["result"]["number"].as_str() == Some(format!("{n:#x}").as_str()) =>
        {
            // Flip the last hex digit's lowest bit: still a well-formed hash, just a wrong one.
            let hash = answer["result"]["hash"].as_str().unwrap_or_default().to_string();
            let (head, last) = hash.split_at(hash.len() - 1);
            let flipped = u8::from_str_radix(last, 16).map_or(0, |d| d ^ 1);
            answer["result"]["hash"] = json!(format!("{head}{flipped:x}"));
        }
        (Tamper::DropLogs, Some("eth_getLogs")) => answer["result"] = json!([]),
        _ => {}
    }
    let body = serde_json::to_vec(&answer)?;
    let mut conn = conn;
    write!(
        conn,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    conn.write_all(&body)?;
    conn.flush()
}
