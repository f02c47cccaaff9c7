//! The vocabulary of delivery: statuses, what triggered an attempt, and why an attempt failed.
//! Stored as text, so each has a stable string form.

use std::fmt;
use std::str::FromStr;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),*
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(raw: &str) -> Result<Self, String> {
                match raw {
                    $($text => Ok($name::$variant),)*
                    other => Err(format!("unknown {} `{other}`", stringify!($name))),
                }
            }
        }
    };
}

string_enum!(
    /// Where a delivery stands.
    DeliveryStatus {
        /// Waiting for its first attempt.
        Pending => "pending",
        /// Claimed by a worker (leased) and being sent.
        Delivering => "delivering",
        /// A 2xx was received.
        Succeeded => "succeeded",
        /// The last attempt failed; another is scheduled.
        Failed => "failed",
        /// Every scheduled attempt failed: dead-lettered, visible and replayable.
        Exhausted => "exhausted",
        /// Will not be sent (e.g. its endpoint was removed).
        Cancelled => "cancelled",
    }
);

string_enum!(
    /// What caused an attempt.
    AttemptTrigger {
        /// The retry schedule (or the first attempt).
        Scheduled => "scheduled",
        /// `POST …/deliveries/{id}/retry`.
        Manual => "manual",
        /// `POST …/endpoints/{id}/recover`.
        Recovery => "recovery",
    }
);

string_enum!(
    /// Why an attempt failed.
    ErrorKind {
        /// The response status was not 2xx (3xx included: redirects are not followed).
        HttpStatus => "http_status",
        /// No complete response within the timeout.
        Timeout => "timeout",
        /// The TCP connection failed or was closed before a response.
        Connect => "connect",
        /// The host name did not resolve.
        Dns => "dns",
        /// The TLS handshake failed.
        Tls => "tls",
        /// The SSRF guard refused the destination address.
        Blocked => "blocked",
        /// The payload for the endpoint's API version could not be produced; not retried.
        VersionUnavailable => "version_unavailable",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_round_trips_through_its_text() {
        for status in DeliveryStatus::ALL {
            assert_eq!(status.as_str().parse::<DeliveryStatus>(), Ok(*status));
        }
        for kind in ErrorKind::ALL {
            assert_eq!(kind.as_str().parse::<ErrorKind>(), Ok(*kind));
        }
        for trigger in AttemptTrigger::ALL {
            assert_eq!(trigger.as_str().parse::<AttemptTrigger>(), Ok(*trigger));
        }
        assert!("nope".parse::<DeliveryStatus>().is_err());
    }
}
