//! Route lookup: `Router::find` on a 50-route, GitHub-API-like table, against a bare
//! `matchit::Router` holding the same 50 patterns (the matcher hyperbun uses inside).
//!
//! Run it: `cargo bench -p hyperbun --bench routing`
//!
//! Both groups look up the same request paths. `mix` looks up all of them once per
//! iteration and reports throughput in lookups per second; the other benchmarks look up one
//! path each, so their time is the time of one lookup. `matchit at` is the raw matcher only:
//! no method dispatch and no parameter bookkeeping, which `hyperbun find` adds on top.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hyperbun::prelude::*;

// ---- The 50 routes. Handlers do nothing; only the table is measured. ----

#[get("/")]
async fn root() -> &'static str {
    "root"
}

#[get("/user")]
async fn get_user() -> &'static str {
    "user"
}

#[patch("/user")]
async fn update_user() -> &'static str {
    "user"
}

#[get("/user/repos")]
async fn list_own_repos() -> &'static str {
    "repos"
}

#[post("/user/repos")]
async fn create_own_repo() -> &'static str {
    "repo"
}

#[get("/users")]
async fn list_users() -> &'static str {
    "users"
}

#[get("/users/:username")]
async fn show_user(username: String) -> String {
    username
}

#[get("/users/:username/repos")]
async fn list_user_repos(username: String) -> String {
    username
}

#[get("/users/:username/followers")]
async fn list_followers(username: String) -> String {
    username
}

#[get("/users/:username/following")]
async fn list_following(username: String) -> String {
    username
}

#[get("/orgs/:org")]
async fn show_org(org: String) -> String {
    org
}

#[patch("/orgs/:org")]
async fn update_org(org: String) -> String {
    org
}

#[get("/orgs/:org/repos")]
async fn list_org_repos(org: String) -> String {
    org
}

#[post("/orgs/:org/repos")]
async fn create_org_repo(org: String) -> String {
    org
}

#[get("/orgs/:org/members")]
async fn list_members(org: String) -> String {
    org
}

#[get("/orgs/:org/members/:username")]
async fn check_member(org: String, username: String) -> String {
    format!("{org} {username}")
}

#[delete("/orgs/:org/members/:username")]
async fn remove_member(org: String, username: String) -> String {
    format!("{org} {username}")
}

#[get("/repos/:owner/:repo")]
async fn show_repo(owner: String, repo: String) -> String {
    format!("{owner}/{repo}")
}

#[patch("/repos/:owner/:repo")]
async fn update_repo(owner: String, repo: String) -> String {
    format!("{owner}/{repo}")
}

#[delete("/repos/:owner/:repo")]
async fn delete_repo(owner: String, repo: String) -> String {
    format!("{owner}/{repo}")
}

#[get("/repos/:owner/:repo/issues")]
async fn list_issues(owner: String, repo: String) -> String {
    format!("{owner}/{repo}")
}

#[post("/repos/:owner/:repo/issues")]
async fn create_issue(owner: String, repo: String) -> String {
    format!("{owner}/{repo}")
}

#[get("/repos/:owner/:repo/issues/:number")]
async fn show_issue(owner: String, repo: String, number: u64) -> String {
    format!("{owner}/{repo}#{number}")
}

#[patch("/repos/:owner/:repo/issues/:number")]
async fn update_issue(owner: String, repo: String, number: u64) -> String {
    format!("{owner}/{repo}#{number}")
}

#[get("/repos/:owner/:repo/issues/:number/comments")]
async fn list_comments(owner: String, repo: String, number: u64) -> String {
    format!("{owner}/{repo}#{number}")
}

#[post("/repos/:owner/:repo/issues/:number/comments")]
async fn create_comment(owner: String, repo: String, number: u64) -> String {
    format!("{owner}/{repo}#{number}")
}

#[get("/repos/:owner/:repo/pulls")]
async fn list_pulls(owner: String, repo: String) -> String {
    format!("{owner}/{repo}")
}

#[post("/repos/:owner/:repo/pulls")]
async fn create_pull(owner: String, repo: String) -> String {
    format!("{owner}/{repo}")
}

#[get("/repos/:owner/:repo/pulls/:number")]
async fn show_pull(owner: String, repo: String, number: u64) -> String {
    format!("{owner}/{repo}#{number}")
}

#[patch("/repos/:owner/:repo/pulls/:number")]
async fn update_pull(owner: String, repo: String, number: u64) -> String {
    format!("{owner}/{repo}#{number}")
}

#[get("/repos/:owner/:repo/pulls/:number/files")]
async fn list_pull_files(owner: String, repo: String, number: u64) -> String {
    format!("{owner}/{repo}#{number}")
}

#[put("/repos/:owner/:repo/pulls/:number/merge")]
async fn merge_pull(owner: String, repo: String, number: u64) -> String {
    format!("{owner}/{repo}#{number}")
}

