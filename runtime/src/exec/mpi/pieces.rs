//! How long one MPI message may be, and how longer ones are cut.
//!
//! MPI counts a message's elements in a C `int`, so one call moves less than
//! 2 GiB of bytes. The transport sends anything longer as several messages of
//! at most [`MessageLimit`] bytes each, in order, which the receiver, knowing
//! the whole length, receives into consecutive parts of its buffer: both sides
//! cut the same length at the same places ([`pieces`]). The limit is 1 GiB, or
//! `KERN_MPI_MESSAGE_LIMIT` bytes (at least [`MIN_LIMIT`]), read when the world
//! opens: every rank of a job must see the same value (a receiver checks the
//! length of every piece), and tests lower it to send small arrays in pieces.
//!
//! It knows lengths, not ranks, dtypes or MPI.

use crate::Error;

/// The environment variable that lowers the limit.
pub const LIMIT_VARIABLE: &str = "KERN_MPI_MESSAGE_LIMIT";

/// The limit without [`LIMIT_VARIABLE`]: 1 GiB.
const DEFAULT_LIMIT: usize = 1 << 30;

/// The smallest limit: an array's header (2 bytes and 8 per axis, at most 255
/// axes) always travels as one message.
pub const MIN_LIMIT: usize = 4096;

/// The most bytes one MPI message carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageLimit(usize);

impl MessageLimit {
    /// The limit `KERN_MPI_MESSAGE_LIMIT` sets, or 1 GiB without it.
    pub fn from_env() -> Result<MessageLimit, Error> {
        match std::env::var(LIMIT_VARIABLE) {
            Ok(text) => MessageLimit::parse(&text),
            Err(std::env::VarError::NotPresent) => Ok(MessageLimit(DEFAULT_LIMIT)),
            Err(std::env::VarError::NotUnicode(_)) => MessageLimit::parse("(not UTF-8)"),
        }
    }

    /// A number of bytes from [`MIN_LIMIT`] to `i32::MAX`, or an error that
    /// says what the variable takes.
    fn parse(text: &str) -> Result<MessageLimit, Error> {
        text.trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (MIN_LIMIT..=i32::MAX as usize).contains(n))
            .map(MessageLimit)
            .ok_or_else(|| {
                Error::Call(format!(
                    "{LIMIT_VARIABLE}={text} is not a message length: it takes a number of \
                     bytes from {MIN_LIMIT} to {}",
                    i32::MAX
                ))
            })
    }

    pub fn bytes(self) -> usize {
        self.0
    }
}

/// The pieces `len` bytes travel in under `limit`, as byte ranges in order:
/// all but the last of `limit` bytes; none for no bytes. (Only MPI's transport
/// cuts messages: a build without it has one rank.)
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
pub fn pieces(len: usize, limit: MessageLimit) -> impl Iterator<Item = std::ops::Range<usize>> {
    (0..len)
        .step_by(limit.0)
        .map(move |start| start..len.min(start + limit.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_cut_at_the_limit_and_nothing_is_no_piece() {
        let limit = MessageLimit::parse("4096").unwrap();
        let cut = |len| pieces(len, limit).collect::<Vec<_>>();
        assert_eq!(cut(0), vec![]);
        assert_eq!(cut(1), vec![0..1]);
        assert_eq!(cut(4096), vec![0..4096]);
        assert_eq!(cut(4097), vec![0..4096, 4096..4097]);
        assert_eq!(cut(10_000), vec![0..4096, 4096..8192, 8192..10_000]);
    }

    #[test]
    fn messages_of_more_than_an_int_of_bytes_are_cut_below_it() {
        let limit = MessageLimit(DEFAULT_LIMIT);
        let len = 5 * (1usize << 30) + 3;
        let cut: Vec<_> = pieces(len, limit).collect();
        assert_eq!(cut.len(), 6);
        assert!(cut.iter().all(|p| p.len() <= i32::MAX as usize));
        assert_eq!(cut.last(), Some(&(len - 3..len)));
        assert!(cut.windows(2).all(|w| w[0].end == w[1].start));
    }

    #[test]
    fn the_setting_takes_bytes_from_the_minimum_to_an_int() {
        assert_eq!(MessageLimit::parse(" 65536 ").unwrap().bytes(), 65536);
        assert_eq!(
            MessageLimit::parse("2147483647").unwrap().bytes(),
            i32::MAX as usize
        );
        for wrong in ["4095", "0", "2147483648", "1e6", "", "-1"] {
            let err = MessageLimit::parse(wrong).unwrap_err().to_string();
            assert!(err.contains("from 4096 to 2147483647"), "{wrong}: {err}");
            assert!(err.contains(LIMIT_VARIABLE), "{err}");
        }
    }
}
