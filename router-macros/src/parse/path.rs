//! The route path grammar: `/users/:id/files/*rest`.
//!
//! - a path starts with `/`; segments are separated by `/`; no segment is empty (`//`),
//!   except that a path may end in `/` (a distinct route from the one without it);
//! - `:name` is a whole segment that binds one parameter; `*name` is a catch-all that binds
//!   the rest of the path (one or more characters) and must be the last segment;
//! - names are Rust identifiers and appear once per path;
//! - `?` and `#` cannot appear (they start a query or fragment, never part of a path).
//!
//! The matcher pattern uses positional names (`{p0}`, `{*p1}`) so that routes differing only
//! in parameter names share one matcher entry and conflicts are detected on shape.

/// A parsed route path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoutePath {
    /// Parameter names in order, with whether each is a catch-all.
    pub(crate) params: Vec<Param>,
    /// The matchit pattern.
    pub(crate) pattern: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Param {
    pub(crate) name: String,
    pub(crate) catch_all: bool,
}

/// Why a path is not a valid route path. Each variant is one rule (and one ui-test).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathError {
    MissingLeadingSlash,
    EmptySegment,
    CatchAllNotLast(String),
    InvalidParamName(String),
    DuplicateParam(String),
    ForbiddenChar(char),
}

impl PathError {
    pub(crate) fn message(&self, path: &str) -> String {
        match self {
            PathError::MissingLeadingSlash => {
                format!("route paths must start with `/`; write \"/{path}\"")
            }
            PathError::EmptySegment => format!(
                "route paths cannot contain empty segments (`//`); write \"{}\"",
                collapse_slashes(path)
            ),
            PathError::CatchAllNotLast(name) => format!(
                "catch-all `*{name}` must be the last segment of the path, since it matches the rest \
                 of the path; move it to the end, or write `:{name}` to match one segment"
            ),
            PathError::InvalidParamName(segment) => {
                let (sigil, name) = segment.split_at(1);
                let fix = if name.is_empty() {
                    format!("give it a name, e.g. `{sigil}id`")
                } else {
                    let ident: String = name
                        .chars()
                        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                        .collect();
                    let ident = if ident.starts_with(|c: char| c.is_ascii_digit()) {
                        format!("_{ident}")
                    } else {
                        ident
                    };
                    if is_ident(&ident) {
                        format!("write `{sigil}{ident}`")
                    } else {
                        format!("write e.g. `{sigil}id`")
                    }
                };
                format!(
                    "invalid parameter `{segment}`: a parameter is a whole segment `:name` or `*name` \
                     where name is a Rust identifier (the handler argument it binds); {fix}"
                )
            }
            PathError::DuplicateParam(name) => format!(
                "parameter `{name}` appears more than once in the path: each binds the handler \
                 argument of its name; give each a distinct name, with an argument for each"
            ),
            PathError::ForbiddenChar(c) => format!(
                "route paths cannot contain `{c}`: it starts the {} of a URL, which routes do not match; \
                 read it with `Query<T>`",
                if *c == '?' { "query" } else { "fragment" }
            ),
        }
    }
}

fn collapse_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}

fn is_ident(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        && name != "_"
}

