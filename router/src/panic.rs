//! Panics in user code: caught where a handler is polled, reported by their message.

/// The message of a caught panic (`panic!` with a string or a format), for logs.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)")
}
