//! The one pagination helper: `?limit=&cursor=` in, `{data, next_cursor}` out. The cursor is the
//! key (usually the id) of the last item of the previous page, so pages stay stable while new
//! items arrive.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::errors::ApiError;
use crate::store::PageRequest;

/// Items per page when the client does not say.
pub const DEFAULT_LIMIT: usize = 50;
/// The most items one page may hold.
pub const MAX_LIMIT: usize = 250;

/// Query parameters shared by every list operation.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Items per page, 1 to 250 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListQuery {
    /// Validates the query; `parse_cursor` checks the cursor is a key of the listed resource.
    pub fn page_request<E: std::fmt::Display>(
        &self,
        parse_cursor: impl Fn(&str) -> Result<String, E>,
    ) -> Result<PageRequest, ApiError> {
        let limit = match self.limit {
            None => DEFAULT_LIMIT,
            Some(limit) if (1..=MAX_LIMIT as i64).contains(&limit) => limit as usize,
            Some(_) => {
                return Err(ApiError::BadRequest {
                    field: "limit".into(),
                    detail: format!("`limit` must be between 1 and {MAX_LIMIT}"),
                });
            }
        };
        let after = match &self.cursor {
            None => None,
            Some(cursor) => Some(parse_cursor(cursor).map_err(|error| ApiError::BadRequest {
                field: "cursor".into(),
                detail: format!("`cursor` is invalid: {error}"),
            })?),
        };
        Ok(PageRequest { limit, after })
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched by the store.
    pub fn from_rows<R>(
        mut rows: Vec<R>,
        request: &PageRequest,
        key: impl Fn(&R) -> String,
        present: impl Fn(R) -> T,
    ) -> Self {
        let has_more = rows.len() > request.limit;
        rows.truncate(request.limit);
        let next_cursor = if has_more { rows.last().map(&key) } else { None };
        Self { data: rows.into_iter().map(present).collect(), next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(ToSchema, Serialize)]
    struct Item(u32);

    fn query(limit: Option<i64>, cursor: Option<&str>) -> ListQuery {
        ListQuery { limit, cursor: cursor.map(str::to_owned) }
    }

    fn accept_any(raw: &str) -> Result<String, &'static str> {
        Ok(raw.to_owned())
    }

    #[test]
    fn limits_outside_1_to_250_are_refused() {
        assert_eq!(query(None, None).page_request(accept_any).unwrap().limit, 50);
        assert_eq!(query(Some(250), None).page_request(accept_any).unwrap().limit, 250);
        for bad in [0, -1, 251] {
            assert!(matches!(query(Some(bad), None).page_request(accept_any), Err(ApiError::BadRequest { .. })));
        }
    }

    #[test]
    fn a_cursor_the_resource_does_not_recognise_is_refused() {
        let result = query(None, Some("garbage")).page_request(|_| Err::<String, _>("not an id"));
        assert!(matches!(result, Err(ApiError::BadRequest { field, .. }) if field == "cursor"));
    }

    #[test]
    fn the_extra_row_becomes_the_next_cursor() {
        let request = PageRequest { limit: 2, after: None };
        let page: Page<Item> = Page::from_rows(vec![1, 2, 3], &request, |n| n.to_string(), Item);
        assert_eq!(page.data.len(), 2);
        assert_eq!(page.next_cursor.as_deref(), Some("2"));
        let last: Page<Item> = Page::from_rows(vec![1, 2], &request, |n| n.to_string(), Item);
        assert_eq!(last.next_cursor, None);
    }
}
