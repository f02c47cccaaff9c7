//! Collects every field error of a request at once, so a client fixes its input in one round
//! trip instead of discovering problems one by one.

use std::fmt::Display;

/// One rejected field: a JSON-pointer-like path (`headers.Host`, `event_types[1]`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Display) -> Self {
        Self { field: field.into(), message: message.to_string() }
    }
}

/// Accumulates field errors while request bodies are parsed into domain types.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// Keeps the parsed value, or records the error under `field` and yields `None`.
    pub fn check<T, E: Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(FieldError::new(field, error));
                None
            }
        }
    }

    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was recorded, otherwise every recorded error.
    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() { Ok(()) } else { Err(self.0) }
    }

    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failed_check_is_reported() {
        let mut errors = FieldErrors::default();
        assert_eq!(errors.check("a", Ok::<_, String>(1)), Some(1));
        assert_eq!(errors.check::<i32, _>("b", Err("bad b")), None);
        assert_eq!(errors.check::<i32, _>("c", Err("bad c")), None);
        let reported = errors.finish().unwrap_err();
        assert_eq!(reported, vec![FieldError::new("b", "bad b"), FieldError::new("c", "bad c")]);
    }
}
