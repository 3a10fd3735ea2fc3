use serde::Serialize;

/// One problem with one input field, as shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field's name as the client sent it (`email`, `work_phone`, `cursor`, a settings key…).
    pub field: String,
    pub message: String,
}

/// Input that was refused, with every field that was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid input: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid(vec![FieldError { field: field.into(), message: message.into() }])
    }
}

/// Collects field errors while parsing a whole input, so the user sees all of them at once.
#[derive(Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError { field: field.to_string(), message: message.into() });
    }

    /// Keeps the value of a successful parse, or records why it failed.
    pub fn take<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.push(field, message);
                None
            }
        }
    }

    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }

    pub fn finish(self) -> Result<(), Invalid> {
        if self.0.is_empty() { Ok(()) } else { Err(Invalid(self.0)) }
    }
}
