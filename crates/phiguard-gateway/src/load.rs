//! A small HTTP/1.1 load generator for the gateway benchmark and for driving a running
//! `phiguard serve` (`phiguard gateway load`).
//!
//! It runs on its **own OS thread with its own single-threaded tokio runtime**, so it never
//! shares a scheduler (or worker threads) with the server under test, and it is deliberately
//! cheap per request (like `wrk`): the request bytes are encoded once, responses are parsed
//! just enough to find their end (`Content-Length` or chunked), and connections are kept
//! alive and reused. On a machine with few cores it still competes with the server for CPU;
//! that cost is the same for every row measured with it, so rows stay comparable side by side.
//!
//! Open loop: one request every 1/rate s, each on an idle kept-alive connection (a new one
//! when none is idle), latency measured from the *scheduled* send time, so a stalled server
//! shows up as latency instead of a slower sender (no coordinated omission). Closed loop:
//! `n` connections, each sending its next request as soon as the previous answer arrived.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What to request.
#[derive(Debug, Clone)]
pub struct Target {
    /// Server address.
    pub addr: SocketAddr,
    /// Path and query (`/fhir/Observation/o1`).
    pub path: String,
    /// Bearer token, if any.
    pub token: Option<String>,
}

impl Target {
    /// Parses `http://host:port/path` (plain HTTP only; host must be an IP address).
    ///
    /// # Errors
    /// A message when the URL is not of that form.
    pub fn parse(url: &str, token: Option<String>) -> Result<Self, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| "only http:// URLs are supported".to_string())?;
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let addr: SocketAddr = host
            .parse()
            .map_err(|_| format!("host must be IP:port, got {host:?}"))?;
        Ok(Self {
            addr,
            path: path.to_string(),
            token,
        })
    }

    fn request_bytes(&self) -> Vec<u8> {
        let mut r = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: application/fhir+json\r\n",
            self.path, self.addr
        );
        if let Some(t) = &self.token {
            r.push_str("Authorization: Bearer ");
            r.push_str(t);
            r.push_str("\r\n");
        }
        r.push_str("\r\n");
        r.into_bytes()
    }
}

/// Latencies and outcomes of one run.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Latency of each completed request, microseconds.
    pub latencies_us: Vec<f64>,
    /// Non-2xx answers and connection errors.
    pub errors: u64,
    /// Answers with status 503 (refused under overload).
    pub unavailable: u64,
    /// Wall time of the run, seconds.
    pub elapsed_secs: f64,
}

/// One kept-alive connection with its read buffer.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

fn find(h: &[u8], needle: &[u8]) -> Option<usize> {
    h.windows(needle.len()).position(|w| w == needle)
}

fn header_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

impl Conn {
    async fn open(addr: SocketAddr) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: Vec::with_capacity(4096),
        })
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        let mut tmp = [0u8; 16 * 1024];
        let n = self.stream.read(&mut tmp).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.buf.extend_from_slice(&tmp[..n]);
        Ok(())
    }

    /// Sends `req` and reads one whole response; returns its status and whether the server
    /// keeps the connection open.
    async fn exchange(&mut self, req: &[u8]) -> std::io::Result<(u16, bool)> {
        self.stream.write_all(req).await?;
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| std::io::Error::other("bad status line"))?;
        let keep =
            !header_value(&head, "connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        self.buf.drain(..head_end);
        if header_value(&head, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            loop {
                let line_end = loop {
                    if let Some(i) = find(&self.buf, b"\r\n") {
                        break i;
                    }
                    self.fill().await?;
                };
                let size_text = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
                let size =
                    usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                        .map_err(|_| std::io::Error::other("bad chunk size"))?;
                // chunk line, data, CRLF (the last chunk is followed by an empty trailer line)
                let need = line_end + 2 + size + 2;
                while self.buf.len() < need {
                    self.fill().await?;
                }
                self.buf.drain(..need);
                if size == 0 {
                    break;
                }
            }
        } else {
            let len = header_value(&head, "content-length")
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            while self.buf.len() < len {
                self.fill().await?;
            }
            self.buf.drain(..len);
        }
        Ok((status, keep))
    }
}

