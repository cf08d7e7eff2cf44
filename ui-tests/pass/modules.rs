//! Handlers live anywhere in the crate: listed by path (`self::`, `crate::`, `module::`),
//! imported with `use`, declared in a function body; any visibility the router can see.
use hyperbun::prelude::*;

#[get("/")]
async fn index() -> &'static str {
    "home"
}

#[get("/about")]
async fn about() -> &'static str {
    "about"
}

mod api {
    pub mod users {
        use hyperbun::prelude::*;

        #[get("/users/:id")]
        pub async fn show(id: u64) -> String {
            format!("user {id}")
        }

        #[post("/users")]
        pub(crate) async fn create() -> StatusCode {
            StatusCode::CREATED
        }

        #[delete("/users/:id")]
        pub(in crate::api) async fn remove(id: u64) -> StatusCode {
            let _ = id;
            StatusCode::NO_CONTENT
        }

        // A private handler, listed from its own module.
        #[get("/users/count")]
        async fn count() -> &'static str {
            "42"
        }

        pub fn router() -> hyperbun::Router {
            hyperbun::router![show, create, remove, count]
        }
    }

    pub mod posts {
        use hyperbun::prelude::*;

        #[get("/posts/:id")]
        pub async fn show(id: u64) -> String {
            format!("post {id}")
        }
    }

    pub fn router() -> hyperbun::Router {
        hyperbun::router![users::show, users::remove, posts::show]
    }
}

use api::posts;
use api::users::create;

fn main() {
    #[get("/local")]
    async fn local() -> &'static str {
        "declared in main"
    }

    let router = hyperbun::router![
        index,
        self::about,
        crate::api::users::show,
        create,
        posts::show,
        local,
    ];
    assert_eq!(router.routes().count(), 6);
    assert_eq!(api::router().routes().count(), 3);
    assert_eq!(api::users::router().routes().count(), 4);
}
