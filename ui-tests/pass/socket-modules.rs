//! Sockets live anywhere in the crate: listed by path from a submodule, imported with `use`
//! (which brings the type and the macro `router!` calls), declared in a function body; and
//! hooks in other modules than their sockets.
use hyperbun::prelude::*;

mod api {
    pub mod chat {
        use hyperbun::prelude::*;

        pub struct Chat;

        #[websocket("/chat")]
        impl Chat {
            pub fn message(ws: &mut WebSocket, msg: Message) {
                ws.send(msg);
            }
        }

        // Other functions in another block of the same type.
        impl Chat {
            pub fn describe() -> &'static str {
                "a chat"
            }
        }
    }

    pub mod feed {
        use hyperbun::prelude::*;

        pub(crate) struct Feed;

        #[websocket("/feed", data = u64)]
        impl Feed {
            fn message(ws: &mut WebSocket<u64>, _msg: Message) {
                ws.data += 1;
            }
        }
    }

    pub mod hooks {
        use hyperbun::prelude::*;

        #[upgrade("/feed")]
        pub fn start_at(headers: HeaderMap) -> Upgrade<u64> {
            Upgrade::new(headers.len() as u64)
        }
    }

    pub fn router() -> hyperbun::Router {
        hyperbun::router![chat::Chat, feed::Feed, hooks::start_at]
    }
}

use api::chat::Chat;
use api::feed;

fn main() {
    struct Local;

    #[websocket("/local")]
    impl Local {
        fn message(_ws: &mut WebSocket, _msg: Message) {}
    }

    let router = hyperbun::router![Chat, feed::Feed, api::hooks::start_at, Local];
    assert_eq!(router.routes().count(), 3);
    assert_eq!(api::router().routes().count(), 2);
    let by_path = hyperbun::router![crate::api::chat::Chat, Local];
    assert_eq!(by_path.routes().count(), 2);
    assert_eq!(Chat::describe(), "a chat");
}