#[get("/repos/:owner/:repo/branches")]
async fn list_branches(owner: String, repo: String) -> String {
    format!("{owner}/{repo}")
}

#[get("/repos/:owner/:repo/branches/:branch")]
async fn show_branch(owner: String, repo: String, branch: String) -> String {
    format!("{owner}/{repo}@{branch}")
}

#[get("/repos/:owner/:repo/commits")]
async fn list_commits(owner: String, repo: String) -> String {
    format!("{owner}/{repo}")
}

#[get("/repos/:owner/:repo/commits/:sha")]
async fn show_commit(owner: String, repo: String, sha: String) -> String {
    format!("{owner}/{repo}@{sha}")
}

#[get("/repos/:owner/:repo/releases")]
async fn list_releases(owner: String, repo: String) -> String {
    format!("{owner}/{repo}")
}

#[get("/repos/:owner/:repo/releases/latest")]
async fn latest_release(owner: String, repo: String) -> String {
    format!("{owner}/{repo}")
}

#[get("/repos/:owner/:repo/releases/:id")]
async fn show_release(owner: String, repo: String, id: u64) -> String {
    format!("{owner}/{repo} {id}")
}

#[get("/repos/:owner/:repo/contents/*path")]
async fn get_contents(owner: String, repo: String, path: String) -> String {
    format!("{owner}/{repo}:{path}")
}

#[put("/repos/:owner/:repo/contents/*path")]
async fn put_contents(owner: String, repo: String, path: String) -> String {
    format!("{owner}/{repo}:{path}")
}

#[get("/repos/:owner/:repo/git/refs/*git_ref")]
async fn show_ref(owner: String, repo: String, git_ref: String) -> String {
    format!("{owner}/{repo}:{git_ref}")
}

#[get("/gists")]
async fn list_gists() -> &'static str {
    "gists"
}

#[post("/gists")]
async fn create_gist() -> &'static str {
    "gist"
}

#[get("/gists/:gist_id")]
async fn show_gist(gist_id: String) -> String {
    gist_id
}

#[get("/search/repositories")]
async fn search_repos() -> &'static str {
    "search"
}

#[get("/search/issues")]
async fn search_issues() -> &'static str {
    "search"
}

#[get("/notifications")]
async fn notifications() -> &'static str {
    "notifications"
}

#[get("/rate_limit")]
async fn rate_limit() -> &'static str {
    "rate"
}

#[any("/static/*file")]
async fn static_files(file: String) -> String {
    file
}

fn hyperbun_router() -> hyperbun::Router {
    hyperbun::router![
        root,
        get_user,
        update_user,
        list_own_repos,
        create_own_repo,
        list_users,
        show_user,
        list_user_repos,
        list_followers,
        list_following,
        show_org,
        update_org,
        list_org_repos,
        create_org_repo,
        list_members,
        check_member,
        remove_member,
        show_repo,
        update_repo,
        delete_repo,
        list_issues,
        create_issue,
        show_issue,
        update_issue,
        list_comments,
        create_comment,
        list_pulls,
        create_pull,
        show_pull,
        update_pull,
        list_pull_files,
        merge_pull,
        list_branches,
        show_branch,
        list_commits,
        show_commit,
        list_releases,
        latest_release,
        show_release,
        get_contents,
        put_contents,
        show_ref,
        list_gists,
        create_gist,
        show_gist,
        search_repos,
        search_issues,
        notifications,
        rate_limit,
        static_files,
    ]
}

/// The same 50 routes in matchit syntax: 36 distinct patterns, because routes that share a
/// path (with different methods) share one matchit entry, exactly as in hyperbun's table.
const MATCHIT_ROUTES: &[&str] = &[
    "/",
    "/user",
    "/user/repos",
    "/users",
    "/users/{username}",
    "/users/{username}/repos",
    "/users/{username}/followers",
    "/users/{username}/following",
    "/orgs/{org}",
    "/orgs/{org}/repos",
    "/orgs/{org}/members",
    "/orgs/{org}/members/{username}",
    "/repos/{owner}/{repo}",
    "/repos/{owner}/{repo}/issues",
    "/repos/{owner}/{repo}/issues/{number}",
    "/repos/{owner}/{repo}/issues/{number}/comments",
    "/repos/{owner}/{repo}/pulls",
    "/repos/{owner}/{repo}/pulls/{number}",
    "/repos/{owner}/{repo}/pulls/{number}/files",
    "/repos/{owner}/{repo}/pulls/{number}/merge",
    "/repos/{owner}/{repo}/branches",
    "/repos/{owner}/{repo}/branches/{branch}",
    "/repos/{owner}/{repo}/commits",
    "/repos/{owner}/{repo}/commits/{sha}",
    "/repos/{owner}/{repo}/releases",
    "/repos/{owner}/{repo}/releases/latest",
    "/repos/{owner}/{repo}/releases/{id}",
    "/repos/{owner}/{repo}/contents/{*path}",
    "/repos/{owner}/{repo}/git/refs/{*git_ref}",
    "/gists",
    "/gists/{gist_id}",
    "/search/repositories",
    "/search/issues",
    "/notifications",
    "/rate_limit",
    "/static/{*file}",
];