fn outcome(s: &mut Sample, r: &std::io::Result<(u16, bool)>) {
    match r {
        Ok((st, _)) if (200..300).contains(st) => {}
        Ok((503, _)) => {
            s.errors += 1;
            s.unavailable += 1;
        }
        _ => s.errors += 1,
    }
}

/// Runs `f` on a new thread with its own single-threaded runtime and waits for it.
fn on_own_runtime<F, Fut>(f: F) -> Sample
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Sample>,
{
    let h = std::thread::Builder::new()
        .name("phiguard-load".into())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(f()),
                Err(_) => Sample {
                    errors: 1,
                    ..Sample::default()
                },
            }
        });
    match h.map(std::thread::JoinHandle::join) {
        Ok(Ok(s)) => s,
        _ => Sample {
            errors: 1,
            ..Sample::default()
        },
    }
}

/// The open-loop schedule: `rate * secs` send times from `t0` on, each delivered when it is
/// due. The schedule is kept by a pacer thread with the OS timer (tens of microseconds late at
/// most), not by tokio's 1 ms timer wheel, which would add up to 1 ms to every latency
/// measured from the scheduled time. `None` when the thread cannot be started.
pub fn pace(
    t0: Instant,
    rate: u32,
    secs: u64,
) -> Option<tokio::sync::mpsc::UnboundedReceiver<Instant>> {
    let n = u64::from(rate) * secs;
    let period = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    std::thread::Builder::new()
        .name("phiguard-pacer".into())
        .spawn(move || {
            for i in 0..n {
                let due = t0 + period.mul_f64(i as f64);
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                if tx.send(due).is_err() {
                    break;
                }
            }
        })
        .ok()?;
    Some(rx)
}

/// Open loop at `rate` requests per second for `secs` seconds (see the module docs). Blocks
/// the calling thread; call it from a blocking context (`spawn_blocking`), never from inside
/// the server's runtime workers.
pub fn open_loop(target: &Target, rate: u32, secs: u64) -> Sample {
    let target = target.clone();
    on_own_runtime(move || open_loop_async(target, rate, secs))
}

async fn open_loop_async(target: Target, rate: u32, secs: u64) -> Sample {
    let req: Arc<[u8]> = target.request_bytes().into();
    let addr = target.addr;
    let idle: Arc<Mutex<Vec<Conn>>> = Arc::new(Mutex::new(Vec::new()));
    let t0 = Instant::now();
    let Some(mut rx) = pace(t0, rate, secs) else {
        return Sample {
            errors: 1,
            ..Sample::default()
        };
    };
    let mut handles = Vec::new();
    while let Some(due) = rx.recv().await {
        let req = req.clone();
        let idle = idle.clone();
        handles.push(tokio::spawn(async move {
            let conn = idle.lock().ok().and_then(|mut v| v.pop());
            let mut conn = match conn {
                Some(c) => c,
                None => match Conn::open(addr).await {
                    Ok(c) => c,
                    Err(e) => return (due.elapsed().as_secs_f64() * 1e6, Err(e)),
                },
            };
            let r = conn.exchange(&req).await;
            let us = due.elapsed().as_secs_f64() * 1e6;
            if matches!(r, Ok((_, true))) {
                if let Ok(mut v) = idle.lock() {
                    v.push(conn);
                }
            }
            (us, r)
        }));
    }
    let mut s = Sample {
        latencies_us: Vec::with_capacity(handles.len()),
        ..Sample::default()
    };
    for h in handles {
        if let Ok((us, r)) = h.await {
            s.latencies_us.push(us);
            outcome(&mut s, &r);
        } else {
            s.errors += 1;
        }
    }
    s.elapsed_secs = t0.elapsed().as_secs_f64();
    s
}

