//! Routes that look alike but never match the same request with the same method: static
//! beats param, same shape with different methods (names do not matter), a trailing slash,
//! and a catch-all under a static segment.
use hyperbun::prelude::*;

#[get("/users/me")]
async fn me() -> &'static str {
    "me"
}

#[get("/users/:id")]
async fn user(id: u64) -> String {
    format!("user {id}")
}

// Same shape as `GET /users/:id` with another method: allowed, whatever the name.
#[delete("/users/:uid")]
async fn delete_user(uid: u64) -> StatusCode {
    let _ = uid;
    StatusCode::NO_CONTENT
}

#[get("/users/")]
async fn users_slash() -> &'static str {
    "all users"
}

#[get("/users")]
async fn users() -> &'static str {
    "all users"
}

#[get("/files/*path")]
async fn files(path: String) -> String {
    path
}

#[get("/files/readme/:section")]
async fn readme(section: String) -> String {
    section
}

#[get("/orgs/:org/repos/:repo/*rest")]
async fn repo_file(org: String, repo: String, rest: String) -> String {
    format!("{org}/{repo}: {rest}")
}

fn main() {
    let router = hyperbun::router![
        me,
        user,
        delete_user,
        users_slash,
        users,
        files,
        readme,
        repo_file,
    ];
    assert_eq!(router.find(&Method::GET, "/users/me"), Some("/users/me"));
    assert_eq!(router.find(&Method::GET, "/users/7"), Some("/users/:id"));
    assert_eq!(router.find(&Method::DELETE, "/users/7"), Some("/users/:uid"));
    assert_eq!(router.find(&Method::GET, "/users/"), Some("/users/"));
    assert_eq!(router.find(&Method::GET, "/users"), Some("/users"));
    assert_eq!(router.find(&Method::GET, "/files/a/b.txt"), Some("/files/*path"));
    assert_eq!(
        router.find(&Method::GET, "/files/readme/intro"),
        Some("/files/readme/:section")
    );
}
