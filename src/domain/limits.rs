//! Rate limits as values: how many events per second a tenant may submit, with what burst.
//! Bounded so a typo cannot switch a limit off or make it meaningless.

use std::num::NonZeroU32;

/// Why a limit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidLimit {
    #[error("per_second must be between 1 and {max}")]
    Rate { max: u32 },
    #[error("burst must be between 1 and {max}")]
    Burst { max: u32 },
}

/// A rate with a burst: `per_second` on average, at most `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimit {
    per_second: NonZeroU32,
    burst: NonZeroU32,
}

impl RateLimit {
    pub const MAX_PER_SECOND: u32 = 1_000_000;
    pub const MAX_BURST: u32 = 10_000_000;

    pub fn parse(per_second: i64, burst: i64) -> Result<Self, InvalidLimit> {
        let per_second = u32::try_from(per_second)
            .ok()
            .filter(|rate| *rate <= Self::MAX_PER_SECOND)
            .and_then(NonZeroU32::new)
            .ok_or(InvalidLimit::Rate { max: Self::MAX_PER_SECOND })?;
        let burst = u32::try_from(burst)
            .ok()
            .filter(|burst| *burst <= Self::MAX_BURST)
            .and_then(NonZeroU32::new)
            .ok_or(InvalidLimit::Burst { max: Self::MAX_BURST })?;
        Ok(Self { per_second, burst })
    }

    pub fn per_second(&self) -> NonZeroU32 {
        self.per_second
    }

    pub fn burst(&self) -> NonZeroU32 {
        self.burst
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_negative_and_absurd_limits_are_refused() {
        assert!(RateLimit::parse(10, 20).is_ok());
        assert_eq!(RateLimit::parse(0, 20), Err(InvalidLimit::Rate { max: RateLimit::MAX_PER_SECOND }));
        assert_eq!(RateLimit::parse(-1, 20), Err(InvalidLimit::Rate { max: RateLimit::MAX_PER_SECOND }));
        assert_eq!(RateLimit::parse(10, 0), Err(InvalidLimit::Burst { max: RateLimit::MAX_BURST }));
        assert!(RateLimit::parse(10, i64::MAX).is_err());
        assert!(RateLimit::parse(2_000_000, 10).is_err());
    }
}
