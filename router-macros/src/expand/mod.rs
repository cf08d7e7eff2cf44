pub(crate) mod fallback;
pub(crate) mod handler;
pub(crate) mod socket;
pub(crate) mod table;
pub(crate) mod upgrade;