/// Parses and validates a route path.
pub(crate) fn parse(path: &str) -> Result<RoutePath, PathError> {
    if !path.starts_with('/') {
        return Err(PathError::MissingLeadingSlash);
    }
    if let Some(c) = path.chars().find(|c| *c == '?' || *c == '#') {
        return Err(PathError::ForbiddenChar(c));
    }
    let body = &path[1..];
    let segments: Vec<&str> = if body.is_empty() {
        Vec::new()
    } else {
        body.split('/').collect()
    };
    let last = segments.len().saturating_sub(1);
    let mut params: Vec<Param> = Vec::new();
    let mut pattern = String::with_capacity(path.len() + 8);
    for (i, segment) in segments.iter().enumerate() {
        // A trailing slash gives one empty last segment, which is allowed.
        if segment.is_empty() && i != last {
            return Err(PathError::EmptySegment);
        }
        pattern.push('/');
        let (catch_all, name) = match segment.as_bytes().first() {
            Some(b':') => (false, &segment[1..]),
            Some(b'*') => (true, &segment[1..]),
            _ => {
                for c in segment.chars() {
                    match c {
                        '{' => pattern.push_str("{{"),
                        '}' => pattern.push_str("}}"),
                        c => pattern.push(c),
                    }
                }
                continue;
            }
        };
        if !is_ident(name) {
            return Err(PathError::InvalidParamName((*segment).to_owned()));
        }
        if params.iter().any(|p| p.name == name) {
            return Err(PathError::DuplicateParam(name.to_owned()));
        }
        if catch_all && i != last {
            return Err(PathError::CatchAllNotLast(name.to_owned()));
        }
        let index = params.len();
        if catch_all {
            pattern.push_str(&format!("{{*p{index}}}"));
        } else {
            pattern.push_str(&format!("{{p{index}}}"));
        }
        params.push(Param {
            name: name.to_owned(),
            catch_all,
        });
    }
    if segments.is_empty() {
        pattern.push('/');
    }
    Ok(RoutePath { params, pattern })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(path: &str) -> String {
        parse(path).unwrap().pattern
    }

    #[test]
    fn static_and_params() {
        assert_eq!(pattern("/"), "/");
        assert_eq!(pattern("/users"), "/users");
        assert_eq!(pattern("/users/"), "/users/");
        assert_eq!(pattern("/users/:id"), "/users/{p0}");
        assert_eq!(pattern("/a/:x/b/:y"), "/a/{p0}/b/{p1}");
        assert_eq!(pattern("/files/*rest"), "/files/{*p0}");
        assert_eq!(pattern("/{literal}"), "/{{literal}}");
        let parsed = parse("/u/:id/*rest").unwrap();
        assert_eq!(
            parsed.params,
            vec![
                Param {
                    name: "id".into(),
                    catch_all: false
                },
                Param {
                    name: "rest".into(),
                    catch_all: true
                }
            ]
        );
    }

    #[test]
    fn rules() {
        assert_eq!(parse("users"), Err(PathError::MissingLeadingSlash));
        assert_eq!(parse(""), Err(PathError::MissingLeadingSlash));
        assert_eq!(parse("/a//b"), Err(PathError::EmptySegment));
        assert_eq!(parse("//"), Err(PathError::EmptySegment));
        assert_eq!(
            parse("/f/*rest/meta"),
            Err(PathError::CatchAllNotLast("rest".into()))
        );
        assert_eq!(parse("/u/:"), Err(PathError::InvalidParamName(":".into())));
        assert_eq!(
            parse("/u/:1d"),
            Err(PathError::InvalidParamName(":1d".into()))
        );
        assert_eq!(parse("/u/*"), Err(PathError::InvalidParamName("*".into())));
        assert_eq!(
            parse("/u/:id/:id"),
            Err(PathError::DuplicateParam("id".into()))
        );
        assert_eq!(parse("/u?x=1"), Err(PathError::ForbiddenChar('?')));
        assert_eq!(parse("/u#top"), Err(PathError::ForbiddenChar('#')));
    }

    #[test]
    fn messages_say_what_to_write() {
        assert!(PathError::MissingLeadingSlash
            .message("users")
            .contains("\"/users\""));
        assert!(PathError::EmptySegment
            .message("/a//b")
            .contains("\"/a/b\""));
        assert!(PathError::InvalidParamName(":user-id".into())
            .message("/u/:user-id")
            .contains("`:user_id`"));
        assert!(PathError::InvalidParamName(":".into())
            .message("/u/:")
            .contains("`:id`"));
        assert!(PathError::InvalidParamName("*1st".into())
            .message("/u/*1st")
            .contains("`*_1st`"));
    }
}
