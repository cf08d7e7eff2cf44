pub(crate) mod fallback;
pub(crate) mod handler;
pub(crate) mod table;
