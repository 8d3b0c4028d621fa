//! Reading one HTTP/1.1 request in the in-repo test servers that stand in for peers no real
//! server exists for (Snowflake's rarer replies, Google Sheets): just enough to route on the
//! request line, headers and body.

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// One request as a test server sees it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request line, e.g. `POST /session?delete=true HTTP/1.1`.
    pub line: String,
    /// The request line and headers, as sent.
    pub head: String,
    /// The body (its `content-length` bytes), as text.
    pub body: String,
}

impl Request {
    /// The method (`GET`, `POST`...).
    pub fn method(&self) -> &str {
        self.line.split_whitespace().next().unwrap_or_default()
    }

    /// The target (path and query).
    pub fn target(&self) -> &str {
        self.line.split_whitespace().nth(1).unwrap_or_default()
    }

    /// A header's value, its name matched in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Read the head, then the body by `content-length`; `None` when the client closed first.
pub async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut request = Request {
        line: head.lines().next().unwrap_or_default().to_owned(),
        head,
        body: String::new(),
    };
    let length: usize = request
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    request.body = String::from_utf8_lossy(&buf[head_end..]).into_owned();
    Some(request)
}
