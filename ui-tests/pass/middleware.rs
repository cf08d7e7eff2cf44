//! Middleware declared where the routes are: a route's own `layer = …` (one layer or a tuple),
//! groups with a prefix and/or a layer (sockets and hooks included), and the whole app's.
use hyperbun::middleware::{from_fn, Next};
use hyperbun::prelude::*;

async fn audit(req: Request, next: Next) -> Response {
    next.run(req).await
}

#[derive(Clone)]
struct Noop;

impl<S> tower::Layer<S> for Noop {
    type Service = S;
    fn layer(&self, inner: S) -> S {
        inner
    }
}

#[get("/", layer = from_fn(audit))]
async fn index() -> &'static str {
    "home"
}

#[get("/users/:id", layer = (Noop, from_fn(audit)))]
async fn user(id: u64) -> String {
    format!("user {id}")
}

#[get("/")]
async fn admin_index() -> &'static str {
    "admin"
}

struct Live;

#[websocket("/live", data = String)]
impl Live {
    fn message(ws: &mut WebSocket<String>, msg: Message) {
        ws.send(msg);
    }
}

#[upgrade("/live")]
fn admit() -> Upgrade<String> {
    Upgrade::new("guest".to_owned())
}

fn main() {
    let tenant_layer = from_fn(audit);
    let router = hyperbun::router![
        index,
        group("/api")[user],
        group("/admin", layer = tenant_layer)[admin_index, Live, admit],
        group(layer = Noop)[],
    ]
    .layer(from_fn(audit))
    // A ServiceBuilder is a layer too (its first layer outermost).
    .layer(tower::ServiceBuilder::new().layer(Noop).layer(from_fn(audit)));
    let paths: Vec<&str> = router.routes().map(|(_, p)| p).collect();
    assert_eq!(paths, ["/", "/api/users/:id", "/admin", "/admin/live"]);
}
