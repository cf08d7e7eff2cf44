//! The `/room` socket every backplane node of the tests serves, in process
//! (`tests/backplane.rs`) and in a child process (`tests/bin/backplane_node.rs`), so a node
//! the tests kill behaves exactly as the others.

use std::collections::HashMap;

use hyperbun::prelude::*;

/// Subscribes to the topic its query names (`/room?topic=T`, default `room`) and publishes
/// what it is sent there (not to itself); `/leave` unsubscribes and answers `left`. Room for
/// the load test's backlog: a slow reader must not lose messages to its backpressure limit.
pub(crate) struct Room;

#[websocket("/room", data = String, backpressure_limit = 64 * 1024 * 1024)]
impl Room {
    fn open(ws: &mut WebSocket<String>) {
        let topic = ws.data.clone();
        ws.subscribe(&topic);
    }

    fn message(ws: &mut WebSocket<String>, msg: Message) {
        let topic = ws.data.clone();
        if msg.as_text() == Some("/leave") {
            ws.unsubscribe(&topic);
            ws.send("left");
        } else {
            ws.publish(&topic, msg);
        }
    }
}

/// The topic from `?topic=`.
#[upgrade("/room")]
pub(crate) fn room_topic(Query(query): Query<HashMap<String, String>>) -> Upgrade<String> {
    Upgrade::new(query.get("topic").cloned().unwrap_or_else(|| "room".into()))
}
