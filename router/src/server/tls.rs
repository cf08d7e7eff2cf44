//! HTTPS and `wss://` on the server side: [`TlsConfig`], the certificate chain and private key
//! a listener terminates TLS with (feature `tls`).
//!
//! # The reload model
//!
//! Certificates expire and are renewed while a server runs, so a [`TlsConfig`] is a shared
//! slot, not a value: every clone points at the same *current* [`rustls::ServerConfig`]. The
//! application keeps a clone, and when the files are renewed it calls
//! [`reload_from_pem_files`](TlsConfig::reload_from_pem_files) (or another `reload*`).
//!
//! A reload **swaps** the current config for a new one; it never mutates the old one. The
//! accept loop takes the current config once per accepted connection, and the handshake and
//! the whole connection then hold their own reference to it. So:
//!
//! - connections already open keep the certificate they were established with, undisturbed;
//! - every connection accepted after the reload gets the new one;
//! - a reload that fails (a missing file, a key that does not match) changes nothing: the
//!   new config is built and checked in full before the swap.
//!
//! # Why two configs are kept
//!
//! HTTP/2 is negotiated in the TLS handshake through ALPN. A listener that serves only
//! HTTP/1.1 must not offer `h2`, or a client that prefers it would pick it and then speak a
//! protocol the server does not. The ALPN list lives in the immutable `ServerConfig`, so both
//! variants (with `h2` and without it) are built when the config is created or reloaded, and
//! picking one for a connection costs an `Arc` clone under a read lock that is never held
//! across an `.await`.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The ALPN protocols offered when the config does not name its own: HTTP/2 first, then
/// HTTP/1.1.
const DEFAULT_ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The certificate chain and private key a server terminates TLS with (feature `tls`).
///
/// Build one from PEM files ([`from_pem_files`](Self::from_pem_files)), PEM bytes
/// ([`from_pem`](Self::from_pem)), DER ([`from_der`](Self::from_der)) or a
/// [`rustls::ServerConfig`] of your own ([`from_rustls`](Self::from_rustls)). PKCS#8, PKCS#1
/// (RSA) and SEC1 (EC) private keys are accepted. Unless the config names its own, the ALPN
/// protocols offered are `h2` and `http/1.1`.
///
/// Cheap to clone (an `Arc` inside), and all clones share one current config: a clone kept
/// by the application can [reload](Self::reload_from_pem_files) the certificates while the
/// server runs. Connections already open keep theirs; new ones get the new ones.
///
/// # Examples
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// # let dir = std::env::temp_dir().join(format!("hyperbun-doc-tls-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
/// # std::fs::write(dir.join("cert.pem"), cert.cert.pem())?;
/// # std::fs::write(dir.join("key.pem"), cert.signing_key.serialize_pem())?;
/// use hyperbun::TlsConfig;
///
/// let tls = TlsConfig::from_pem_files(dir.join("cert.pem"), dir.join("key.pem"))?;
///
/// // Later, when the certificate has been renewed (a clone shares the same config):
/// let handle = tls.clone();
/// handle.reload_from_pem_files(dir.join("cert.pem"), dir.join("key.pem"))?;
///
/// // A missing file is an error that names it, and the config in place stays.
/// let error = handle
///     .reload_from_pem_files(dir.join("renewed.pem"), dir.join("key.pem"))
///     .unwrap_err();
/// assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
/// assert!(error.to_string().contains("renewed.pem"));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    current: Arc<RwLock<Configs>>,
}

/// One config in both its ALPN variants.
#[derive(Clone)]
struct Configs {
    /// The config as given (with the default ALPN list if it had none).
    http2: Arc<rustls::ServerConfig>,
    /// The same without `h2` among its ALPN protocols.
    http1: Arc<rustls::ServerConfig>,
}

impl Configs {
    fn new(mut config: rustls::ServerConfig) -> Self {
        if config.alpn_protocols.is_empty() {
            config.alpn_protocols = DEFAULT_ALPN.iter().map(|p| p.to_vec()).collect();
        }
        let mut http1 = config.clone();
        http1.alpn_protocols.retain(|p| p != b"h2");
        let same = http1.alpn_protocols.len() == config.alpn_protocols.len();
        let http2 = Arc::new(config);
        let http1 = if same {
            Arc::clone(&http2)
        } else {
            Arc::new(http1)
        };
        Configs { http2, http1 }
    }
}

