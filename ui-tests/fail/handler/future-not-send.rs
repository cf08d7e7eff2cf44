// RULE: a handler's future is `Send`: it holds no `Rc`, `RefCell` borrow or other non-`Send` value across an `.await`.
// WHY: the server runs handlers on a multi-threaded runtime and may move them between threads at an `.await`.
// FIX: drop the value before the `.await` (end its scope), or use a `Send` type such as `Arc`.
use hyperbun::prelude::*;
use std::rc::Rc;

async fn tick() {}

#[get("/")]
async fn index() -> String {
    let count = Rc::new(1);
    tick().await;
    count.to_string()
}

fn main() {
    let _ = hyperbun::router![index];
}
