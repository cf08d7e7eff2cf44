//! [`RequestContext`]: what a handler's adapter hands every extractor besides the request.

use http::request::Parts;

use crate::routing::PathParams;
use crate::{Addr, Server};

/// What the server knows about a request besides the request itself: the route's path
/// parameters, the peer's address and the [`Server`] handle. Extractors receive it by
/// reference.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub(crate) params: PathParams,
    pub(crate) server: Server,
    pub(crate) remote_addr: Addr,
}

impl RequestContext {
    /// The handle of the server that received the request.
    #[must_use]
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// The address of the peer that sent the request.
    #[must_use]
    pub fn remote_addr(&self) -> &Addr {
        &self.remote_addr
    }

    /// The raw (still percent-encoded) value of the `index`-th parameter of the matched
    /// route, counting from 0 in the order they appear in the route path.
    #[must_use]
    pub fn raw_param<'a>(&self, parts: &'a Parts, index: usize) -> Option<&'a str> {
        self.params.get(parts.uri.path(), index)
    }
}