impl fmt::Debug for TlsConfig {
    /// The ALPN protocols offered; never the keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let configs = self.current();
        let alpn: Vec<_> = configs
            .http2
            .alpn_protocols
            .iter()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        f.debug_struct("TlsConfig")
            .field("alpn_protocols", &alpn)
            .finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Reads a PEM certificate chain (the server's certificate first, then any
    /// intermediates) and a PEM private key (PKCS#8, PKCS#1 or SEC1) from files.
    ///
    /// # Errors
    ///
    /// Every error names the file at fault: [`NotFound`](io::ErrorKind::NotFound) (or the
    /// error reading it) for a file that cannot be read;
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) for a certificate file without a
    /// `CERTIFICATE` block, a key file without a private key, malformed PEM, or a key that
    /// does not match the certificate.
    pub fn from_pem_files(
        cert_chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> io::Result<TlsConfig> {
        build_from_pem_files(cert_chain.as_ref(), key.as_ref()).map(Self::from_configs)
    }

    /// Parses a PEM certificate chain and a PEM private key (PKCS#8, PKCS#1 or SEC1) held in
    /// memory.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput), saying whether the certificate chain
    /// or the private key is at fault: no `CERTIFICATE` block, no private key, malformed PEM,
    /// or a key that does not match the certificate.
    ///
    /// # Examples
    ///
    /// ```
    /// use hyperbun::TlsConfig;
    ///
    /// let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// let key_pem = cert.signing_key.serialize_pem();
    /// let tls = TlsConfig::from_pem(cert.cert.pem().as_bytes(), key_pem.as_bytes()).unwrap();
    /// assert_eq!(
    ///     format!("{tls:?}"),
    ///     r#"TlsConfig { alpn_protocols: ["h2", "http/1.1"], .. }"#
    /// );
    ///
    /// // The key where the certificate should be:
    /// let error = TlsConfig::from_pem(key_pem.as_bytes(), key_pem.as_bytes()).unwrap_err();
    /// assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    /// assert_eq!(error.to_string(), "TLS certificate chain has no CERTIFICATE block");
    /// ```
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> io::Result<TlsConfig> {
        build_from_pem(cert_chain, key, &Names::bytes()).map(Self::from_configs)
    }

    /// Uses a DER certificate chain (the server's certificate first) and private key.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) for an empty chain, a key rustls cannot
    /// use, or a key that does not match the certificate.
    pub fn from_der(
        cert_chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> io::Result<TlsConfig> {
        build_from_der(cert_chain, key, &Names::bytes()).map(Self::from_configs)
    }

    /// A [`rustls::ServerConfig`] built by the application: client certificates, a custom
    /// certificate resolver (SNI), session settings, its own ALPN list. If its
    /// `alpn_protocols` is empty, hyperbun offers `h2` and `http/1.1`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use hyperbun::TlsConfig;
    ///
    /// let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der())
    ///     .unwrap();
    /// let provider = Arc::new(rustls::crypto::ring::default_provider());
    /// let mut config = rustls::ServerConfig::builder_with_provider(provider)
    ///     .with_safe_default_protocol_versions()
    ///     .unwrap()
    ///     .with_no_client_auth()
    ///     .with_single_cert(vec![cert.cert.der().clone()], key)
    ///     .unwrap();
    /// config.alpn_protocols = vec![b"http/1.1".to_vec()]; // HTTP/1.1 only
    /// let tls = TlsConfig::from_rustls(config);
    /// assert_eq!(
    ///     format!("{tls:?}"),
    ///     r#"TlsConfig { alpn_protocols: ["http/1.1"], .. }"#
    /// );
    /// ```
    #[must_use]
    pub fn from_rustls(config: rustls::ServerConfig) -> TlsConfig {
        Self::from_configs(Configs::new(config))
    }

    /// Reads new certificates as [`from_pem_files`](Self::from_pem_files) does and swaps
    /// them in for every connection accepted from now on (by this config and all its
    /// clones). Connections already open keep theirs.
    ///
    /// # Errors
    ///
    /// As [`from_pem_files`](Self::from_pem_files). On error the config in place stays.
    pub fn reload_from_pem_files(
        &self,
        cert_chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> io::Result<()> {
        let configs = build_from_pem_files(cert_chain.as_ref(), key.as_ref())?;
        self.replace(configs);
        Ok(())
    }

    /// Parses new certificates as [`from_pem`](Self::from_pem) does and swaps them in for
    /// new connections.
    ///
    /// # Errors
    ///
    /// As [`from_pem`](Self::from_pem). On error the config in place stays.
    pub fn reload_from_pem(&self, cert_chain: &[u8], key: &[u8]) -> io::Result<()> {
        let configs = build_from_pem(cert_chain, key, &Names::bytes())?;
        self.replace(configs);
        Ok(())
    }

    /// Swaps in `config`'s current certificates and settings for new connections. Reloads
    /// of `config` afterwards do not reach this one (unless it is a clone of this one).
    pub fn reload(&self, config: TlsConfig) {
        let configs = config.current();
        self.replace(configs);
    }

    /// Swaps in a [`rustls::ServerConfig`] for new connections, with the default ALPN list
    /// if it has none (as [`from_rustls`](Self::from_rustls)).
    pub fn reload_rustls(&self, config: rustls::ServerConfig) {
        self.replace(Configs::new(config));
    }

    /// The current config for one new connection; with `http2 == false`, one whose ALPN
    /// list has no `h2`, so clients fall back to HTTP/1.1. Costs an `Arc` clone.
    pub(crate) fn server_config(&self, http2: bool) -> Arc<rustls::ServerConfig> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        if http2 {
            Arc::clone(&current.http2)
        } else {
            Arc::clone(&current.http1)
        }
    }

    fn from_configs(configs: Configs) -> Self {
        TlsConfig {
            current: Arc::new(RwLock::new(configs)),
        }
    }

    fn current(&self) -> Configs {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, configs: Configs) {
        let old = std::mem::replace(
            &mut *self.current.write().unwrap_or_else(PoisonError::into_inner),
            configs,
        );
        // The old config is dropped outside the lock (or lives on in open connections).
        drop(old);
    }
}

/// How errors name the two inputs: `TLS certificate chain /etc/cert.pem`, or just `TLS
/// certificate chain` for bytes.
struct Names {
    cert_chain: String,
    key: String,
}

impl Names {
    fn bytes() -> Self {
        Names {
            cert_chain: "TLS certificate chain".to_owned(),
            key: "TLS private key".to_owned(),
        }
    }

    fn files(cert_chain: &Path, key: &Path) -> Self {
        Names {
            cert_chain: format!("TLS certificate chain {}", cert_chain.display()),
            key: format!("TLS private key {}", key.display()),
        }
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

fn build_from_pem_files(cert_chain: &Path, key: &Path) -> io::Result<Configs> {
    let names = Names::files(cert_chain, key);
    let read = |path: &Path, name: &str| {
        std::fs::read(path)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot read {name}: {e}")))
    };
    let cert_pem = read(cert_chain, &names.cert_chain)?;
    let key_pem = read(key, &names.key)?;
    build_from_pem(&cert_pem, &key_pem, &names)
}

fn build_from_pem(cert_chain: &[u8], key: &[u8], names: &Names) -> io::Result<Configs> {
    let chain = CertificateDer::pem_slice_iter(cert_chain)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("{} is not valid PEM: {e}", names.cert_chain)))?;
    if chain.is_empty() {
        return Err(invalid(format!(
            "{} has no CERTIFICATE block",
            names.cert_chain
        )));
    }
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| match e {
        pem::Error::NoItemsFound => invalid(format!(
            "{} has no private key (a PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block)",
            names.key
        )),
        e => invalid(format!("{} is not valid PEM: {e}", names.key)),
    })?;
    build_from_der(chain, key, names)
}

fn build_from_der(
    cert_chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    names: &Names,
) -> io::Result<Configs> {
    if cert_chain.is_empty() {
        return Err(invalid(format!("{} is empty", names.cert_chain)));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(format!("TLS protocol versions: {e}")))?
        .with_no_client_auth()
        .with_single_cert(cert_chain, key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                invalid(format!("{} does not match {}", names.key, names.cert_chain))
            }
            e => invalid(format!(
                "cannot use {} with {}: {e}",
                names.cert_chain, names.key
            )),
        })?;
    Ok(Configs::new(config))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use rustls::pki_types::ServerName;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use tokio_rustls::TlsAcceptor;

    use super::*;

    /// A self-signed certificate for `localhost`, as PEM.
    struct Pem {
        cert: String,
        key: String,
        der: CertificateDer<'static>,
    }

    fn self_signed() -> Pem {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
        Pem {
            cert: cert.cert.pem(),
            key: cert.signing_key.serialize_pem(),
            der: cert.cert.der().clone(),
        }
    }

    /// A directory of its own for each test, under the system's temp dir.
    fn temp_dir(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hyperbun-tls-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    fn write_pair(dir: &Path, pem: &Pem) -> (PathBuf, PathBuf) {
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        std::fs::write(&cert, &pem.cert).expect("write cert");
        std::fs::write(&key, &pem.key).expect("write key");
        (cert, key)
    }

    /// What a client saw of a handshake.
    struct Handshake {
        alpn: Option<Vec<u8>>,
        peer_cert: CertificateDer<'static>,
    }

    /// A handshake over an in-memory pipe between a server with `config` and a client that
    /// trusts `roots` and offers `alpn`; one byte is echoed to prove the session works.
    async fn handshake(
        config: Arc<rustls::ServerConfig>,
        roots: &[&CertificateDer<'static>],
        alpn: &[&[u8]],
    ) -> Handshake {
        let mut store = rustls::RootCertStore::empty();
        for root in roots {
            store.add((*root).clone()).expect("root");
        }
        let mut client = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(store)
        .with_no_client_auth();
        client.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client));

        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let server = tokio::spawn(async move {
            let acceptor = TlsAcceptor::from(config);
            let mut tls = acceptor.accept(server_io).await.expect("server handshake");
            let mut byte = [0u8];
            tls.read_exact(&mut byte).await.expect("server read");
            tls.write_all(&byte).await.expect("server write");
            tls.flush().await.expect("server flush");
        });
        let name = ServerName::try_from("localhost").expect("name");
        let mut tls = connector
            .connect(name, client_io)
            .await
            .expect("client handshake");
        tls.write_all(b"x").await.expect("client write");
        let mut byte = [0u8];
        tls.read_exact(&mut byte).await.expect("client read");
        assert_eq!(&byte, b"x");
        server.await.expect("server task");
        let (_, session) = tls.get_ref();
        Handshake {
            alpn: session.alpn_protocol().map(<[u8]>::to_vec),
            peer_cert: session.peer_certificates().expect("peer certs")[0].clone(),
        }
    }

    fn alpn_of(tls: &TlsConfig, http2: bool) -> Vec<Vec<u8>> {
        tls.server_config(http2).alpn_protocols.clone()
    }

    fn rustls_config(pem: &Pem) -> rustls::ServerConfig {
        let key = PrivateKeyDer::from_pem_slice(pem.key.as_bytes()).expect("key");
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![pem.der.clone()], key)
        .expect("config")
    }

    #[tokio::test]
    async fn pem_files_load_and_a_client_offering_h2_gets_h2() {
        let dir = temp_dir("h2");
        let pem = self_signed();
        let (cert, key) = write_pair(&dir, &pem);
        let tls = TlsConfig::from_pem_files(&cert, &key).expect("loads");
        let seen = handshake(tls.server_config(true), &[&pem.der], &[b"h2", b"http/1.1"]).await;
        assert_eq!(seen.alpn.as_deref(), Some(&b"h2"[..]));
        assert_eq!(seen.peer_cert, pem.der);
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn without_http2_an_h2_client_falls_back_to_http1() {
        let pem = self_signed();
        let tls = TlsConfig::from_pem(pem.cert.as_bytes(), pem.key.as_bytes()).expect("loads");
        let seen = handshake(tls.server_config(false), &[&pem.der], &[b"h2", b"http/1.1"]).await;
        assert_eq!(seen.alpn.as_deref(), Some(&b"http/1.1"[..]));
        assert_eq!(alpn_of(&tls, false), [b"http/1.1".to_vec()]);
    }

    // Keys in their traditional encodings with self-signed certificates for `localhost`
    // (valid for a century), made by `openssl genrsa -traditional` and `openssl ecparam
    // -genkey`: rcgen writes only PKCS#8, and ring cannot generate RSA keys.
    const RSA_PKCS1_KEY: &str = "\
-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEAvUI6j66F1GQ94gp7/2n00yf0bIiSDjI22u3osS+qS2Ay90+5
8FTigNhIk1FPSLH/AVFchHBgpgLWdsi61EO+52Ovj30+OEzGKvAqS+lbtGrQqsKt
XTJ3EO3eYF3uDSfJs+8EM96+on0bKVBZ0pMOHPnvEwe0cGAT7uqu92FhwgQEF6dD
L4eP0FOC7ST8u2FThu/5TXwo+xnh+JfVryA+X5QMvyGNADOlJBMRYJwKHy4pmUQX
fJfZYs7TkX7Yvw9A7NHmqtsJwPe7BRepqgqx/qTwG5KGTeR8rh6xpfx1GmMxG3op
I9m3MJoo1E+QMKmLw88Wh0kq5+SszMsK/ASQkwIDAQABAoIBABZh6sMWBMXQRRv3
2XT6IaDcrM+D0fd+gMug2frP2aKocd6bEzEVGOSGr66cgx/kd8q+xeOegWT2GPRb
W50W61Dk590JwX4EYRCwQ+WjvNtiy+LQuz1hESvIte/3q9uVGl7+pCSY8eVi86oN
0qb7X+6VWxeJEGc/NZxKglQctDmu7hK6VLC87Dbt/5abaozyshuj5mFbu60amaX4
NSDmuavIZhsUrJH5JCy7k2gL+gLxo8Y0VAjQMGJRccWUR2pHOogViueToOncz7F0
kF+MhITN3C/izmxxiiwuKbwPlIlzC/8DpBO6+fKWWAjFR98WmaFaK58giJhlJJmx
FLk4DSECgYEA+nG6nU8TW5y9dXiszFF6iW+4Jw4Mvq5MydSQcBJOKiusnZXYYez2
5eHNLbj7wwbmtA+Ve+6wW4uRzuJXOl98/ReXVuRHPCzso2kraH78uuP1JWy9zFPS
NOyBEm2S985j8EkEc90VEJFIA8fEtDhKGp+V83TuDr7CZfd3qkgONpUCgYEAwXUH
C/JH0zAfPVmBnosysz7Jevbrv3G4Cmz8EIlFpBWJZGOLxGBWZSMDbfNOS/mNIKKm
H0guy6nRS56dyX3Ic1R0o4MoYAwrXZnBpvuu1pqKxBuCS/3cKGM6g7XhY3Sz/ImK
9ww6Lh+Y9hagxQN6JmiUIke574StlXtXkdzkqIcCgYBlRnRWhNGpLFsZE/Gcth49
UaZAdNgGi+mVfJXkHCLrvrmRCDV2dCLrl0IniTSWC0Zj7iFe+ojqnCgcZz8q5c5f
cpjKlImR9gDDnBXnreJ5mRFbTvv5krPgnvsa/qB+AUI8uupICFEqX/WlQbVzw4eD
+KDk0JYr9Ewce9QyUe0deQKBgQCmyvdgXWt/saW9h0YyI2F7GU8tLWbkkG9UzdIl
j7TzW34xh4Ihtc3HNQDn8zY2WtpKoPEJV3rBLZC92evApSoGBXLq51IQPW3GLaLB
DY4YiPXLTsxwKFeAms0Acff5f80OlqexiGFBEw0WXzwNoInYQ6I0TBMLZyEiGE3P
/NtIUQKBgEZbW+HCmk18858QTt4hsB6bGKvMo4cNeAIgKuBvGEEI+399OJ/Sj+DL
Nkzm56l5jPN0Wu43PUpf5X4sSFLI/9thoSyGV2lCJMuVcMGXRZ+A0Yqx9WJThml+
0GhO3PpPUJIqqcrgs+OmsJVFJsscL9hTR4LhE9gtd83+OvuIoWIl
-----END RSA PRIVATE KEY-----
";
    const RSA_CERT: &str = "\
-----BEGIN CERTIFICATE-----
MIIDITCCAgmgAwIBAgIUYFZnS6M7OYpnN26xFgI2GpJulDswDQYJKoZIhvcNAQEL
BQAwFDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwNzIxMjQzMFoYDzIxMjYx
MTEzMjEyNDMwWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwggEiMA0GCSqGSIb3DQEB
AQUAA4IBDwAwggEKAoIBAQC9QjqProXUZD3iCnv/afTTJ/RsiJIOMjba7eixL6pL
YDL3T7nwVOKA2EiTUU9Isf8BUVyEcGCmAtZ2yLrUQ77nY6+PfT44TMYq8CpL6Vu0
atCqwq1dMncQ7d5gXe4NJ8mz7wQz3r6ifRspUFnSkw4c+e8TB7RwYBPu6q73YWHC
BAQXp0Mvh4/QU4LtJPy7YVOG7/lNfCj7GeH4l9WvID5flAy/IY0AM6UkExFgnAof
LimZRBd8l9liztORfti/D0Ds0eaq2wnA97sFF6mqCrH+pPAbkoZN5HyuHrGl/HUa
YzEbeikj2bcwmijUT5AwqYvDzxaHSSrn5KzMywr8BJCTAgMBAAGjaTBnMB0GA1Ud
DgQWBBSYSsRvmmzjJIuo7yT0Ss27OevzZzAfBgNVHSMEGDAWgBSYSsRvmmzjJIuo
7yT0Ss27OevzZzAPBgNVHRMBAf8EBTADAQH/MBQGA1UdEQQNMAuCCWxvY2FsaG9z
dDANBgkqhkiG9w0BAQsFAAOCAQEAVuR7GWgpB+pRPwNDQby8Q+d4eT3IiOt2Epp4
QfMMb3S8rXiqo8rdJWpEzzkQA+QjJrvme+wsydnqCF/Dkslcd0b72ioiEXQnAibR
j8C1Fq1zvDWF4G08yJszsxQzKsQQt8xP1bbJmRKqJt6kv5RDOouo4KpcUZK2O3L7
Ix4syrCzlz31z6fDmX9iBnYgJo1He1UdYraQ7XkDXVhtVHispW/nZEMPJ8MyF2nb
hC0VM8lsO5KcVjBfmRV75x/clBHm0LLxua/GBJd0NJvD2wVhm5qhNjx3ZLWEJfjb
ezSc7pGpLnoncn0lo/fbCjsSjjNNqL1r7aFs7xBQ2s3RIA4zTQ==
-----END CERTIFICATE-----
";
    const EC_SEC1_KEY: &str = "\
-----BEGIN EC PRIVATE KEY-----
MHcCAQEEILcHzmo9omA7ml6UqWgOMX1GNMzkHbWKF/+C+keS3W69oAoGCCqGSM49
AwEHoUQDQgAEgNwhMUtTRxHH6dwysWCnXIalGXWBq0EaL0wl78BVEIoFLBz4xF25
eQypgls+xN5JR6geD7xRk/RYt5RPEC9zwQ==
-----END EC PRIVATE KEY-----
";
    const EC_CERT: &str = "\
-----BEGIN CERTIFICATE-----
MIIBlTCCATugAwIBAgIUSdEsoFMy3pUFpv+p8F8h3O3BI2IwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwNzIxMjQzMVoYDzIxMjYxMTEz
MjEyNDMxWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAASA3CExS1NHEcfp3DKxYKdchqUZdYGrQRovTCXvwFUQigUsHPjEXbl5
DKmCWz7E3klHqB4PvFGT9Fi3lE8QL3PBo2kwZzAdBgNVHQ4EFgQUhfOtsuGMWcLL
dmqv7b5qzSAZYEMwHwYDVR0jBBgwFoAUhfOtsuGMWcLLdmqv7b5qzSAZYEMwDwYD
VR0TAQH/BAUwAwEB/zAUBgNVHREEDTALgglsb2NhbGhvc3QwCgYIKoZIzj0EAwID
SAAwRQIgGekH0zs77x2gXkSb9/BRAYUdhUvtEHLVJyQlY7Z2gr8CIQDytNmpDQeK
iCEWo4b7lf3afrKSHhk9gxp28R/CGfGisw==
-----END CERTIFICATE-----
";

    #[test]
    fn pkcs8_pkcs1_and_sec1_keys_are_accepted() {
        let pkcs8 = self_signed();
        assert!(pkcs8.key.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(RSA_PKCS1_KEY.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        assert!(EC_SEC1_KEY.starts_with("-----BEGIN EC PRIVATE KEY-----"));
        for (cert, key) in [
            (pkcs8.cert.as_str(), pkcs8.key.as_str()),
            (RSA_CERT, RSA_PKCS1_KEY),
            (EC_CERT, EC_SEC1_KEY),
        ] {
            // Loading checks the key against the certificate, so a success means it was read.
            if let Err(e) = TlsConfig::from_pem(cert.as_bytes(), key.as_bytes()) {
                panic!("{}: {e}", key.lines().next().unwrap_or_default());
            }
        }
    }

    #[test]
    fn a_missing_cert_file_is_not_found_and_names_the_path() {
        let dir = temp_dir("missing-cert");
        let pem = self_signed();
        let (_, key) = write_pair(&dir, &pem);
        let missing = dir.join("nope.pem");
        let error = TlsConfig::from_pem_files(&missing, &key).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "cannot read TLS certificate chain {}: ",
                missing.display()
            )),
            "{message}"
        );
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_missing_key_file_is_not_found_and_names_the_path() {
        let dir = temp_dir("missing-key");
        let pem = self_signed();
        let (cert, _) = write_pair(&dir, &pem);
        let missing = dir.join("nope.key");
        let error = TlsConfig::from_pem_files(&cert, &missing).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "cannot read TLS private key {}: ",
                missing.display()
            )),
            "{message}"
        );
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_key_that_does_not_match_the_cert_is_invalid_input() {
        let dir = temp_dir("mismatch");
        let pem = self_signed();
        let other = self_signed();
        let (cert, _) = write_pair(&dir, &pem);
        let key = dir.join("other.key");
        std::fs::write(&key, &other.key).expect("write");
        let error = TlsConfig::from_pem_files(&cert, &key).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            error.to_string(),
            format!(
                "TLS private key {} does not match TLS certificate chain {}",
                key.display(),
                cert.display()
            )
        );
        // From bytes: the same, without paths.
        let error = TlsConfig::from_pem(pem.cert.as_bytes(), other.key.as_bytes()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "TLS private key does not match TLS certificate chain"
        );
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_file_without_a_certificate_is_invalid_input_naming_it() {
        let dir = temp_dir("no-cert");
        let pem = self_signed();
        let (_, key) = write_pair(&dir, &pem);
        // The key where the certificate should be.
        let error = TlsConfig::from_pem_files(&key, &key).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            error.to_string(),
            format!(
                "TLS certificate chain {} has no CERTIFICATE block",
                key.display()
            )
        );
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_key_file_without_a_key_is_invalid_input_naming_it() {
        let dir = temp_dir("no-key");
        let pem = self_signed();
        let (cert, _) = write_pair(&dir, &pem);
        let error = TlsConfig::from_pem_files(&cert, &cert).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "TLS private key {} has no private key",
                cert.display()
            )),
            "{message}"
        );
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn garbage_pem_is_invalid_input_with_the_reason() {
        let pem = self_signed();
        let broken = "-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n";
        let error = TlsConfig::from_pem(broken.as_bytes(), pem.key.as_bytes()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        let message = error.to_string();
        assert!(
            message.starts_with("TLS certificate chain is not valid PEM: "),
            "{message}"
        );
        // Valid PEM around a certificate that is not DER: rustls's reason.
        let junk = "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n";
        let error = TlsConfig::from_pem(junk.as_bytes(), pem.key.as_bytes()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(
            error
                .to_string()
                .starts_with("cannot use TLS certificate chain with TLS private key: "),
            "{error}"
        );
    }

    #[test]
    fn an_empty_der_chain_is_invalid_input() {
        let pem = self_signed();
        let key = PrivateKeyDer::from_pem_slice(pem.key.as_bytes()).expect("key");
        let error = TlsConfig::from_der(Vec::new(), key).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(error.to_string(), "TLS certificate chain is empty");
    }

    #[tokio::test]
    async fn reload_swaps_the_certificate_for_new_handshakes_and_a_failed_reload_keeps_the_old_one()
    {
        let dir = temp_dir("reload");
        let first = self_signed();
        let second = self_signed();
        let (cert, key) = write_pair(&dir, &first);
        let tls = TlsConfig::from_pem_files(&cert, &key).expect("loads");
        let server_side = tls.clone(); // what the accept loop would hold
        let roots = [&first.der, &second.der];

        let before = server_side.server_config(true); // a connection accepted before the reload
        assert_eq!(
            handshake(server_side.server_config(true), &roots, &[b"h2"])
                .await
                .peer_cert,
            first.der
        );

        write_pair(&dir, &second);
        tls.reload_from_pem_files(&cert, &key).expect("reloads");
        assert_eq!(
            handshake(server_side.server_config(true), &roots, &[b"h2"])
                .await
                .peer_cert,
            second.der
        );
        assert_eq!(
            handshake(
                server_side.server_config(false),
                &roots,
                &[b"h2", b"http/1.1"]
            )
            .await
            .peer_cert,
            second.der
        );
        // The config taken before keeps the old certificate.
        assert_eq!(handshake(before, &roots, &[]).await.peer_cert, first.der);

        // A failed reload changes nothing.
        let error = tls
            .reload_from_pem_files(dir.join("gone.pem"), &key)
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        let error = tls
            .reload_from_pem(second.cert.as_bytes(), first.key.as_bytes())
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            handshake(server_side.server_config(true), &roots, &[])
                .await
                .peer_cert,
            second.der
        );

        // From bytes, from another TlsConfig, and from a rustls config.
        tls.reload_from_pem(first.cert.as_bytes(), first.key.as_bytes())
            .expect("reloads");
        assert_eq!(
            handshake(server_side.server_config(true), &roots, &[])
                .await
                .peer_cert,
            first.der
        );
        let other =
            TlsConfig::from_pem(second.cert.as_bytes(), second.key.as_bytes()).expect("loads");
        tls.reload(other);
        assert_eq!(
            handshake(server_side.server_config(true), &roots, &[])
                .await
                .peer_cert,
            second.der
        );
        tls.reload_rustls(rustls_config(&first));
        assert_eq!(
            handshake(server_side.server_config(true), &roots, &[])
                .await
                .peer_cert,
            first.der
        );
        assert_eq!(alpn_of(&tls, true), [b"h2".to_vec(), b"http/1.1".to_vec()]);
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn from_rustls_gets_the_default_alpn_only_when_it_has_none() {
        let pem = self_signed();
        let tls = TlsConfig::from_rustls(rustls_config(&pem));
        assert_eq!(alpn_of(&tls, true), [b"h2".to_vec(), b"http/1.1".to_vec()]);
        assert_eq!(alpn_of(&tls, false), [b"http/1.1".to_vec()]);

        let mut config = rustls_config(&pem);
        config.alpn_protocols = vec![b"http/1.1".to_vec(), b"h2".to_vec(), b"x".to_vec()];
        let tls = TlsConfig::from_rustls(config);
        assert_eq!(
            alpn_of(&tls, true),
            [b"http/1.1".to_vec(), b"h2".to_vec(), b"x".to_vec()]
        );
        assert_eq!(alpn_of(&tls, false), [b"http/1.1".to_vec(), b"x".to_vec()]);
    }

    #[test]
    fn debug_shows_the_alpn_list_and_no_key() {
        let pem = self_signed();
        let tls = TlsConfig::from_pem(pem.cert.as_bytes(), pem.key.as_bytes()).expect("loads");
        assert_eq!(
            format!("{tls:?}"),
            r#"TlsConfig { alpn_protocols: ["h2", "http/1.1"], .. }"#
        );
    }
}
