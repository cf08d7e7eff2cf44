//! A server for `tests/serving.rs` to run in a child process whose file-descriptor limit the
//! test lowers (`ulimit -n`), so accept fails with `EMFILE` without starving the test
//! itself. It prints its port, then serves `/hello` until its stdin closes.

use hyperbun::prelude::*;
use tokio::io::AsyncReadExt;

#[get("/hello")]
async fn hello() -> &'static str {
    "hello"
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let server = hyperbun::router![hello].listen(listener)?;
    println!("{}", server.local_addr().port().expect("a TCP port"));
    let mut stdin = tokio::io::stdin();
    let mut byte = [0; 1];
    let _ = stdin.read(&mut byte).await;
    server.stop().await;
    Ok(())
}
