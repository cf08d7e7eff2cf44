//! Path parameters: where they are in the request path, and how they are parsed.

use std::borrow::Cow;
use std::fmt::Display;

use http::StatusCode;
use smallvec::SmallVec;

use crate::rejection::PathParamRejection;

/// The byte ranges of a matched route's parameters inside the request path, in route order.
/// Kept as offsets so a handler's future can own them without copying the path.
#[derive(Debug, Default, Clone)]
pub(crate) struct PathParams {
    ranges: SmallVec<[(u32, u32); 4]>,
}

impl PathParams {
    /// Records matchit's parameters as offsets into `path`, which must be the string they
    /// were matched against. matchit yields them in pattern order, which is the order the
    /// route macro numbered them (`p0`, `p1`, …), so their position is their index.
    pub(crate) fn from_match(path: &str, params: &matchit::Params<'_, '_>) -> Self {
        let base = path.as_ptr() as usize;
        let ranges = params
            .iter()
            .enumerate()
            .map(|(_i, (_key, value))| {
                debug_assert_eq!(
                    _key,
                    format!("p{_i}"),
                    "bug: parameters out of pattern order"
                );
                let start = value.as_ptr() as usize - base;
                (start as u32, (start + value.len()) as u32)
            })
            .collect();
        PathParams { ranges }
    }

    pub(crate) fn get<'p>(&self, path: &'p str, index: usize) -> Option<&'p str> {
        let &(start, end) = self.ranges.get(index)?;
        path.get(start as usize..end as usize)
    }
}

/// Percent-decodes a raw parameter value.
pub(crate) fn decode<'a>(name: &str, raw: &'a str) -> Result<Cow<'a, str>, PathParamRejection> {
    if !raw.contains('%') {
        return Ok(Cow::Borrowed(raw));
    }
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| {
            PathParamRejection::new(
                StatusCode::BAD_REQUEST,
                format!("path parameter `{name}` is not valid UTF-8 once percent-decoded"),
            )
        })
}

/// The error of a path parameter's `FromStr`, described if it implements `Display`.
///
/// Generated code calls `(&ParamError(e)).describe()` on the concrete type. Method lookup
/// tries receiver `&ParamError<E>` first, where only [`DescribeDisplay`] (implemented for
/// `ParamError<E: Display>`, taking `&self`) fits; otherwise it auto-refs to
/// `&&ParamError<E>`, where [`DescribeOther`] (implemented for `&ParamError<E>`) fits. So
/// parameter types whose error is not `Display` (e.g. `type Err = ()`) still work.
#[derive(Debug)]
pub struct ParamError<E>(pub E);

/// See [`ParamError`].
pub trait DescribeDisplay {
    /// Why the value did not parse.
    fn describe(&self) -> Option<String>;
}

impl<E: Display> DescribeDisplay for ParamError<E> {
    fn describe(&self) -> Option<String> {
        Some(self.0.to_string())
    }
}

/// See [`ParamError`].
pub trait DescribeOther {
    /// Why the value did not parse: unknown.
    fn describe(&self) -> Option<String>;
}

impl<E> DescribeOther for &ParamError<E> {
    fn describe(&self) -> Option<String> {
        None
    }
}

/// The rejection for a value that did not parse into `T`.
pub(crate) fn invalid<T>(name: &str, value: &str, why: Option<String>) -> PathParamRejection {
    let ty = std::any::type_name::<T>();
    let message = match why {
        Some(why) => {
            format!("invalid path parameter `{name}`: {value:?} is not a valid {ty}: {why}")
        }
        None => format!("invalid path parameter `{name}`: {value:?} is not a valid {ty}"),
    };
    PathParamRejection::new(StatusCode::BAD_REQUEST, message)
}
