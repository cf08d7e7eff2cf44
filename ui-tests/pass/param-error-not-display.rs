//! A path parameter type whose `FromStr::Err` is not `Display` (here `()`) still works; the
//! `400` then says the value is not valid without saying why.
use std::str::FromStr;

use hyperbun::prelude::*;

struct Slug(String);

impl FromStr for Slug {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
            Ok(Slug(s.to_owned()))
        } else {
            Err(())
        }
    }
}

#[derive(Debug)]
struct NotDisplay;

struct Code(u16);

impl FromStr for Code {
    type Err = NotDisplay;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Code).map_err(|_| NotDisplay)
    }
}

#[get("/posts/:slug/:code")]
async fn post(slug: Slug, code: Code) -> String {
    format!("{} {}", slug.0, code.0)
}

fn main() {
    let _ = hyperbun::router![post];
}
