//! The exit statuses every command uses.

/// Exit status: every file ok or skipped.
pub const EXIT_OK: u8 = 0;
/// Exit status: one or more files failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit status: bad arguments.
pub const EXIT_USAGE: u8 = 2;
/// Exit status: interrupted.
pub const EXIT_INTERRUPTED: u8 = 130;