fn matchit_router() -> matchit::Router<usize> {
    let mut router = matchit::Router::new();
    for (i, pattern) in MATCHIT_ROUTES.iter().enumerate() {
        router
            .insert(*pattern, i)
            .unwrap_or_else(|e| panic!("{pattern}: {e}"));
    }
    router
}

/// The request mix: (benchmark name, method, path, route hyperbun must find).
const REQUESTS: &[(&str, Method, &str, Option<&str>)] = &[
    ("static /", Method::GET, "/", Some("/")),
    (
        "static 2 segments",
        Method::POST,
        "/user/repos",
        Some("/user/repos"),
    ),
    (
        "static sibling",
        Method::GET,
        "/search/issues",
        Some("/search/issues"),
    ),
    (
        "1 param",
        Method::GET,
        "/users/octocat",
        Some("/users/:username"),
    ),
    (
        "2 params",
        Method::DELETE,
        "/repos/rust-lang/rust",
        Some("/repos/:owner/:repo"),
    ),
    (
        "2 params, static beats param",
        Method::GET,
        "/repos/rust-lang/rust/releases/latest",
        Some("/repos/:owner/:repo/releases/latest"),
    ),
    (
        "3 params",
        Method::PATCH,
        "/repos/rust-lang/rust/issues/123456",
        Some("/repos/:owner/:repo/issues/:number"),
    ),
    (
        "3 params, 6 segments",
        Method::PUT,
        "/repos/tokio-rs/tokio/pulls/7001/merge",
        Some("/repos/:owner/:repo/pulls/:number/merge"),
    ),
    (
        "catch-all after 2 params",
        Method::GET,
        "/repos/rust-lang/rust/contents/library/std/src/io/mod.rs",
        Some("/repos/:owner/:repo/contents/*path"),
    ),
    (
        "catch-all, any method",
        Method::DELETE,
        "/static/css/site.min.css",
        Some("/static/*file"),
    ),
    ("404", Method::GET, "/repos/rust-lang/rust/wiki/Home", None),
];

fn check_tables(hyperbun: &hyperbun::Router, matchit: &matchit::Router<usize>) {
    assert_eq!(hyperbun.routes().count(), 50);
    for (name, method, path, expected) in REQUESTS {
        assert_eq!(hyperbun.find(method, path), *expected, "{name}: {path}");
        let found = matchit.at(path).ok().map(|m| MATCHIT_ROUTES[*m.value]);
        let expected = expected.map(to_matchit_syntax);
        assert_eq!(found, expected.as_deref(), "{name}: {path}");
    }
}

/// `/users/:username/*rest` → `/users/{username}/{*rest}`.
fn to_matchit_syntax(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if let Some(name) = segment.strip_prefix(':') {
                format!("{{{name}}}")
            } else if let Some(name) = segment.strip_prefix('*') {
                format!("{{*{name}}}")
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn bench(c: &mut Criterion) {
    let hyperbun = hyperbun_router();
    let matchit = matchit_router();
    check_tables(&hyperbun, &matchit);

    let mut group = c.benchmark_group("hyperbun find");
    group.throughput(Throughput::Elements(REQUESTS.len() as u64));
    group.bench_function("mix", |b| {
        b.iter(|| {
            for (_, method, path, _) in REQUESTS {
                black_box(hyperbun.find(black_box(method), black_box(path)));
            }
        });
    });
    group.throughput(Throughput::Elements(1));
    for (name, method, path, _) in REQUESTS {
        group.bench_with_input(BenchmarkId::from_parameter(name), path, |b, path| {
            b.iter(|| black_box(hyperbun.find(black_box(method), black_box(path))));
        });
    }
    group.finish();

    let mut group = c.benchmark_group("matchit at");
    group.throughput(Throughput::Elements(REQUESTS.len() as u64));
    group.bench_function("mix", |b| {
        b.iter(|| {
            for (_, _, path, _) in REQUESTS {
                // `.ok()` drops the error without formatting it, as hyperbun does.
                black_box(matchit.at(black_box(path)).ok());
            }
        });
    });
    group.throughput(Throughput::Elements(1));
    for (name, _, path, _) in REQUESTS {
        group.bench_with_input(BenchmarkId::from_parameter(name), path, |b, path| {
            b.iter(|| black_box(matchit.at(black_box(path)).ok()));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
