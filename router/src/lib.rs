#![doc = include_str!("../docs/overview.md")]
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::print_stdout, clippy::print_stderr))]
#![doc(test(attr(deny(warnings))))]

// Lets the crate's own doc tests and unit tests use the macros, which name `::hyperbun`.
#[allow(unused_extern_crates)]
extern crate self as hyperbun;

mod addr;
#[cfg(feature = "auth")]
pub mod auth;
pub mod backplane;
mod body;
pub mod client;
mod config;
pub mod extract;
pub mod middleware;
mod rejection;
mod response;
mod routing;
mod server;
pub mod test;
pub mod ws;

#[doc(hidden)]
pub mod __private {
    pub use crate::private::*;
}
mod panic;
mod private;
mod replay;
mod sync;

pub use addr::Addr;
pub use body::{Body, BodyError};
pub use config::ServerConfig;
pub use extract::{Extension, Form, Query, RemoteAddr};
pub use rejection::{
    BodyRejection, FormRejection, JsonRejection, PathParamRejection, QueryRejection,
};
pub use response::{Html, IntoResponse, IntoResponseHeaders, Json};
pub use routing::Router;
pub use server::Server;
#[cfg(feature = "tls")]
pub use server::TlsConfig;
pub use ws::{
    Compressor, Decompressor, DecompressorSize, JsonError, Message, PerMessageDeflate,
    PublishResult, RateLimit, RateLimitAction, ReadyState, SendStatus, SocketHandle, SocketOptions,
    SubscribeStatus, TopicError, Upgrade, UpgradeError, Utf8Bytes, WebSocket, WebSocketError,
};

#[doc(inline)]
pub use hyperbun_macros::{
    any, delete, get, head, options, patch, post, put, route, router, upgrade, websocket,
};

pub use bytes::Bytes;
pub use http::{self, HeaderMap, HeaderValue, Method, StatusCode, Uri};

/// An HTTP request with a hyperbun [`Body`].
pub type Request<B = Body> = http::Request<B>;

/// An HTTP response with a hyperbun [`Body`].
pub type Response<B = Body> = http::Response<B>;

/// Long-form guides.
pub mod guide {
    #[doc = include_str!("../docs/routing.md")]
    pub mod routing {}
    #[doc = include_str!("../docs/serving.md")]
    pub mod serving {}
    #[doc = include_str!("../docs/websockets.md")]
    pub mod websockets {}
    #[doc = include_str!("../docs/pubsub.md")]
    pub mod pubsub {}
    #[doc = include_str!("../docs/compression.md")]
    pub mod compression {}
    #[doc = include_str!("../docs/middleware.md")]
    pub mod middleware {}
    #[cfg(feature = "auth")]
    #[doc = include_str!("../docs/sign-in.md")]
    pub mod sign_in {}
    #[doc = include_str!("../docs/scaling.md")]
    pub mod scaling {}
    #[doc = include_str!("../docs/testing.md")]
    pub mod testing {}
}

/// Everything a handler file usually needs: `use hyperbun::prelude::*;`.
pub mod prelude {
    pub use crate::{
        any, delete, get, head, options, patch, post, put, route, upgrade, websocket, Body, Bytes,
        Extension, Form, HeaderMap, HeaderValue, Html, IntoResponse, Json, Message, Method,
        PerMessageDeflate, Query, RateLimit, RateLimitAction, RemoteAddr, Request, Response,
        Router, SendStatus, Server, ServerConfig, SocketHandle, SocketOptions, StatusCode,
        SubscribeStatus, Upgrade, UpgradeError, Uri, WebSocket, WebSocketError,
    };
    pub use serde_json::{json, Value};
}
