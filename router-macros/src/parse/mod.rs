pub(crate) mod args;
pub(crate) mod handler;
pub(crate) mod path;
pub(crate) mod socket;