/// Closed loop: `conc` connections, each as fast as answers come, for `secs` seconds.
/// Blocks the calling thread (see [`open_loop`]).
pub fn closed_loop(target: &Target, conc: usize, secs: u64) -> Sample {
    let target = target.clone();
    on_own_runtime(move || closed_loop_async(target, conc, secs))
}

async fn closed_loop_async(target: Target, conc: usize, secs: u64) -> Sample {
    let req: Arc<[u8]> = target.request_bytes().into();
    let addr = target.addr;
    let t0 = Instant::now();
    let end = t0 + Duration::from_secs(secs);
    let mut hs = Vec::new();
    for _ in 0..conc.max(1) {
        let req = req.clone();
        hs.push(tokio::spawn(async move {
            let mut s = Sample::default();
            let mut conn: Option<Conn> = None;
            while Instant::now() < end {
                let t = Instant::now();
                let c = match conn.take() {
                    Some(c) => Ok(c),
                    None => Conn::open(addr).await,
                };
                let r = match c {
                    Ok(mut c) => {
                        let r = c.exchange(&req).await;
                        if matches!(r, Ok((_, true))) {
                            conn = Some(c);
                        }
                        r
                    }
                    Err(e) => Err(e),
                };
                s.latencies_us.push(t.elapsed().as_secs_f64() * 1e6);
                outcome(&mut s, &r);
            }
            s
        }));
    }
    let mut all = Sample::default();
    for h in hs {
        if let Ok(s) = h.await {
            all.latencies_us.extend(s.latencies_us);
            all.errors += s.errors;
            all.unavailable += s.unavailable;
        } else {
            all.errors += 1;
        }
    }
    all.elapsed_secs = t0.elapsed().as_secs_f64();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls_and_builds_requests() {
        let t = Target::parse(
            "http://127.0.0.1:8080/fhir/Observation/o1",
            Some("tok".into()),
        )
        .unwrap();
        assert_eq!(t.addr.port(), 8080);
        assert_eq!(t.path, "/fhir/Observation/o1");
        let r = String::from_utf8(t.request_bytes()).unwrap();
        assert!(r.starts_with("GET /fhir/Observation/o1 HTTP/1.1\r\n"));
        assert!(r.contains("Authorization: Bearer tok\r\n"));
        assert!(r.ends_with("\r\n\r\n"));
        assert!(Target::parse("https://127.0.0.1:1/", None).is_err());
        assert!(Target::parse("http://localhost:1/", None).is_err());
    }

    #[test]
    fn header_lookup_is_case_insensitive() {
        let h = "HTTP/1.1 200 OK\r\ncontent-length: 12\r\nConnection: Close\r\n\r\n";
        assert_eq!(header_value(h, "Content-Length"), Some("12"));
        assert_eq!(header_value(h, "connection"), Some("Close"));
        assert_eq!(header_value(h, "transfer-encoding"), None);
    }

    #[test]
    fn reads_fixed_and_chunked_bodies_on_one_connection() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let server = tokio::spawn(async move {
                let (mut s, _) = l.accept().await.unwrap();
                let mut buf = vec![0u8; 4096];
                let mut seen = Vec::new();
                let answers: [&[u8]; 3] = [
                    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                    b"HTTP/1.1 503 Service Unavailable\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                ];
                for a in answers {
                    loop {
                        let n = s.read(&mut buf).await.unwrap();
                        seen.extend_from_slice(&buf[..n]);
                        if find(&seen, b"\r\n\r\n").is_some() {
                            break;
                        }
                    }
                    seen.clear();
                    s.write_all(a).await.unwrap();
                }
            });
            let t = Target::parse(&format!("http://{addr}/x"), None).unwrap();
            let req = t.request_bytes();
            let mut c = Conn::open(addr).await.unwrap();
            assert_eq!(c.exchange(&req).await.unwrap(), (200, true));
            assert_eq!(c.exchange(&req).await.unwrap(), (503, true));
            assert_eq!(c.exchange(&req).await.unwrap(), (404, false));
            assert!(c.buf.is_empty());
            server.await.unwrap();
        });
    }
}
