//! The outbound HTTP the sign-in needs: one token exchange and one user fetch per sign-in.
//!
//! One HTTP/1.1 request per connection on hyper's client, over rustls (ring, Mozilla's roots)
//! for `https://` and plain TCP for `http://` — which the builder only allows to loopback
//! addresses, for tests and local providers. No pool (a sign-in is two requests), no
//! redirects followed (a token endpoint that redirects is misconfigured, and following one
//! would carry the client secret elsewhere), a time limit on the whole exchange, and a size
//! limit on the answer. It is oauth2's [`AsyncHttpClient`](oauth2::AsyncHttpClient).
//!
//! Nothing here logs: requests carry the client secret, the code and the access token, and
//! answers carry tokens. Errors name the host and what failed, never a header or a body.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONNECTION, HOST, USER_AGENT};
use http::{HeaderValue, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How long one request may take, connecting included: 10 s.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The largest answer read: 1 MiB (a token or a user is a few hundred bytes).
const MAX_ANSWER: usize = 1 << 20;

/// What requests say they are; GitHub's API refuses requests without a `User-Agent`.
const AGENT: &str = concat!("hyperbun/", env!("CARGO_PKG_VERSION"));

/// A request to a provider failed. Names the host and the step, never a header or a body.
#[derive(Debug)]
pub(crate) struct HttpError {
    host: String,
    what: String,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.host, self.what)
    }
}

impl std::error::Error for HttpError {}

/// The client: rustls settings for `https://`.
#[derive(Clone)]
pub(crate) struct HttpClient {
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    pub(crate) fn new() -> Self {
        HttpClient {
            tls: crate::client::tls::default_config(),
            timeout: TIMEOUT,
        }
    }

    /// Sends `request` (whose URI is absolute) and reads the whole answer.
    pub(crate) async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        let host = request
            .uri()
            .authority()
            .map_or_else(|| "(no host)".to_owned(), ToString::to_string);
        let timeout = self.timeout;
        match tokio::time::timeout(timeout, self.send_now(request, &host)).await {
            Ok(answer) => answer,
            Err(_) => Err(HttpError {
                host,
                what: format!("no answer within {} s", timeout.as_secs()),
            }),
        }
    }

    async fn send_now(
        &self,
        request: http::Request<Vec<u8>>,
        host: &str,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        let fail = |what: String| HttpError {
            host: host.to_owned(),
            what,
        };
        let target = Target::of(request.uri()).map_err(|e| fail(e.to_owned()))?;
        let tcp = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| fail(format!("cannot connect: {e}")))?;
        let _ = tcp.set_nodelay(true);
        let (parts, body) = request.into_parts();
        let mut outgoing = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
        *outgoing.uri_mut() = target.origin_form;
        let headers = outgoing.headers_mut();
        headers.insert(
            HOST,
            HeaderValue::try_from(target.host_header).map_err(|_| fail("bad host".into()))?,
        );
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
        headers
            .entry(USER_AGENT)
            .or_insert(HeaderValue::from_static(AGENT));
        if target.secure {
            let name = rustls::pki_types::ServerName::try_from(target.host.clone())
                .map_err(|_| fail("not a valid TLS server name".into()))?;
            let tls = tokio_rustls::TlsConnector::from(Arc::clone(&self.tls))
                .connect(name, tcp)
                .await
                .map_err(|e| fail(format!("TLS handshake failed: {e}")))?;
            exchange(TokioIo::new(tls), outgoing).await.map_err(fail)
        } else {
            exchange(TokioIo::new(tcp), outgoing).await.map_err(fail)
        }
    }
}

/// One request and its answer on a fresh HTTP/1.1 connection.
async fn exchange<I>(
    io: I,
    request: http::Request<Full<Bytes>>,
) -> Result<http::Response<Vec<u8>>, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP handshake failed: {e}"))?;
    // Drives the connection; it ends with the answer (`Connection: close`).
    let connection = tokio::spawn(connection);
    let answer = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    format!("answer larger than {MAX_ANSWER} bytes")
                } else {
                    format!("reading the answer failed: {e}")
                }
            })?
            .to_bytes();
        Ok(http::Response::from_parts(parts, body.to_vec()))
    };
    let result = answer.await;
    connection.abort();
    result
}

/// Where a request goes.
struct Target {
    secure: bool,
    host: String,
    port: u16,
    host_header: String,
    origin_form: Uri,
}

impl Target {
    fn of(uri: &Uri) -> Result<Target, &'static str> {
        let secure = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err("only http:// and https:// URLs"),
        };
        let authority = uri.authority().ok_or("no host in the URL")?;
        let port = authority
            .port_u16()
            .unwrap_or(if secure { 443 } else { 80 });
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let origin_form = uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .parse()
            .map_err(|_| "bad path")?;
        Ok(Target {
            secure,
            host,
            port,
            host_header: authority.as_str().to_owned(),
            origin_form,
        })
    }
}

impl<'c> oauth2::AsyncHttpClient<'c> for HttpClient {
    type Error = HttpError;
    type Future =
        Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

/// True when `host` is a loopback address or `localhost`: where plain `http://` may carry
/// secrets (tests, a provider on the same machine).
pub(crate) fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use crate::test::TestServer;

    #[post("/echo")]
    async fn echo(headers: HeaderMap, body: Bytes) -> (StatusCode, HeaderMap, Bytes) {
        let mut answer = HeaderMap::new();
        for name in ["host", "user-agent", "connection", "x-test"] {
            if let Some(value) = headers.get(name) {
                answer.insert(
                    http::HeaderName::try_from(format!("echo-{name}")).unwrap(),
                    value.clone(),
                );
            }
        }
        (StatusCode::CREATED, answer, body)
    }

    #[get("/big")]
    async fn big() -> Vec<u8> {
        vec![b'x'; MAX_ANSWER + 1]
    }

    #[tokio::test]
    async fn a_request_and_its_answer() {
        let app = TestServer::start(crate::router![echo, big]).await;
        let client = HttpClient::new();
        let url = format!("http://{}/echo?a=1", app.addr());
        let request = http::Request::post(&url)
            .header("x-test", "yes")
            .body(b"hello".to_vec())
            .unwrap();
        let answer = client.send(request).await.unwrap();
        assert_eq!(answer.status(), StatusCode::CREATED);
        assert_eq!(answer.body(), b"hello");
        let h = answer.headers();
        assert_eq!(h["echo-host"], app.addr().to_string().as_str());
        assert_eq!(h["echo-x-test"], "yes");
        assert_eq!(h["echo-connection"], "close");
        assert!(h["echo-user-agent"]
            .to_str()
            .unwrap()
            .starts_with("hyperbun/"));

        let request = http::Request::get(format!("http://{}/big", app.addr()))
            .body(Vec::new())
            .unwrap();
        let error = client.send(request).await.unwrap_err().to_string();
        assert!(error.contains("answer larger than"), "{error}");
        app.stop().await;
    }

    #[tokio::test]
    async fn failures_name_the_host_and_the_step() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let request = http::Request::get(format!("http://{addr}/token"))
            .body(Vec::new())
            .unwrap();
        let error = HttpClient::new()
            .send(request)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!("{addr}: cannot connect")),
            "{error}"
        );

        // A server that accepts and never answers.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        let client = HttpClient {
            timeout: Duration::from_millis(200),
            ..HttpClient::new()
        };
        let request = http::Request::get(format!("http://{addr}/token"))
            .body(Vec::new())
            .unwrap();
        let error = client.send(request).await.unwrap_err().to_string();
        assert!(error.contains("no answer within"), "{error}");
        drop(silent);
    }

    #[test]
    fn loopback_hosts() {
        for host in [
            "127.0.0.1",
            "127.3.4.5",
            "localhost",
            "LOCALHOST",
            "[::1]",
            "::1",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["example.com", "10.0.0.1", "[::2]", "localhost.example.com"] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
